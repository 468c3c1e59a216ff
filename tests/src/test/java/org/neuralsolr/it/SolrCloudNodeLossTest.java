package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.lang.invoke.MethodHandles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.CloudHttp2SolrClient;
import org.apache.solr.client.solrj.impl.CloudSolrClient;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.SolrCore;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.SpladeFixture;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node loss under ingest (issue 17, item 3): a 2-shard × 2-replica collection (NRT replicas) on
 * three nodes ingests through one neural chain that fills {@code vector} (dense), {@code colbert}
 * (token vectors, from the same forward pass) and {@code sparse} (the {@code tiny-splade} parity
 * model) while the node holding one replica of each shard is stopped and later restarted. A client
 * thread sends small batches with {@code min_rf=2} and retries a failed batch as a real client
 * would. Afterwards, on every replica, read from the core's own index reader and over HTTP with
 * {@code distrib=false}: every acknowledged document is there exactly once, both replicas of a
 * shard hold the same documents with the same {@code _version_}, and each document's stored dense
 * vector, sparse weights and ColBERT token vectors are bit-identical on the two replicas (each
 * document is encoded once, by the node that received it, and the vectors travel to the replica).
 * A document whose batch failed may be present (a shard accepted it before another refused the
 * batch) and is logged; a batch that failed was told so by an exception, and a batch acknowledged
 * while its shard had one live replica was told so by its achieved replication factor.
 *
 * <p>The seed decides whether the stopped node holds both shard leaders (leader fail-over, then
 * recovery as a follower) or both followers (recovery alone); whether its replicas catch up by peer
 * sync (update logs of 100 records) or by copying the leader's index (5 records, fewer than they
 * miss); and whether the client sends to the shard leaders or to any node (which encodes and
 * forwards to the leaders). The log line "node loss test: ..." names the scenario.
 *
 * <p>ColBERT codebooks are trained per core today, so two replicas that each trained one would
 * store different codes for the same vectors; {@code trainingThreshold} is set far above the token
 * vectors of this test so that every segment keeps its token vectors as float32 (nbits 0 storage,
 * checked), which replicas must agree on bit for bit.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudNodeLossTest extends SolrCloudTestCase {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  private static final String COLLECTION = "nodeloss";
  private static final String CHAIN = "neural-all";
  private static final int BATCHES = 30;
  private static final int BATCH_SIZE = 5;
  /** Batches acknowledged before the node is stopped (later ones are in flight while it stops). */
  private static final int STOP_AFTER = 6;
  /** The first batch the client sends only once the node is down and every shard has a leader. */
  private static final int DOWN_FROM = 10;
  /** Batches done before the node is started again. */
  private static final int RESTART_AFTER = 16;
  /** The first batch the client sends only once the restart has begun. */
  private static final int RESTARTING_FROM = 20;
  /** The first batch the client sends only once the node is live again (its replicas recover). */
  private static final int RECOVERING_FROM = 25;
  private static final int ATTEMPTS = 4;
  private static final int WAIT_SECONDS = 120;

  private static String chainXml() {
    StringBuilder xml = new StringBuilder("\n  <updateRequestProcessorChain name=\"" + CHAIN + "\">\n");
    xml.append("    <processor class=\"org.neuralsolr.update.NeuralUpdateProcessorFactory\">\n");
    for (String[] f : new String[][] {{"vector", "bge-small"}, {"colbert", "bge-small"}, {"sparse", "splade"}}) {
      xml.append("      <lst name=\"field\"><str name=\"name\">").append(f[0]).append("</str><str name=\"model\">")
          .append(f[1]).append("</str><str name=\"source\">title,text</str></lst>\n");
    }
    xml.append("    </processor>\n")
        .append("    <processor class=\"solr.LogUpdateProcessorFactory\"/>\n")
        .append("    <processor class=\"solr.DistributedUpdateProcessorFactory\"/>\n")
        .append("    <processor class=\"solr.RunUpdateProcessorFactory\"/>\n")
        .append("  </updateRequestProcessorChain>\n");
    return xml.toString();
  }

  private static JettySolrRunner victim;
  private static boolean leadersOnVictim;
  private static int keptRecords;
  private static boolean toLeaders;

  @BeforeClass
  public static void setupCluster() throws Exception {
    // the shipped configset has no chain that fills dense, ColBERT and sparse fields together
    Path conf = createTempDir().resolve("conf");
    Files.createDirectories(conf);
    try (var files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    Path solrconfig = conf.resolve("solrconfig.xml");
    // The seed picks the scenario: the stopped node holds both shard leaders or both followers;
    // Solr's default update log (100 records) lets the restarted replicas fetch the updates they
    // missed from the leader's log (peer sync), 5 records are fewer than they miss, so they copy
    // the leader's index files (replication); the client sends each batch to the shard leaders
    // (routed by id) or to any node, which encodes it and forwards each document to its leader.
    int scenario = random().nextInt(8);
    leadersOnVictim = (scenario & 1) != 0;
    keptRecords = (scenario & 2) != 0 ? 5 : 100;
    toLeaders = (scenario & 4) == 0;
    String xml = Files.readString(solrconfig, StandardCharsets.UTF_8);
    xml = xml.replace("</config>", chainXml() + "</config>")
        .replace("<updateLog>", "<updateLog>\n      <int name=\"numRecordsToKeep\">" + keptRecords + "</int>");
    assertTrue("the configset's update log changed", xml.contains("numRecordsToKeep") && xml.contains(CHAIN));
    Files.writeString(solrconfig, xml, StandardCharsets.UTF_8);
    // core properties of every replica, kept in core.properties across the restart
    Map<String, String> props =
        Map.of(
            "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
            "neural.sparse.package", SpladeFixture.PACKAGE,
            "neural.model.roots", NeuralTestHomes.parityFixtures().toString(),
            // ~150 documents hold ~40k token vectors: no segment is ever trained (see class javadoc)
            "neural.colbert.trainingThreshold", "1000000000");
    configureCluster(3).addConfig("neural", conf).configure();

    // Place the replicas: A and C hold one replica of one shard each, B (the victim) one of each.
    // The first replica added to a shard becomes its leader.
    List<JettySolrRunner> nodes = cluster.getJettySolrRunners();
    String a = nodes.get(0).getNodeName();
    victim = nodes.get(1);
    String b = victim.getNodeName();
    String c = nodes.get(2).getNodeName();
    log.info("node loss test: the stopped node {} holds both shard {}; update logs keep {} records; the client sends to {}",
        b, leadersOnVictim ? "leaders" : "followers", keptRecords, toLeaders ? "shard leaders" : "any node");
    CollectionAdminRequest.createCollection(COLLECTION, "neural", 2, 1).setCreateNodeSet("EMPTY").process(cluster.getSolrClient());
    String[][] order = leadersOnVictim
        ? new String[][] {{"shard1", b}, {"shard2", b}, {"shard1", a}, {"shard2", c}}
        : new String[][] {{"shard1", a}, {"shard2", c}, {"shard1", b}, {"shard2", b}};
    for (int i = 0; i < order.length; i++) {
      CollectionAdminRequest.AddReplica add = CollectionAdminRequest.addReplicaToShard(COLLECTION, order[i][0]).setNode(order[i][1]);
      props.forEach(add::withProperty);
      add.process(cluster.getSolrClient());
      if (i == 1) {
        waitForState("first replicas lead", COLLECTION, WAIT_SECONDS, TimeUnit.SECONDS, (live, coll) -> coll != null && coll.getSlices().stream().allMatch(s -> s.getLeader() != null && s.getLeader().isActive(live)));
      }
    }
    cluster.waitForActiveCollection(COLLECTION, 2, 4);
    DocCollection coll = cluster.getSolrClient().getClusterState().getCollection(COLLECTION);
    for (Slice slice : coll.getSlices()) {
      Set<String> nodesOfSlice = new TreeSet<>();
      slice.getReplicas().forEach(r -> nodesOfSlice.add(r.getNodeName()));
      assertEquals(slice.getName() + " is on " + nodesOfSlice, 2, nodesOfSlice.size());
      assertTrue(slice.getName() + " has no replica on the victim", nodesOfSlice.contains(b));
      assertEquals(slice.getName() + " leader", leadersOnVictim, b.equals(slice.getLeader().getNodeName()));
      assertEquals(Replica.Type.NRT, slice.getReplicas().iterator().next().getType());
    }
  }

  @AfterClass
  public static void clear() {
    victim = null;
  }

  /** What the client saw of one batch. */
  private static final class Batch {
    final int number;
    final List<SolrInputDocument> docs;
    final List<String> errors = new ArrayList<>();
    boolean acknowledged;
    int achievedRf = -1;

    Batch(int number, List<SolrInputDocument> docs) {
      this.number = number;
      this.docs = docs;
    }

    List<String> ids() {
      List<String> ids = new ArrayList<>();
      docs.forEach(d -> ids.add((String) d.getFieldValue("id")));
      return ids;
    }
  }

  public void testAcknowledgedDocumentsSurviveNodeLossOnEveryReplica() throws Exception {
    List<SolrInputDocument> all = SampleDocs.first(BATCHES * BATCH_SIZE);
    List<Batch> batches = new ArrayList<>();
    for (int i = 0; i < BATCHES; i++) {
      batches.add(new Batch(i, all.subList(i * BATCH_SIZE, (i + 1) * BATCH_SIZE)));
    }
    CountDownLatch down = new CountDownLatch(1);
    CountDownLatch restarting = new CountDownLatch(1);
    CountDownLatch back = new CountDownLatch(1);
    AtomicInteger done = new AtomicInteger();
    AtomicReference<Throwable> clientFailure = new AtomicReference<>();

    CloudHttp2SolrClient.Builder builder =
        new CloudHttp2SolrClient.Builder(List.of(cluster.getZkServer().getZkAddress()), Optional.empty())
            .withInternalClientBuilder(
                new Http2SolrClient.Builder()
                    .withConnectionTimeout(5, TimeUnit.SECONDS)
                    .withIdleTimeout(30, TimeUnit.SECONDS)
                    .withRequestTimeout(60, TimeUnit.SECONDS));
    if (!toLeaders) {
      builder.sendUpdatesToAnyReplica();
    }
    try (CloudSolrClient client = builder.build()) {
      client.connect(30, TimeUnit.SECONDS);
      Thread indexer = new Thread(() -> {
        try {
          for (Batch batch : batches) {
            CountDownLatch gate = batch.number == DOWN_FROM ? down
                : batch.number == RESTARTING_FROM ? restarting
                : batch.number == RECOVERING_FROM ? back : null;
            if (gate != null && !gate.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
              throw new AssertionError("the cluster did not reach the state batch " + batch.number + " waits for");
            }
            send(client, batch);
            done.incrementAndGet();
          }
        } catch (Throwable t) {
          clientFailure.set(t);
        }
      }, "nodeloss-indexer");
      indexer.start();

      long start = System.nanoTime();
      awaitBatches(done, STOP_AFTER, clientFailure);
      String victimNode = victim.getNodeName();
      cluster.stopJettySolrRunner(victim); // batches STOP_AFTER.. are in flight meanwhile
      cluster.waitForJettyToStop(victim);
      waitForState("every shard leads from a live node", COLLECTION, WAIT_SECONDS, TimeUnit.SECONDS,
          (live, coll) -> coll != null && !live.contains(victimNode) && coll.getSlices().stream()
              .allMatch(s -> s.getLeader() != null && s.getLeader().isActive(live) && !victimNode.equals(s.getLeader().getNodeName())));
      log.info("node loss test: {} stopped and every shard has a live leader after {} ms", victimNode, millisSince(start));
      down.countDown();
      awaitBatches(done, RESTART_AFTER, clientFailure);
      restarting.countDown();
      cluster.startJettySolrRunner(victim, true); // the same port: the same node comes back
      cluster.waitForNode(victim, WAIT_SECONDS);
      assertEquals(victimNode, victim.getNodeName());
      log.info("node loss test: {} live again after {} ms", victimNode, millisSince(start));
      back.countDown();
      indexer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
      assertFalse("the client hung", indexer.isAlive());
      log.info("node loss test: the client's last batch returned after {} ms", millisSince(start));
      if (clientFailure.get() != null) {
        throw new AssertionError("client thread failed", clientFailure.get());
      }
      waitForState("the restarted node's replicas recover", COLLECTION, WAIT_SECONDS, TimeUnit.SECONDS, activeClusterShape(2, 4));
      log.info("node loss test: stop, restart and recovery took {} ms", millisSince(start));
      client.commit(COLLECTION);

      DocCollection coll = client.getClusterState().getCollection(COLLECTION);
      Map<String, Set<String>> acknowledged = new TreeMap<>();
      Map<String, Set<String>> sent = new TreeMap<>();
      Set<String> fromFailedBatches = new TreeSet<>();
      for (Batch batch : batches) {
        if (!batch.acknowledged) {
          fromFailedBatches.addAll(batch.ids());
        }
        for (String id : batch.ids()) {
          String shard = coll.getRouter().getTargetSlice(id, null, null, null, coll).getName();
          sent.computeIfAbsent(shard, s -> new TreeSet<>()).add(id);
          if (batch.acknowledged) {
            acknowledged.computeIfAbsent(shard, s -> new TreeSet<>()).add(id);
          }
        }
        log.info("batch {}: {} rf={} errors={}", batch.number, batch.acknowledged ? "acknowledged" : "FAILED", batch.achievedRf, batch.errors);
        if (batch.number >= DOWN_FROM && batch.number < RESTART_AFTER && batch.acknowledged) {
          // sent while every shard had one live replica: the client must hear that
          assertEquals("achieved rf of batch " + batch.number + " sent while a replica of each shard was down", 1, batch.achievedRf);
        }
      }
      assertEquals(2, acknowledged.size());

      for (Slice slice : coll.getSlices()) {
        List<Map<String, Stored>> contents = new ArrayList<>();
        for (Replica replica : slice.getReplicas()) {
          Map<String, Stored> docs = readReplica(replica);
          String where = slice.getName() + " replica " + replica.getName() + " on " + replica.getNodeName();
          assertEquals(where + ": ids over HTTP with distrib=false", docs.keySet(), idsOverHttp(replica));
          Set<String> missing = new TreeSet<>(acknowledged.get(slice.getName()));
          missing.removeAll(docs.keySet());
          assertTrue(where + " lost acknowledged documents " + missing, missing.isEmpty());
          Set<String> unexpected = new TreeSet<>(docs.keySet());
          unexpected.removeAll(sent.get(slice.getName()));
          assertTrue(where + " holds documents never sent to this shard: " + unexpected, unexpected.isEmpty());
          Set<String> failedButPresent = new TreeSet<>(docs.keySet());
          failedButPresent.retainAll(fromFailedBatches);
          if (!failedButPresent.isEmpty()) {
            log.warn("{} holds documents whose batch failed: {}", where, failedButPresent);
          }
          for (Map.Entry<String, Stored> e : docs.entrySet()) {
            Stored s = e.getValue();
            assertTrue(where + " document " + e.getKey() + " lacks a neural field: " + s, s.dense != null && s.sparse != null && s.colbert != null);
          }
          if (replica.getNodeName().equals(victim.getNodeName())) {
            log.info("node loss test: {} caught up by {}", where, fetchedIndex(replica) ? "index replication" : "peer sync");
          }
          contents.add(docs);
        }
        assertEquals(slice.getName() + " replicas", 2, contents.size());
        Map<String, Stored> first = contents.get(0);
        Map<String, Stored> second = contents.get(1);
        assertEquals(slice.getName() + ": both replicas hold the same documents", first.keySet(), second.keySet());
        for (String id : first.keySet()) {
          Stored x = first.get(id);
          Stored y = second.get(id);
          String what = slice.getName() + " document " + id;
          assertEquals(what + " _version_", x.version, y.version);
          assertTrue(what + " dense vectors differ between replicas", Arrays.equals(x.dense, y.dense));
          assertEquals(what + " sparse weights differ between replicas", x.sparse, y.sparse);
          assertTrue(what + " ColBERT token vectors differ between replicas", Arrays.equals(x.colbert, y.colbert));
        }
      }
    }
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }

  private static void awaitBatches(AtomicInteger done, int n, AtomicReference<Throwable> clientFailure) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (done.get() < n) {
      if (clientFailure.get() != null) {
        throw new AssertionError("client thread failed", clientFailure.get());
      }
      assertTrue("the client did not finish " + n + " batches in time", System.nanoTime() < deadline);
      Thread.sleep(20);
    }
  }

  /**
   * Sends a batch through the neural chain; a failure is retried after a pause, up to {@link
   * #ATTEMPTS} times, since adds are idempotent by id. {@code min_rf} asks Solr to report how many
   * replicas of each shard took the batch.
   */
  private static void send(CloudSolrClient client, Batch batch) throws InterruptedException {
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      UpdateRequest update = new UpdateRequest();
      update.add(batch.docs);
      update.setParam("update.chain", CHAIN);
      update.setParam("min_rf", "2");
      try {
        NamedList<Object> rsp = client.request(update, COLLECTION);
        batch.achievedRf = client.getMinAchievedReplicationFactor(COLLECTION, rsp);
        batch.acknowledged = true;
        return;
      } catch (Exception e) {
        batch.errors.add("attempt " + attempt + ": " + e);
        Thread.sleep(1000L * attempt);
      }
    }
  }

  /** A document as one replica stores it. */
  private static final class Stored {
    long version;
    float[] dense;
    Map<String, Integer> sparse;
    byte[] colbert;

    @Override
    public String toString() {
      return "version " + version + ", dense " + (dense != null) + ", sparse " + (sparse != null) + ", colbert " + (colbert != null);
    }
  }

  /**
   * The live documents of a replica's core by id, read from its current searcher: fails on a
   * duplicate id, and checks that every segment stores the ColBERT vectors as float32.
   */
  private static Map<String, Stored> readReplica(Replica replica) throws Exception {
    JettySolrRunner jetty = cluster.getReplicaJetty(replica);
    try (SolrCore core = jetty.getCoreContainer().getCore(replica.getCoreName())) {
      return core.withSearcher(searcher -> {
        Map<String, Stored> byId = new HashMap<>();
        for (LeafReaderContext ctx : searcher.getTopReaderContext().leaves()) {
          LeafReader leaf = ctx.reader();
          Bits live = leaf.getLiveDocs();
          Stored[] docs = new Stored[leaf.maxDoc()];
          NumericDocValues versions = leaf.getNumericDocValues("_version_");
          for (int d = 0; d < leaf.maxDoc(); d++) {
            if (live != null && !live.get(d)) {
              continue;
            }
            String id = leaf.storedFields().document(d).get("id");
            Stored s = new Stored();
            assertTrue(versions.advanceExact(d));
            s.version = versions.longValue();
            Stored previous = byId.put(id, s);
            assertNull(replica.getCoreName() + " holds document " + id + " twice", previous);
            docs[d] = s;
          }
          FloatVectorValues dense = leaf.getFloatVectorValues("vector");
          if (dense != null) {
            for (int d = dense.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = dense.nextDoc()) {
              if (docs[d] != null) {
                docs[d].dense = dense.vectorValue().clone();
              }
            }
          }
          Terms terms = leaf.terms("sparse");
          if (terms != null) {
            TermsEnum te = terms.iterator();
            PostingsEnum postings = null;
            for (BytesRef term = te.next(); term != null; term = te.next()) {
              postings = te.postings(postings, PostingsEnum.FREQS);
              for (int d = postings.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = postings.nextDoc()) {
                if (docs[d] != null) {
                  if (docs[d].sparse == null) {
                    docs[d].sparse = new TreeMap<>();
                  }
                  docs[d].sparse.put(term.utf8ToString(), postings.freq());
                }
              }
            }
          }
          MultiVectorValues multi = MultiVectorValues.get(leaf, "colbert");
          if (multi != null) {
            assertEquals(replica.getCoreName() + " segment " + ctx.ord + " stores ColBERT vectors compressed", 0, multi.nbits());
          }
          BinaryDocValues colbert = leaf.getBinaryDocValues("colbert");
          if (colbert != null) {
            for (int d = colbert.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = colbert.nextDoc()) {
              if (docs[d] != null) {
                docs[d].colbert = BytesRef.deepCopyOf(colbert.binaryValue()).bytes;
              }
            }
          }
        }
        return byId;
      });
    }
  }

  /** Whether the replica's core ever copied its index from the leader (IndexFetcher records it). */
  private static boolean fetchedIndex(Replica replica) {
    try (SolrCore core = cluster.getReplicaJetty(replica).getCoreContainer().getCore(replica.getCoreName())) {
      return Files.exists(Path.of(core.getDataDir(), "replication.properties"));
    }
  }

  /** The ids a replica answers for {@code *:*} on its own ({@code distrib=false}). */
  private static Set<String> idsOverHttp(Replica replica) throws Exception {
    try (SolrClient http = new Http2SolrClient.Builder(replica.getBaseUrl()).build()) {
      SolrQuery q = new SolrQuery("*:*").setRows(BATCHES * BATCH_SIZE + 1).setFields("id");
      q.set("distrib", "false");
      List<String> ids = new ArrayList<>();
      for (SolrDocument d : http.query(replica.getCoreName(), q).getResults()) {
        ids.add((String) d.getFirstValue("id"));
      }
      Set<String> unique = new LinkedHashSet<>(ids);
      assertEquals(replica.getCoreName() + " answers an id twice: " + ids, ids.size(), unique.size());
      return new TreeSet<>(unique);
    }
  }
}
