package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * {@code {!neural_rerank}} over HTTP in SolrCloud: a 2-shard collection gives the same top 10, in
 * the same order with the same scores, as a 1-shard collection holding the same documents, for the
 * cross-encoder and dense modes, with {@code fq}, paging and the add operator; distributed {@code
 * debugQuery} explains every document; bad params are HTTP 400 from the coordinator.
 *
 * <p>Each shard re-ranks its own top {@code reRankDocs}, as with Solr's {@code {!rerank}}; the
 * shard-count independence holds when every shard's window holds all the candidates the single
 * shard's window holds, e.g. when reRankDocs covers the matches, which these queries do.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudRerankTest extends SolrCloudTestCase {
  private static final int DOCS = 40;

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true");
    System.setProperty("neural.model.roots", NeuralTestHomes.parityFixtures().toString());
    Path conf = createTempDir().resolve("conf");
    Files.createDirectories(conf);
    try (var files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    NeuralTestHomes.addModels(conf, Map.of("ce", "tiny-cross-encoder/neural-model.json"));
    configureCluster(2).addConfig("neural", conf).configure();
    for (String name : new String[] {"two", "one"}) {
      int shards = "two".equals(name) ? 2 : 1;
      CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(name, "neural", shards, 1);
      create.withProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
      create.process(cluster.getSolrClient());
      cluster.waitForActiveCollection(name, shards, shards);
    }
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    // one request per collection, through one node: the same ingest batches, so the same vectors
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String name : new String[] {"two", "one"}) {
        http.add(name, docs);
        http.commit(name);
      }
    }
  }

  @AfterClass
  public static void clearProperties() {
    System.clearProperty("neural.model.roots");
  }

  public void testTwoShardsRerankLikeOneShard() throws Exception {
    String[] texts = {"stem cells differentiate into neurons", "vitamin D deficiency and bone fractures", "gene expression in cancer"};
    String[][] requests = {
      // q, fq, rq
      {"cells OR cancer OR gene OR vitamin OR bone OR protein", null, "{!neural_rerank model=ce reRankDocs=100}"},
      {"cells OR cancer OR gene OR vitamin OR bone OR protein", "parity_s:even", "{!neural_rerank model=ce reRankDocs=100 passage=max passageWords=40}"},
      {"cells OR cancer OR gene OR vitamin OR bone OR protein", null, "{!neural_rerank model=bge-small f=vector reRankDocs=100}"},
      {"*:*", "parity_s:odd", "{!neural_rerank model=bge-small f=vector reRankDocs=100 reRankOperator=add reRankWeight=3}"},
      {"*:*", null, "{!neural_rerank model=ce reRankDocs=100 reRankOperator=multiply reRankWeight=2}"},
    };
    for (String text : texts) {
      for (String[] r : requests) {
        for (int start : new int[] {0, 5}) {
          SolrQuery q = new SolrQuery(r[0]).setFields("id", "score").setRows(10).setStart(start);
          q.set("df", "contents").set("rq", r[2]).set("rq.text", text);
          if (r[1] != null) {
            q.addFilterQuery(r[1]);
          }
          QueryResponse two = cluster.getSolrClient().query("two", q);
          QueryResponse one = cluster.getSolrClient().query("one", q);
          String what = text + " " + String.join(" ", r[0], String.valueOf(r[1]), r[2]) + " start " + start;
          assertEquals(what, one.getResults().getNumFound(), two.getResults().getNumFound());
          assertEquals(what + "\none: " + one.getResults() + "\ntwo: " + two.getResults(), ids(one), ids(two));
          for (int i = 0; i < two.getResults().size(); i++) {
            assertEquals(what, (Float) one.getResults().get(i).getFirstValue("score"), (Float) two.getResults().get(i).getFirstValue("score"), 1e-4f);
          }
          assertEquals(what, 10, two.getResults().size());
        }
      }
    }
  }

  /**
   * {@code hl.method=neural hl.neural.method=cross-encoder}: the fixture cross-encoder scores each
   * hit's sentences; 2 shards return 1 shard's snippets and scores.
   */
  @SuppressWarnings("unchecked")
  public void testCrossEncoderHighlightingOnTwoShardsEqualsOneShard() throws Exception {
    SolrQuery q = new SolrQuery("cells").setFields("id", "score").setRows(5);
    q.set("df", "contents").set("sort", "score desc,id asc");
    q.set("hl", "true").set("hl.method", "neural").set("hl.fl", "text").set("hl.snippets", "2");
    q.set("hl.neural.method", "cross-encoder").set("hl.neural.model", "ce").set("hl.neural.text", "stem cells in the bone marrow");
    q.set("hl.neural.details", "true");
    QueryResponse two = cluster.getSolrClient().query("two", q);
    QueryResponse one = cluster.getSolrClient().query("one", q);
    assertEquals(5, two.getHighlighting().size());
    assertEquals(one.getHighlighting(), two.getHighlighting());
    NamedList<Object> twoDetails = (NamedList<Object>) two.getResponse().get("neuralHighlighting");
    NamedList<Object> oneDetails = (NamedList<Object>) one.getResponse().get("neuralHighlighting");
    assertEquals(oneDetails.size(), twoDetails.size());
    java.util.Set<Float> scores = new java.util.HashSet<>();
    for (int d = 0; d < twoDetails.size(); d++) {
      assertEquals(oneDetails.getName(d), twoDetails.getName(d));
      List<NamedList<Object>> twoSentences = sentences(twoDetails.getVal(d));
      List<NamedList<Object>> oneSentences = sentences(oneDetails.getVal(d));
      assertEquals(oneSentences.size(), twoSentences.size());
      for (int i = 0; i < twoSentences.size(); i++) {
        // another batching (each shard scores its own hits' sentences) may move the last bits
        assertEquals((Float) oneSentences.get(i).get("score"), (Float) twoSentences.get(i).get("score"), 1e-5);
        scores.add((Float) twoSentences.get(i).get("score"));
      }
    }
    assertTrue("the cross-encoder scores sentences differently: " + scores, scores.size() > 5);
  }

  @SuppressWarnings("unchecked")
  private static List<NamedList<Object>> sentences(Object docDetails) {
    NamedList<Object> text = (NamedList<Object>) ((NamedList<Object>) docDetails).get("text");
    return (List<NamedList<Object>>) text.get("sentences");
  }

  @SuppressWarnings("unchecked")
  public void testDistributedDebugExplainsEveryDocument() throws Exception {
    SolrQuery q = new SolrQuery("cells OR cancer OR gene").setFields("id", "score").setRows(5);
    q.set("df", "contents").set("rq", "{!neural_rerank model=ce reRankDocs=100 reRankOperator=add}").set("rq.text", "stem cells");
    q.set("debugQuery", "true");
    QueryResponse rsp = cluster.getSolrClient().query("two", q);
    Map<String, Object> explain = (Map<String, Object>) (Map<?, ?>) rsp.getExplainMap();
    assertEquals(5, rsp.getResults().size());
    for (SolrDocument d : rsp.getResults()) {
      String e = String.valueOf(explain.get((String) d.getFirstValue("id")));
      assertTrue(e, e.contains("neural re-rank, reRankOperator=add"));
      assertTrue(e, e.contains("model score: cross-encoder 'ce'"));
      float explained = Float.parseFloat(e.trim().split(" ")[0]);
      assertEquals(e, (Float) d.getFirstValue("score"), explained, 1e-4f);
    }
  }

  public void testBadParamsAre400FromTheCoordinator() {
    for (String[] bad : new String[][] {
      {"{!neural_rerank model=nope}", "unknown model 'nope'"},
      {"{!neural_rerank model=ce reRankDocs=0}", "param 'reRankDocs' must be between 1 and 1000"},
      {"{!neural_rerank model=ce mode=dense}", "mode=dense needs a dense model"},
    }) {
      SolrQuery q = new SolrQuery("cells");
      q.set("df", "contents").set("rq", bad[0]).set("rq.text", "stem cells");
      SolrException e = expectThrows(SolrException.class, () -> cluster.getSolrClient().query("two", q));
      assertEquals(bad[0], 400, e.code());
      assertTrue(e.getMessage(), e.getMessage().contains(bad[1]));
    }
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      ids.add((String) d.getFirstValue("id"));
    }
    return ids;
  }
}
