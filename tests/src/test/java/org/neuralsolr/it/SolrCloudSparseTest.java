package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.SpladeFixture;

/**
 * Learned sparse retrieval in SolrCloud with two nodes: a 2-shard collection ingests through the
 * {@code sparse} update chain (the {@code tiny-splade} parity model; each document encoded once,
 * before distribution) and answers {@code {!sparse}} queries, with {@code fq} and paging, exactly
 * like a 1-shard collection holding the same documents: same documents, same scores. The
 * coordinator encodes the query once and hands the weights to the shards, and distributed {@code
 * debugQuery} explains each hit term by term.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudSparseTest extends SolrCloudTestCase {
  private static final int DOCS = 40;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true");
    Path parity = Path.of(System.getProperty("neural.parity.dir"));
    Map<String, String> props =
        Map.of(
            "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
            "neural.sparse.package", SpladeFixture.PACKAGE,
            "neural.model.roots", parity.toString());
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    for (String name : new String[] {"two", "one"}) {
      int shards = "two".equals(name) ? 2 : 1;
      CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(name, "neural", shards, 1);
      props.forEach(create::withProperty);
      create.process(cluster.getSolrClient());
      cluster.waitForActiveCollection(name, shards, shards);
    }
    docs = SampleDocs.first(DOCS);
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String name : new String[] {"two", "one"}) {
        UpdateRequest update = new UpdateRequest();
        update.add(docs);
        update.setParam("update.chain", "sparse");
        update.process(http, name);
        http.commit(name);
      }
    }
  }

  private static Map<String, Float> hits(QueryResponse rsp) {
    Map<String, Float> hits = new LinkedHashMap<>();
    float previous = Float.MAX_VALUE;
    for (SolrDocument d : rsp.getResults()) {
      float score = (Float) d.getFirstValue("score");
      assertTrue("scores must be merged in descending order", score <= previous);
      previous = score;
      hits.put((String) d.getFirstValue("id"), score);
    }
    return hits;
  }

  public void testTwoShardsRankAndScoreLikeOneShard() throws Exception {
    for (int i : new int[] {2, 11, 25}) {
      String text = (String) docs.get(i).getFieldValue("title");
      for (String fq : new String[] {null, "parity_s:odd"}) {
        for (int start : new int[] {0, 5}) {
          SolrQuery q = new SolrQuery("{!sparse f=sparse model=splade}" + text).setFields("id", "score", "parity_s").setStart(start).setRows(7);
          if (fq != null) {
            q.addFilterQuery(fq);
          }
          QueryResponse two = cluster.getSolrClient().query("two", q);
          QueryResponse one = cluster.getSolrClient().query("one", q);
          String what = "query " + i + " fq " + fq + " start " + start;
          assertEquals(what, one.getResults().getNumFound(), two.getResults().getNumFound());
          assertEquals(what, hits(one), hits(two));
          assertEquals(what, 7, two.getResults().size());
          if (fq != null) {
            for (SolrDocument d : two.getResults()) {
              assertEquals("odd", d.getFirstValue("parity_s"));
            }
          }
        }
      }
    }
  }

  /** The model's query vector, read from debug output and sent back as client weights, ranks the same. */
  public void testClientWeightsAcrossShards() throws Exception {
    String text = (String) docs.get(30).getFieldValue("title");
    SolrQuery model = new SolrQuery("{!sparse f=sparse model=splade}" + text).setFields("id", "score").setRows(10);
    model.set("debugQuery", "true");
    QueryResponse modelRsp = cluster.getSolrClient().query("one", model);
    @SuppressWarnings("unchecked")
    NamedList<Object> debug = (NamedList<Object>) modelRsp.getDebugMap().get("sparse");
    StringBuilder weights = new StringBuilder();
    for (String part : new String[] {"textTerms", "expansionTerms"}) {
      @SuppressWarnings("unchecked")
      NamedList<Object> terms = (NamedList<Object>) debug.get(part);
      terms.forEach((term, w) -> weights.append(weights.length() == 0 ? "" : ",")
          .append(term.replace("\\", "\\\\").replace(",", "\\,")).append(':').append(w));
    }
    SolrQuery q = new SolrQuery("{!sparse f=sparse weights=$qw}").setFields("id", "score").setRows(10);
    q.set("qw", weights.toString());
    Map<String, Float> two = hits(cluster.getSolrClient().query("two", q));
    assertEquals(hits(cluster.getSolrClient().query("one", q)), two);
    assertEquals(hits(modelRsp), two);
    assertFalse(two.isEmpty());
  }

  public void testEachDocumentIsEncodedOnceAndEachQueryOnce() throws Exception {
    double encoded = 0;
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    for (Replica r : two.getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        encoded += MBeanStats.number(MBeanStats.of(c, r.getCoreName(), "UPDATE", "neural.updateProcessor"), "UPDATE.neural.updateProcessor.encodedFields");
      }
    }
    assertEquals(DOCS, encoded, 0);

    cluster.getSolrClient().query("two", new SolrQuery("{!sparse f=sparse model=splade}a query seen once: regulatory T cells"));
    double received = 0;
    for (Replica r : two.getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        received += MBeanStats.number(MBeanStats.of(c, r.getCoreName(), "QUERYPARSER", "neural.sparse"), "QUERYPARSER.neural.sparse.weightsFromCoordinator");
      }
    }
    assertTrue("shards encoded the query themselves", received >= 2);
  }

  public void testDistributedDebugExplainsTerms() throws Exception {
    String text = (String) docs.get(7).getFieldValue("title");
    SolrQuery q = new SolrQuery("{!sparse f=sparse model=splade}" + text).setFields("id", "score").setRows(3);
    q.set("debugQuery", "true");
    QueryResponse rsp = cluster.getSolrClient().query("two", q);
    Map<String, Object> explain = rsp.getExplainMap();
    assertEquals(3, explain.size());
    for (SolrDocument d : rsp.getResults()) {
      String e = String.valueOf(explain.get((String) d.getFirstValue("id")));
      assertTrue(e, e.contains("sparse dot product over"));
      assertTrue(e, e.contains("q_w * d_w"));
    }
    @SuppressWarnings("unchecked")
    NamedList<Object> sparse = (NamedList<Object>) rsp.getDebugMap().get("sparse");
    assertEquals("splade", sparse.get("model"));
    assertNotNull(sparse.get("expansionTerms"));
  }
}
