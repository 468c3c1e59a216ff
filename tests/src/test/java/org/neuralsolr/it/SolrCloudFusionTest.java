package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.Comparator;
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
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * {@code {!fuse}} of BM25 and {@code {!dense}} over HTTP on a 2-node cluster: a 2-shard collection
 * returns the same fused hits with the same scores as a 1-shard collection holding the same
 * documents, for RRF and for linear min-max fusion, with and without {@code fq}, page by page;
 * fusing each shard's own results ({@code distrib=false} on each shard, then merged) gives other
 * hits or scores, which is what exactness over the collection prevents.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudFusionTest extends SolrCloudTestCase {
  private static final int DOCS = 40;
  private static final int DEPTH = 15;
  // fp32: its vectors do not depend on batching (see SolrCloudDenseTest)
  private static final Map<String, String> PROPS = Map.of("neural.dense.package", "builtin:bge-small-en-v1.5");
  private static final String[] FUSIONS = {
    "{!fuse method=rrf depth=" + DEPTH + " queries=lex,vec}",
    "{!fuse method=linear norm=minmax weights=0.4,0.6 depth=" + DEPTH + " queries=lex,vec}"
  };
  private static final int[] QUERY_DOCS = {1, 9, 20, 33};

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
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String name : new String[] {"two", "one"}) {
        http.add(name, docs);
        http.commit(name);
      }
    }
  }

  private static SolrQuery fusion(String fuse, String text) {
    // the dense sub-query's topK covers every document, so HNSW is exhaustive on both layouts and
    // the test checks fusion rather than the graph's recall on a 20-document shard
    SolrQuery q = new SolrQuery(fuse);
    q.set("lex", "{!edismax qf=contents}" + text);
    q.set("vec", "{!dense f=vector model=bge-small topK=" + DOCS + "}" + text);
    q.setFields("id", "score");
    return q;
  }

  private static String text(int doc) {
    return (String) SampleDocs.first(DOCS).get(doc).getFieldValue("title");
  }

  public void testTwoShardsFuseLikeOneShard() throws Exception {
    for (int i : QUERY_DOCS) {
      for (String fuse : FUSIONS) {
        for (String fq : new String[] {null, "parity_s:even"}) {
          SolrQuery q = fusion(fuse, text(i)).setRows(10);
          if (fq != null) {
            q.addFilterQuery(fq);
          }
          String what = "query " + i + " " + fuse + " fq " + fq;
          List<Hit> two = hits(cluster.getSolrClient().query("two", q));
          List<Hit> one = hits(cluster.getSolrClient().query("one", q));
          assertEquals(what, 10, one.size());
          assertSameHits(what, one, two);
          for (int start : new int[] {3, 8}) {
            q.setStart(start).setRows(4);
            assertSameHits(what + " start " + start, one.subList(start, Math.min(start + 4, 10)),
                hits(cluster.getSolrClient().query("two", q)).subList(0, Math.min(4, 10 - start)));
          }
          if (fq != null) {
            q.setStart(0).setRows(DOCS).setFields("id", "parity_s");
            for (SolrDocument d : cluster.getSolrClient().query("two", q).getResults()) {
              assertEquals("even", d.getFirstValue("parity_s"));
            }
          }
        }
      }
    }
  }

  /**
   * The check above could pass with fusion done shard by shard only if that gave the same hits;
   * it does not: each shard ranks and normalises among its own documents.
   */
  public void testPerShardFusionWouldDiffer() throws Exception {
    for (int i : QUERY_DOCS) {
      for (String fuse : FUSIONS) {
        SolrQuery q = fusion(fuse, text(i)).setRows(10);
        List<Hit> exact = hits(cluster.getSolrClient().query("two", q));
        List<Hit> perShard = new ArrayList<>();
        for (Slice slice : cluster.getSolrClient().getClusterState().getCollection("two").getSlices()) {
          Replica leader = slice.getLeader();
          try (SolrClient c = new Http2SolrClient.Builder(leader.getBaseUrl()).build()) {
            perShard.addAll(hits(c.query(leader.getCoreName(), fusion(fuse, text(i)).setRows(10).set("distrib", "false"))));
          }
        }
        perShard.sort(Comparator.comparing(Hit::score).reversed().thenComparing(Hit::id));
        List<Hit> merged = perShard.subList(0, 10);
        assertFalse("query " + i + " " + fuse + ": per-shard fusion agrees with the exact one: " + merged, sameHits(exact, merged));
      }
    }
  }

  public void testDebugExplainsHitsOnTwoShards() throws Exception {
    QueryResponse rsp = cluster.getSolrClient().query("two", fusion(FUSIONS[0], text(9)).setRows(5).set("debugQuery", "true"));
    Map<String, Object> explain = rsp.getExplainMap();
    assertEquals(5, explain.size());
    for (Object e : explain.values()) {
      assertTrue(e.toString(), e.toString().contains("fused by rrf (k=60"));
      assertTrue(e.toString(), e.toString().matches("(?s).*(lex|vec): rank \\d+, score .*"));
    }
  }

  record Hit(String id, float score) {}

  private static void assertSameHits(String what, List<Hit> expected, List<Hit> actual) {
    assertTrue(what + "\nexpected " + expected + "\nactual   " + actual, sameHits(expected, actual));
  }

  private static boolean sameHits(List<Hit> a, List<Hit> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i).id.equals(b.get(i).id) || Math.abs(a.get(i).score - b.get(i).score) > 1e-6) {
        return false;
      }
    }
    return true;
  }

  private static List<Hit> hits(QueryResponse rsp) {
    List<Hit> hits = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      hits.add(new Hit((String) d.getFirstValue("id"), (Float) d.getFirstValue("score")));
    }
    return hits;
  }
}
