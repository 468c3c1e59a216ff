package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * ColBERT late interaction in SolrCloud: a 2-shard collection ingests through the {@code
 * neural-colbert} chain over HTTP and answers {@code {!colbert}} (PLAID and exhaustive) and
 * {@code {!rerank reRankQuery=$cq}} with the same top 10 and scores as a 1-shard collection of the
 * same documents; the shards use the coordinator's query token vectors.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudColbertTest extends SolrCloudTestCase {
  private static final int DOCS = 24;
  // fp32 model and float32 token vectors (nbits=0): each shard trains its own centroids, so
  // compressed vectors, and with them the scores, would differ slightly between the layouts;
  // exact vectors make the comparison a test of distribution and merging alone.
  private static final Map<String, String> PROPS =
      Map.of("neural.dense.package", "builtin:bge-small-en-v1.5", "neural.colbert.nbits", "0");

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true");
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    for (String name : new String[] {"two", "one"}) {
      CollectionAdminRequest.Create create =
          CollectionAdminRequest.createCollection(name, "neural", "two".equals(name) ? 2 : 1, 1);
      PROPS.forEach(create::withProperty);
      create.process(cluster.getSolrClient());
      cluster.waitForActiveCollection(name, "two".equals(name) ? 2 : 1, "two".equals(name) ? 2 : 1);
    }
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String name : new String[] {"two", "one"}) {
        UpdateRequest add = new UpdateRequest();
        add.add(docs);
        add.setParam("update.chain", "neural-colbert");
        add.process(http, name);
        http.commit(name);
      }
    }
  }

  public void testTwoShardsRankLikeOneShard() throws Exception {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    for (int i : new int[] {2, 11, 19}) {
      String text = (String) docs.get(i).getFieldValue("title");
      for (String q :
          new String[] {
            "{!colbert f=colbert model=bge-small topK=10}" + text, "{!colbert f=colbert model=bge-small plaid=false}" + text
          }) {
        assertSameTop10(new SolrQuery(q), q);
      }
      SolrQuery rerank = new SolrQuery("*:*");
      rerank.set("rq", "{!rerank reRankQuery=$cq reRankDocs=" + DOCS + " reRankWeight=1}");
      rerank.set("cq", "{!colbert f=colbert model=bge-small plaid=false}" + text);
      assertSameTop10(rerank, "rerank " + text);
    }
  }

  private static void assertSameTop10(SolrQuery q, String what) throws Exception {
    q.setFields("id", "score").setRows(10);
    QueryResponse twoRsp = cluster.getSolrClient().query("two", q);
    QueryResponse oneRsp = cluster.getSolrClient().query("one", q);
    List<String> two = ids(twoRsp);
    assertEquals(what + "\none: " + oneRsp.getResults() + "\ntwo: " + twoRsp.getResults(), ids(oneRsp), two);
    assertEquals(10, two.size());
    for (int r = 0; r < two.size(); r++) {
      assertEquals(what, (Float) oneRsp.getResults().get(r).getFirstValue("score"), (Float) twoRsp.getResults().get(r).getFirstValue("score"), 1e-4);
    }
  }

  public void testShardsUseTheCoordinatorsQueryVectors() throws Exception {
    cluster.getSolrClient().query("two", new SolrQuery("{!colbert f=colbert model=bge-small topK=5}a query seen once: ribosomes in stem cells"));
    double received = 0;
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    for (Replica r : two.getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        received += MBeanStats.number(MBeanStats.of(c, r.getCoreName(), "QUERYPARSER", "neural.colbert"), "QUERYPARSER.neural.colbert.vectorsFromCoordinator");
      }
    }
    assertTrue("shards encoded the query themselves", received >= 2);
  }

  /**
   * {@code hl.neural.method=maxsim} on a {@code {!colbert}} query: the shards highlight with the
   * query token vectors the coordinator encoded (a node holding a shard but not coordinating runs no
   * forward pass), and the snippets equal a 1-shard collection's.
   */
  public void testMaxSimHighlightingOnShardsUsesTheCoordinatorsQueryVectors() throws Exception {
    JettySolrRunner coordinator = cluster.getJettySolrRunner(0);
    JettySolrRunner other = cluster.getJettySolrRunner(1);
    DocCollection two = cluster.getSolrClient().getClusterState().getCollection("two");
    assertTrue("a shard of 'two' is on the node that does not coordinate",
        two.getReplicas().stream().anyMatch(r -> r.getNodeName().equals(other.getNodeName())));
    SolrQuery q = new SolrQuery("{!colbert f=colbert model=bge-small topK=10}a query seen once: ribosome stalling in neurons");
    q.setFields("id", "score").setRows(10);
    q.set("hl", "true").set("hl.method", "neural").set("hl.fl", "text").set("hl.neural.method", "maxsim").set("hl.snippets", "2");
    long before = textsEncoded(coordinator) + textsEncoded(other);
    QueryResponse twoRsp;
    try (SolrClient c = new Http2SolrClient.Builder(coordinator.getBaseUrl().toString()).build()) {
      twoRsp = c.query("two", q);
    }
    assertEquals("the coordinator encodes the query once; no shard encodes it to highlight",
        1, textsEncoded(coordinator) + textsEncoded(other) - before);
    Map<String, Map<String, List<String>>> highlighting = twoRsp.getHighlighting();
    assertEquals(10, highlighting.size());
    assertTrue("hits of both shards are highlighted",
        ids(twoRsp).stream().anyMatch(id -> ownerNode(two, id).equals(other.getNodeName())));
    QueryResponse oneRsp = cluster.getSolrClient().query("one", q);
    assertEquals(ids(oneRsp), ids(twoRsp));
    assertEquals(oneRsp.getHighlighting(), highlighting);
  }

  /** The node of the replica holding document {@code id} in the 2-shard collection. */
  private static String ownerNode(DocCollection collection, String id) {
    Slice slice = collection.getRouter().getTargetSlice(id, null, null, null, collection);
    return slice.getLeader().getNodeName();
  }

  /** The texts the node's bge-small has encoded (the model is shared by the node's cores). */
  private static long textsEncoded(JettySolrRunner node) throws Exception {
    for (Replica r : cluster.getSolrClient().getClusterState().getCollection("two").getReplicas()) {
      if (r.getNodeName().equals(node.getNodeName())) {
        try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
          GenericSolrRequest models =
              new GenericSolrRequest(SolrRequest.METHOD.GET, "/neural/models", new ModifiableSolrParams().set("distrib", false))
                  .setRequiresCollection(true);
          NamedList<Object> rsp = c.request(models, r.getCoreName());
          return ((Number) rsp.findRecursive("models", "bge-small", "counters", "textsEncoded")).longValue();
        }
      }
    }
    throw new AssertionError("no replica of 'two' on " + node.getNodeName());
  }

  public void testBadParamsAre400OverHttp() throws Exception {
    SolrQuery q = new SolrQuery("{!colbert f=vector model=bge-small}cats");
    Exception e = expectThrows(Exception.class, () -> cluster.getSolrClient().query("two", q));
    assertTrue(e.getMessage(), e.getMessage().contains("not a MultiVectorField"));
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      ids.add((String) d.getFirstValue("id"));
    }
    return ids;
  }
}
