package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
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
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * Long documents (update.chain=neural-passages) in SolrCloud: SciFact abstracts are cut into
 * passages of at most 48 bge-small tokens, each indexed as a child document; {@code {!dense ...
 * passages=maxp|firstp|mean}} ranks the parents. A 2-shard collection ranks like a 1-shard one,
 * with {@code fq} on a parent field and with paging; a parent's MaxP score is its best passage's
 * kNN score, FirstP its first passage's, and the mean lies between; updating a parent replaces its
 * passages and deleting it deletes them (no orphans).
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudPassagesTest extends SolrCloudTestCase {
  private static final int DOCS = 30;
  private static final String PARENTS = "*:* -passage_i:[* TO *]";
  private static final Map<String, String> PROPS =
      Map.of("neural.dense.package", "builtin:bge-small-en-v1.5", "neural.passages.maxTokens", "48");
  private static final String[] MODES = {"maxp", "firstp", "mean"};

  @BeforeClass
  public static void setupCluster() throws Exception {
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    for (String name : new String[] {"two", "one"}) {
      int shards = "two".equals(name) ? 2 : 1;
      CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(name, "neural", shards, 1);
      PROPS.forEach(create::withProperty);
      create.process(cluster.getSolrClient());
      cluster.waitForActiveCollection(name, shards, shards);
    }
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String name : new String[] {"two", "one"}) {
        UpdateRequest update = new UpdateRequest();
        update.add(SampleDocs.first(DOCS));
        update.setParam("update.chain", "neural-passages");
        update.process(http, name);
        http.commit(name);
      }
    }
  }

  private static long count(String collection, String q, String... fq) throws Exception {
    return cluster.getSolrClient().query(collection, new SolrQuery(q).addFilterQuery(fq).setRows(0)).getResults().getNumFound();
  }

  public void testPassagesAreChildDocumentsWithSpans() throws Exception {
    assertEquals(DOCS, count("two", PARENTS));
    long passages = count("two", "passage_i:[* TO *]");
    assertTrue("48-token passages of abstracts: more passages than documents, got " + passages, passages > 2L * DOCS);
    assertEquals(DOCS, count("two", "passage_i:0"));
    SolrInputDocument doc = SampleDocs.first(DOCS).get(3);
    String id = (String) doc.getFieldValue("id");
    String text = doc.getFieldValue("title") + " " + doc.getFieldValue("text");
    SolrQuery q = new SolrQuery("_root_:" + id).addFilterQuery("passage_i:[* TO *]").setFields("id", "passage_i", "passage_start_i", "passage_end_i").setSort("passage_i", SolrQuery.ORDER.asc).setRows(100);
    List<SolrDocument> children = cluster.getSolrClient().query("two", q).getResults();
    assertTrue(children.size() > 1);
    int previousEnd = 0;
    for (int n = 0; n < children.size(); n++) {
      SolrDocument c = children.get(n);
      assertEquals(id + "/p" + n, c.getFieldValue("id"));
      int start = (Integer) c.getFieldValue("passage_start_i");
      int end = (Integer) c.getFieldValue("passage_end_i");
      assertTrue("sentence passages follow each other: " + c, start >= previousEnd && end > start && end <= text.length());
      previousEnd = end;
    }
    assertTrue("the passages reach the end of the text", previousEnd >= text.length() - 1);
  }

  public void testTwoShardsRankLikeOneWithFilterAndPaging() throws Exception {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    for (int i : new int[] {2, 17}) {
      String text = (String) docs.get(i).getFieldValue("title");
      for (String mode : MODES) {
        for (String fq : new String[] {null, "parity_s:even"}) {
          SolrQuery q = query(text, mode).setFields("id", "score", "parity_s").setRows(8);
          if (fq != null) {
            q.addFilterQuery(fq);
          }
          QueryResponse one = cluster.getSolrClient().query("one", q);
          QueryResponse two = cluster.getSolrClient().query("two", q);
          String where = mode + " query " + i + " fq " + fq;
          assertEquals(where, ids(one), ids(two));
          assertEquals(where, 8, ids(two).size());
          for (int r = 0; r < 8; r++) {
            assertEquals(where, score(one, r), score(two, r), 1e-4);
            SolrDocument d = two.getResults().get(r);
            assertFalse("a passage is never a hit: " + d, ((String) d.getFieldValue("id")).contains("/p"));
            if (fq != null) {
              assertEquals("even", d.getFirstValue("parity_s"));
            }
          }
          QueryResponse page2 = cluster.getSolrClient().query("two", q.setStart(4).setRows(4));
          assertEquals(where + " page 2", ids(two).subList(4, 8), ids(page2));
        }
      }
      if (i == 2) {
        assertEquals("the document whose title is the query wins", docs.get(i).getFieldValue("id"),
            ids(cluster.getSolrClient().query("two", query(text, "maxp"))).get(0));
      }
    }
  }

  /** MaxP is the best passage's kNN score, FirstP the first passage's, and the mean is in between. */
  public void testScoresAreTheirPassagesScores() throws Exception {
    String text = "vitamin D deficiency and bone density";
    for (SolrInputDocument doc : SampleDocs.first(5)) {
      String id = (String) doc.getFieldValue("id");
      SolrQuery passages = new SolrQuery("{!dense f=passage_vector model=bge-small topK=1000}" + text)
          .addFilterQuery("_root_:" + id).setFields("id", "score", "passage_i").setRows(1000);
      List<SolrDocument> children = cluster.getSolrClient().query("one", passages).getResults();
      assertTrue(children.size() > 1);
      float best = 0;
      int bestPassage = -1;
      float first = Float.NaN;
      double sum = 0;
      for (SolrDocument c : children) {
        float s = (Float) c.getFieldValue("score");
        if (s > best) {
          best = s;
          bestPassage = (Integer) c.getFieldValue("passage_i");
        }
        sum += s;
        if ((Integer) c.getFieldValue("passage_i") == 0) {
          first = s;
        }
      }
      assertEquals("maxp " + id, best, parentScore(text, "maxp", id), 1e-5);
      assertEquals("firstp " + id, first, parentScore(text, "firstp", id), 1e-5);
      assertEquals("mean " + id, sum / children.size(), parentScore(text, "mean", id), 1e-5);
      // debugQuery names the winning passage: its position and character span
      assertTrue(explain(text, "maxp", id), explain(text, "maxp", id).contains("passage " + bestPassage + " ["));
      assertTrue(explain(text, "firstp", id), explain(text, "firstp", id).contains("passage 0 [0, "));
    }
  }

  private static float parentScore(String text, String mode, String id) throws Exception {
    SolrQuery q = query(text, mode).addFilterQuery("id:" + id).setFields("id", "score");
    List<SolrDocument> hits = cluster.getSolrClient().query("one", q).getResults();
    assertEquals(1, hits.size());
    return (Float) hits.get(0).getFieldValue("score");
  }

  private static String explain(String text, String mode, String id) throws Exception {
    SolrQuery q = query(text, mode).addFilterQuery("id:" + id).setFields("id", "score");
    q.set("debugQuery", "true");
    return String.valueOf(cluster.getSolrClient().query("two", q).getExplainMap().get(id));
  }

  public void testBadModeIs400NamingTheParam() {
    SolrException e = expectThrows(SolrException.class,
        () -> cluster.getSolrClient().query("one", new SolrQuery("{!dense f=passage_vector model=bge-small passages=best}bone")));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("param 'passages' must be one of maxp, firstp, mean"));
  }

  public void testUpdateReplacesAndDeleteRemovesPassages() throws Exception {
    SolrInputDocument doc = SampleDocs.first(1).get(0);
    String id = "long-1";
    doc.setField("id", id);
    UpdateRequest add = new UpdateRequest();
    add.add(doc);
    add.setParam("update.chain", "neural-passages");
    add.process(cluster.getSolrClient(), "two");
    cluster.getSolrClient().commit("two");
    long before = count("two", "_root_:" + id, "passage_i:[* TO *]");
    assertTrue(before > 1);

    UpdateRequest update = new UpdateRequest();
    update.add(new SolrInputDocument("id", id, "title", "A short title.", "text", "One sentence now."));
    update.setParam("update.chain", "neural-passages");
    update.process(cluster.getSolrClient(), "two");
    cluster.getSolrClient().commit("two");
    assertEquals("the new version's one passage replaced the old ones", 1, count("two", "_root_:" + id, "passage_i:[* TO *]"));
    assertEquals(1, count("two", "id:" + id));

    cluster.getSolrClient().deleteById("two", id);
    cluster.getSolrClient().commit("two");
    assertEquals("no orphan passages", 0, count("two", "_root_:" + id));
    assertEquals(DOCS, count("two", PARENTS));
  }

  private static SolrQuery query(String text, String mode) {
    return new SolrQuery("{!dense f=passage_vector model=bge-small passages=" + mode + "}" + text);
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      ids.add((String) d.getFieldValue("id"));
    }
    return ids;
  }

  private static float score(QueryResponse rsp, int r) {
    return (Float) rsp.getResults().get(r).getFieldValue("score");
  }
}
