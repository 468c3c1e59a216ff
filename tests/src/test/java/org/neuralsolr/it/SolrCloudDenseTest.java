package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * SolrCloud with two nodes: a 2-shard collection ingests through the neural update processor
 * (each document encoded once, on the node that received it, before distribution) and answers
 * {@code {!dense}} queries with {@code fq}, merged across shards in the same order as a 1-shard
 * collection holding the same documents.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudDenseTest extends SolrCloudTestCase {
  private static final int DOCS = 40;
  // fp32, not int8: int8's dynamic quantisation scales activations per batch, so a document's
  // vector depends on which documents shared its batch, and batch composition depends on timing.
  // fp32 vectors agree across batchings to ~1e-5, far below the score gaps of these queries.
  private static final Map<String, String> PROPS = Map.of("neural.dense.package", "builtin:bge-small-en-v1.5");

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true"); // the test cluster's solr.xml turns metrics off by default
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    for (String name : new String[] {"two", "one"}) {
      CollectionAdminRequest.Create create =
          CollectionAdminRequest.createCollection(name, "neural", "two".equals(name) ? 2 : 1, 1);
      PROPS.forEach(create::withProperty);
      create.process(cluster.getSolrClient());
      cluster.waitForActiveCollection(name, "two".equals(name) ? 2 : 1, "two".equals(name) ? 2 : 1);
    }
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    // Send all documents to one node over plain HTTP: it encodes them, then forwards half to the
    // other shard's leader, whose neural processor must not run again.
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      http.add("two", docs);
      http.commit("two");
      http.add("one", docs);
      http.commit("one");
    }
  }

  public void testBothShardsHoldDocuments() throws Exception {
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    long total = 0;
    for (Slice slice : two.getSlices()) {
      Replica leader = slice.getLeader();
      try (SolrClient c = new Http2SolrClient.Builder(leader.getBaseUrl()).build()) {
        long n = c.query(leader.getCoreName(), new SolrQuery("*:*").setRows(0).set("distrib", "false")).getResults().getNumFound();
        assertTrue(slice.getName() + " is empty", n > 0);
        total += n;
      }
    }
    assertEquals(DOCS, total);
  }

  public void testEachDocumentIsEncodedOnce() throws Exception {
    double encoded = 0;
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    for (Replica r : two.getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        encoded += MBeanStats.number(MBeanStats.of(c, r.getCoreName(), "UPDATE", "neural.updateProcessor"), "UPDATE.neural.updateProcessor.encodedFields");
      }
    }
    assertEquals(DOCS, encoded, 0);
  }

  public void testTwoShardsRankLikeOneShard() throws Exception {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    for (int i : new int[] {1, 9, 20, 33}) {
      String text = (String) docs.get(i).getFieldValue("title");
      for (String fq : new String[] {null, "parity_s:even"}) {
        // topK covers every document, so HNSW search is exhaustive on both layouts and the test
        // checks distribution and merging rather than the graph's recall on a 20-document shard.
        SolrQuery q = new SolrQuery("{!dense f=vector model=bge-small topK=" + DOCS + "}" + text).setFields("id", "score", "parity_s").setRows(8);
        if (fq != null) {
          q.addFilterQuery(fq);
        }
        QueryResponse twoRsp = cluster.getSolrClient().query("two", q);
        QueryResponse oneRsp = cluster.getSolrClient().query("one", q);
        List<String> two = ids(twoRsp);
        List<String> one = ids(oneRsp);
        assertEquals("query " + i + " fq " + fq + "\none: " + oneRsp.getResults() + "\ntwo: " + twoRsp.getResults(), one, two);
        assertEquals(8, two.size());
        for (int r = 0; r < two.size(); r++) {
          assertEquals(score(oneRsp, r), score(twoRsp, r), 1e-4);
        }
        if (fq != null) {
          for (SolrDocument d : cluster.getSolrClient().query("two", q).getResults()) {
            assertEquals("even", d.getFirstValue("parity_s"));
          }
        }
      }
    }
  }

  /**
   * The tolerant chain on 2 shards, sent to one node: bad documents refused by the neural processor
   * there, and documents refused by the schema on either shard (forwarded ones report back from the
   * other leader), are all listed; the good ones are indexed on both shards.
   */
  public void testTolerantChainOnTwoShards() throws Exception {
    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection("tolerant", "neural", 2, 1);
    PROPS.forEach(create::withProperty);
    create.withProperty("neural.requireText", "true");
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection("tolerant", 2, 2);
    TolerantBatch batch = new TolerantBatch("cloud-");
    DocCollection tolerant = cluster.getSolrClient().getClusterState().getCollection("tolerant");
    Set<String> shardsOfBadDocs = new HashSet<>();
    for (String id : batch.badIds()) {
      shardsOfBadDocs.add(tolerant.getRouter().getTargetSlice(id, null, null, null, tolerant).getName());
    }
    assertEquals("the bad documents fall on both shards", 2, shardsOfBadDocs.size());
    try (SolrClient http = new Http2SolrClient.Builder(cluster.getJettySolrRunner(0).getBaseUrl().toString()).build()) {
      batch.assertTolerated(http, "tolerant");
    }
  }

  public void testShardsUseTheCoordinatorsQueryVector() throws Exception {
    cluster.getSolrClient().query("two", new SolrQuery("{!dense f=vector model=bge-small topK=5}a query seen once: gene expression in stem cells"));
    double received = 0;
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    for (Replica r : two.getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        received += MBeanStats.number(MBeanStats.of(c, r.getCoreName(), "QUERYPARSER", "neural.dense"), "QUERYPARSER.neural.dense.vectorsFromCoordinator");
      }
    }
    assertTrue("shards encoded the query themselves", received >= 2);
  }

  /**
   * {@code hl.method=neural}: each shard highlights its hits; the merged sections equal 1 shard's,
   * with {@code dense} and with {@code maxsim} encoding each sentence ({@code
   * hl.neural.encode=sentences}, which needs no stored token vectors).
   */
  public void testNeuralHighlightingOnTwoShardsEqualsOneShard() throws Exception {
    assertTwoShardsHighlightAsOne();
    assertTwoShardsHighlightAsOne("hl.neural.method", "maxsim", "hl.neural.encode", "sentences", "hl.tag.pre", "[[", "hl.tag.post", "]]");
  }

  @SuppressWarnings("unchecked")
  private void assertTwoShardsHighlightAsOne(String... params) throws Exception {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    String text = (String) docs.get(9).getFieldValue("title");
    SolrQuery q = new SolrQuery("{!dense f=vector model=bge-small topK=" + DOCS + "}" + text).setFields("id", "score").setRows(6);
    q.set("hl", "true").set("hl.method", "neural").set("hl.fl", "text").set("hl.snippets", "2");
    for (int p = 0; p < params.length; p += 2) {
      q.set(params[p], params[p + 1]);
    }
    QueryResponse twoRsp = cluster.getSolrClient().query("two", q);
    QueryResponse oneRsp = cluster.getSolrClient().query("one", q);
    assertEquals(ids(oneRsp), ids(twoRsp));
    assertEquals(6, twoRsp.getHighlighting().size());
    assertEquals(oneRsp.getHighlighting(), twoRsp.getHighlighting());
    NamedList<Object> two = (NamedList<Object>) twoRsp.getResponse().get("neuralHighlighting");
    NamedList<Object> one = (NamedList<Object>) oneRsp.getResponse().get("neuralHighlighting");
    assertEquals(6, two.size());
    for (int i = 0; i < one.size(); i++) {
      assertEquals(one.getName(i), two.getName(i));
      List<NamedList<Object>> oneTop =
          (List<NamedList<Object>>) ((NamedList<Object>) ((NamedList<Object>) one.getVal(i)).get("text")).get("snippets");
      List<NamedList<Object>> twoTop =
          (List<NamedList<Object>>) ((NamedList<Object>) ((NamedList<Object>) two.getVal(i)).get("text")).get("snippets");
      assertEquals(oneTop.size(), twoTop.size());
      for (int s = 0; s < oneTop.size(); s++) {
        assertEquals(oneTop.get(s).get("start"), twoTop.get(s).get("start"));
        assertEquals((Float) oneTop.get(s).get("score"), (Float) twoTop.get(s).get("score"), 1e-4);
      }
    }
  }

  private static float score(QueryResponse rsp, int rank) {
    return (Float) rsp.getResults().get(rank).getFirstValue("score");
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    float previous = Float.MAX_VALUE;
    for (SolrDocument d : rsp.getResults()) {
      float score = (Float) d.getFirstValue("score");
      assertTrue("scores must be merged in descending order", score <= previous);
      previous = score;
      ids.add((String) d.getFirstValue("id"));
    }
    return ids;
  }
}
