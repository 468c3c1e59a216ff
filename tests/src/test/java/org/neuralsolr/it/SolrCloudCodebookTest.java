package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
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
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.embedded.JettySolrRunner;
import org.apache.lucene.store.ByteArrayDataInput;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.lucene.util.StringHelper;
import org.apache.solr.common.cloud.SolrZkClient;
import org.junit.BeforeClass;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.neuralsolr.codecs.multivector.ResidualCodebook;
import org.neuralsolr.schema.CollectionCodebooks;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.SpladeFixture;

/**
 * One ColBERT codebook per collection field (issue 17): in a 2-shard x 2-replica collection (NRT
 * replicas) the {@code /neural/codebook?action=train} action trains one codebook on a sample of
 * every shard, stores it in ZooKeeper and has every replica install it and re-encode its segments;
 * then {@code {!colbert}} (PLAID and exhaustive), {@code {!dense}}, {@code {!sparse}}, {@code
 * {!rerank}} with a colbert query and {@code {!neural_rerank mode=multivector}} give the same top
 * 10 and scores on both replicas of each shard ({@code distrib=false}) and through the collection
 * whichever replicas {@code shards.preference} picks. A core reload keeps the codebook, and so do
 * later flushes.
 *
 * <p>{@code -Dtests.neural.codebooks=core} runs the same assertions with per-core codebooks (each
 * replica trains its own at the optimize): then the ColBERT comparisons fail, which is the issue.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudCodebookTest extends SolrCloudTestCase {
  private static final Logger log = LoggerFactory.getLogger(SolrCloudCodebookTest.class);
  private static final String C = "cb";
  private static final int DOCS = 40;
  private static final int SPARSE_DOCS = 20;
  private static final String SCOPE = System.getProperty("tests.neural.codebooks", "collection");
  private static String trainedId;

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true");
    Path parity = Path.of(System.getProperty("neural.parity.dir"));
    Map<String, String> props =
        Map.of(
            "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
            "neural.sparse.package", SpladeFixture.PACKAGE,
            "neural.model.roots", parity.toString(),
            "neural.colbert.nbits", "2",
            "neural.colbert.centroids", "32",
            "neural.colbert.codebooks", SCOPE);
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(C, "neural", 2, 2);
    props.forEach(create::withProperty);
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection(C, 2, 4);

    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    List<SolrInputDocument> sparseDocs = new ArrayList<>();
    for (SolrInputDocument d : SampleDocs.first(SPARSE_DOCS)) {
      SolrInputDocument s = d.deepCopy();
      s.setField("id", "s" + d.getFieldValue("id"));
      sparseDocs.add(s);
    }
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      // two requests and commits: each replica holds more than one segment to merge
      for (List<SolrInputDocument> part : List.of(docs.subList(0, DOCS / 2), docs.subList(DOCS / 2, DOCS))) {
        UpdateRequest add = new UpdateRequest();
        add.add(part);
        add.setParam("update.chain", "neural-colbert");
        add.process(http, C);
        http.commit(C);
      }
      UpdateRequest add = new UpdateRequest();
      add.add(sparseDocs);
      add.setParam("update.chain", "sparse");
      add.process(http, C);
      http.commit(C);
    }
    if ("collection".equals(SCOPE)) {
      NamedList<Object> train = codebookRequest(C, "train", "colbert", null);
      @SuppressWarnings("unchecked")
      NamedList<Object> result = (NamedList<Object>) train.get("train");
      log.info("collection codebook trained: {}", result);
      trainedId = (String) result.get("id");
      assertNotNull(train.toString(), trainedId);
      assertEquals(train.toString(), 32, ((Number) result.get("centroids")).intValue());
      @SuppressWarnings("unchecked")
      NamedList<Object> replicas = (NamedList<Object>) result.get("replicas");
      assertEquals(train.toString(), 4, replicas.size());
      for (Map.Entry<String, Object> e : replicas) {
        assertEquals(e.getKey(), trainedId, e.getValue());
      }
    } else {
      // per-core codebooks: each replica trains its own at the optimize
      cluster.getSolrClient().optimize(C);
    }
  }

  private static NamedList<Object> codebookRequest(String collectionOrCore, String action, String field, Map<String, String> extra)
      throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    if (action != null) {
      p.set("action", action);
    }
    if (field != null) {
      p.set("field", field);
    }
    if (extra != null) {
      extra.forEach(p::set);
    }
    GenericSolrRequest req =
        new GenericSolrRequest(action == null ? SolrRequest.METHOD.GET : SolrRequest.METHOD.POST, "/neural/codebook", p)
            .setRequiresCollection(true);
    return req.process(cluster.getSolrClient(), collectionOrCore).getResponse();
  }

  private static String[] queries(String text) {
    return new String[] {
      "{!colbert f=colbert model=bge-small topK=10}" + text,
      "{!colbert f=colbert model=bge-small plaid=false}" + text,
      "{!dense f=vector model=bge-small topK=10}" + text,
      "{!sparse f=sparse model=splade}" + text,
    };
  }

  private static List<SolrQuery> allQueries() {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    List<SolrQuery> out = new ArrayList<>();
    for (int i : new int[] {3, 17, 31}) {
      String text = (String) docs.get(i).getFieldValue("title");
      for (String q : queries(text)) {
        out.add(new SolrQuery(q));
      }
      SolrQuery rerank = new SolrQuery("*:*");
      rerank.set("rq", "{!rerank reRankQuery=$cq reRankDocs=" + (DOCS + SPARSE_DOCS) + " reRankWeight=1}");
      rerank.set("cq", "{!colbert f=colbert model=bge-small plaid=false}" + text);
      out.add(rerank);
      SolrQuery neural = new SolrQuery("cells OR cancer OR gene OR protein OR vitamin");
      neural.set("rq", "{!neural_rerank model=bge-small mode=multivector f=colbert reRankDocs=100}");
      neural.set("rq.text", text);
      out.add(neural);
    }
    for (SolrQuery q : out) {
      q.setFields("id", "score").setRows(10);
    }
    return out;
  }

  public void testReplicasOfEachShardAgree() throws Exception {
    DocCollection coll = cluster.getSolrClient().getClusterState().getCollection(C);
    List<String> failures = new ArrayList<>();
    for (Slice slice : coll.getSlices()) {
      List<Replica> replicas = new ArrayList<>(slice.getReplicas());
      assertEquals(2, replicas.size());
      for (SolrQuery q : allQueries()) {
        SolrQuery local = q.getCopy();
        local.set("distrib", false);
        Map<String, Float> a = hits(query(replicas.get(0), local));
        Map<String, Float> b = hits(query(replicas.get(1), local));
        assertFalse("no hits on " + replicas.get(0).getCoreName() + " for " + q, a.isEmpty());
        compare(slice.getName() + " " + q, a, b, failures);
      }
    }
    assertTrue(failures.size() + " disagreements:\n" + String.join("\n", failures), failures.isEmpty());
  }

  public void testCollectionAgreesWhicheverReplicasServe() throws Exception {
    List<String> failures = new ArrayList<>();
    Set<String> nodes = new HashSet<>();
    for (Replica r : cluster.getSolrClient().getClusterState().getCollection(C).getReplicas()) {
      nodes.add(r.getBaseUrl());
    }
    assertEquals("each node holds one replica of each shard", 2, nodes.size());
    List<String> urls = new ArrayList<>(nodes);
    for (SolrQuery q : allQueries()) {
      List<Map<String, Float>> results = new ArrayList<>();
      for (String url : urls) {
        SolrQuery routed = q.getCopy();
        routed.set("shards.preference", "replica.location:" + url + ",replica.type:NRT");
        results.add(hits(cluster.getSolrClient().query(C, routed)));
      }
      assertFalse(q.toString(), results.get(0).isEmpty());
      compare("collection " + q, results.get(0), results.get(1), failures);
    }
    assertTrue(failures.size() + " disagreements:\n" + String.join("\n", failures), failures.isEmpty());
  }

  public void testEveryReplicaUsesTheCollectionCodebookAcrossReloadAndFlushes() throws Exception {
    assumeTrue("collection codebooks only", "collection".equals(SCOPE));
    assertReplicasUseOnly(trainedId);
    CollectionAdminRequest.reloadCollection(C).process(cluster.getSolrClient());
    cluster.waitForActiveCollection(C, 2, 4);
    // new documents after the reload: flushed with the installed codebook, no training
    List<SolrInputDocument> more = new ArrayList<>();
    for (SolrInputDocument d : SampleDocs.first(DOCS + 4).subList(DOCS, DOCS + 4)) {
      more.add(d);
    }
    UpdateRequest add = new UpdateRequest();
    add.add(more);
    add.setParam("update.chain", "neural-colbert");
    add.process(cluster.getSolrClient(), C);
    cluster.getSolrClient().commit(C);
    assertReplicasUseOnly(trainedId);
    for (Replica r : cluster.getSolrClient().getClusterState().getCollection(C).getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        GenericSolrRequest status = new GenericSolrRequest(SolrRequest.METHOD.GET, "/neural/codebook", new ModifiableSolrParams()).setRequiresCollection(true);
        NamedList<?> rsp = status.process(c, r.getCoreName()).getResponse();
        assertEquals(rsp.toString(), trainedId, rsp.findRecursive("codebooks", "colbert", "installed"));
        Map<?, ?> stored = (Map<?, ?>) rsp.findRecursive("codebooks", "colbert", "stored");
        assertEquals(rsp.toString(), trainedId, stored.get("id"));
      }
    }
  }

  /** Every replica's colbert segments encode with {@code id} alone, none untrained. */
  private static void assertReplicasUseOnly(String id) throws Exception {
    for (Replica r : cluster.getSolrClient().getClusterState().getCollection(C).getReplicas()) {
      try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
        ModifiableSolrParams own = new ModifiableSolrParams();
        own.set("distrib", false); // this replica's segments, not the collection's sum
        GenericSolrRequest fields = new GenericSolrRequest(SolrRequest.METHOD.GET, "/neural/fields", own).setRequiresCollection(true);
        NamedList<?> rsp = fields.process(c, r.getCoreName()).getResponse();
        NamedList<?> codebook = (NamedList<?>) rsp.findRecursive("fields", "colbert", "codebook");
        assertEquals(r.getCoreName() + " " + codebook, 0L, ((Number) codebook.get("untrainedTokenVectors")).longValue());
        List<?> codebooks = (List<?>) codebook.get("codebooks");
        assertFalse(r.getCoreName() + " " + codebook, codebooks.isEmpty());
        for (Object o : codebooks) {
          assertEquals(r.getCoreName() + " " + codebook, id, ((NamedList<?>) o).get("id"));
        }
      }
    }
  }

  /**
   * A full-size codebook (K=16,384 centroids of 384 dimensions, bfloat16: 12.6 MB, some 12 times
   * ZooKeeper's default node limit) goes into ZooKeeper in chunks and comes back intact; the log
   * says how long each way took.
   */
  public void testStoresAFullSizeCodebookInChunks() throws Exception {
    int k = 16384;
    int dim = 384;
    ByteBuffersDataOutput out = new ByteBuffersDataOutput();
    byte[] id = StringHelper.randomId();
    out.writeBytes(id, id.length);
    out.writeVInt(dim);
    out.writeByte((byte) 2);
    out.writeVInt(k);
    Random random = new Random(42);
    for (int i = 0; i < k * dim; i++) {
      out.writeShort((short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16));
    }
    for (float f : new float[] {-0.1f, 0f, 0.1f, -0.15f, -0.05f, 0.05f, 0.15f}) {
      out.writeInt(Float.floatToIntBits(f));
    }
    ResidualCodebook big = ResidualCodebook.readFrom(new ByteArrayDataInput(out.toArrayCopy()));
    SolrZkClient zk = cluster.getZkClient();
    long t0 = System.nanoTime();
    Map<String, Object> current = CollectionCodebooks.store(zk, "zk-size-check", "colbert", big, Map.of());
    long t1 = System.nanoTime();
    ResidualCodebook back = CollectionCodebooks.read(zk, "zk-size-check", "colbert");
    long t2 = System.nanoTime();
    log.info(
        "full-size codebook in ZooKeeper: {} bytes in {} chunks, stored in {} ms, read in {} ms",
        current.get("bytes"), current.get("chunks"), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
    assertEquals(2L * k * dim + 16 + 3 + 3 + 7 * 4, ((Number) current.get("bytes")).longValue());
    assertTrue(current.toString(), ((Number) current.get("chunks")).intValue() > 20);
    assertArrayEquals(big.id(), back.id());
    assertEquals(k, back.numCentroids());
    float[] a = new float[dim];
    float[] b = new float[dim];
    for (int c : new int[] {0, 777, k - 1}) {
      big.centroid(c, a);
      back.centroid(c, b);
      assertArrayEquals(a, b, 0f);
    }
    zk.clean("/collections/zk-size-check");
  }

  public void testBadRequestsAre400() throws Exception {
    assertBad(() -> codebookRequest(C, "train", null, null), "param 'field' is required");
    assertBad(() -> codebookRequest(C, "train", "nope", null), "no field 'nope'");
    assertBad(() -> codebookRequest(C, "train", "vector", null), "'vector' is not a MultiVectorField");
    assertBad(() -> codebookRequest(C, "retrain", "colbert", null), "param 'action' must be one of");
    assertBad(() -> codebookRequest(C, "train", "colbert", Map.of("seed", "x")), "param 'seed'");
    assertBad(() -> codebookRequest(C, "sample", "colbert", Map.of("size", "0")), "param 'size'");
    assertBad(() -> codebookRequest(C, "train", "colbert", Map.of("optimize", "perhaps")), "param 'optimize' must be true or false");
  }

  private interface Call {
    Object run() throws Exception;
  }

  private static void assertBad(Call call, String message) {
    Exception e = expectThrows(Exception.class, call::run);
    assertTrue(e.toString(), e instanceof SolrException);
    assertEquals(e.toString(), 400, ((SolrException) e).code());
    assertTrue(e.getMessage(), e.getMessage().contains(message));
  }

  private static QueryResponse query(Replica r, SolrQuery q) throws Exception {
    try (SolrClient c = new Http2SolrClient.Builder(r.getBaseUrl()).build()) {
      return c.query(r.getCoreName(), q);
    }
  }

  private static Map<String, Float> hits(QueryResponse rsp) {
    Map<String, Float> hits = new LinkedHashMap<>();
    for (SolrDocument d : rsp.getResults()) {
      hits.put((String) d.getFirstValue("id"), (Float) d.getFirstValue("score"));
    }
    return hits;
  }

  /** Same ids in the same order and scores within 1e-5, else a line in {@code failures}. */
  private static void compare(String what, Map<String, Float> a, Map<String, Float> b, List<String> failures) {
    if (!new ArrayList<>(a.keySet()).equals(new ArrayList<>(b.keySet()))) {
      failures.add(what + ": ids differ\n  " + a + "\n  " + b);
      return;
    }
    for (Map.Entry<String, Float> e : a.entrySet()) {
      float other = b.get(e.getKey());
      if (Math.abs(e.getValue() - other) > 1e-5) {
        failures.add(what + ": score of " + e.getKey() + " differs: " + e.getValue() + " vs " + other + " (" + (e.getValue() - other) + ")");
        return;
      }
    }
  }
}
