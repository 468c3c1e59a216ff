package org.neuralsolr.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.impl.BaseHttpSolrClient;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.neuralsolr.eval.BeirCorpusReader;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.CorpusDocument;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code ./neural-bench load} (and {@code load-tight}): a real Solr over loopback under a bounded
 * mixed workload, for what users feel when queries and ingest share the machine.
 *
 * <p>Workload: a core with the configset's defaults (bge-small-en-v1.5 fp32), preloaded with
 * {@value #PRELOAD} SciFact abstracts through the {@code neural-colbert} chain (dense and ColBERT
 * fields). Idle phase: one client sends {@value #IDLE_QUERIES} {@code {!dense}} queries alone.
 * Queries-only phase: the query clients below, without ingest, for half as long (what queries cost
 * each other). Load phase: {@value #THREADS} client threads for {@code seconds}: {@value #INGEST_THREADS} send
 * ingest batches of {@value #INGEST_BATCH} further abstracts, the others cycle through BM25,
 * {@code {!dense}}, {@code {!colbert}}, {@code {!fuse}} (BM25 + dense, RRF) and {@code
 * {!neural_rerank}} (dense cosine of stored vectors over BM25's top 50) with SciFact claims, each
 * text made unique by a number so that no query encoding comes from the encoders' caches. Then a
 * commit, and every acknowledged document is looked up. {@code load-tight} gives the model a queue
 * of {@value #TIGHT_QUEUE} texts that waits 20 ms for room, so overload shows as 503s.
 *
 * <p>Prints per request type: requests, throughput, p50, p99, 503s and other errors; then {@code
 * dense_p50_under_ingest_over_idle=X}, and last {@code errors=N lost=M}: requests that failed other
 * than by a 503, and acknowledged documents missing from the index (both must be 0).
 */
final class LoadBench {
  private static final int PRELOAD = 300;
  private static final int IDLE_QUERIES = 60;
  private static final int THREADS = 8;
  private static final int INGEST_THREADS = 2;
  private static final int INGEST_BATCH = 5;
  /** Texts the model's queue holds in {@code load-tight}: less than two ingest batches and the queries. */
  private static final int TIGHT_QUEUE = 8;
  private static final String CORE = "load";
  private static final List<String> QUERY_TYPES = List.of("bm25", "dense", "colbert", "fuse", "rerank");

  private LoadBench() {}

  /** One request type's outcomes. */
  private static final class Outcomes {
    final List<Long> nanos = new ArrayList<>();
    int overloaded;
    int errors;
    String firstError;

    synchronized void ok(long ns) {
      nanos.add(ns);
    }

    synchronized void failed(Exception e) {
      if (e instanceof BaseHttpSolrClient.RemoteSolrException && ((BaseHttpSolrClient.RemoteSolrException) e).code() == 503) {
        overloaded++;
      } else {
        errors++;
        if (firstError == null) {
          firstError = e.toString();
        }
      }
    }

    synchronized double percentileMs(double p) {
      if (nanos.isEmpty()) {
        return Double.NaN;
      }
      long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
      return s[Math.max(0, (int) Math.ceil(p * s.length) - 1)] / 1e6;
    }
  }

  static Map<String, Object> run(Path root, Path data, boolean tight, int seconds) throws Exception {
    NeuralBench.header(
        tight ? "load-tight" : "load",
        "per request type throughput and latency under mixed load; acknowledged documents found after a commit",
        THREADS + " client threads for " + seconds + " s (" + INGEST_THREADS + " sending " + INGEST_BATCH
            + "-document ingest batches, the others queries of " + QUERY_TYPES + ") over " + PRELOAD
            + " preloaded SciFact abstracts, bge-small-en-v1.5 fp32"
            + (tight ? ", model queue of " + TIGHT_QUEUE + " texts waiting 20 ms for room" : ""),
        "10 queries of each type",
        "idle {!dense}: " + IDLE_QUERIES + " queries; load: as many as fit");
    List<SolrInputDocument> corpus = corpus(data);
    List<String> claims = new ArrayList<>(BeirDataset.at(data).queries().values());
    Path home = root.resolve(".eval/load-home");
    NeuralBench.deleteRecursively(home);
    Map<String, String> props = new LinkedHashMap<>();
    props.put("neural.dense.package", "builtin:bge-small-en-v1.5");
    props.put("neural.colbert.trainingThreshold", "0");
    if (tight) {
      props.put("neural.scheduler.maxBatchSize", Integer.toString(TIGHT_QUEUE / 2));
      props.put("neural.scheduler.maxQueuedTexts", Integer.toString(TIGHT_QUEUE));
      props.put("neural.scheduler.queueTimeoutMillis", "20");
    }
    try (LocalSolr solr = LocalSolr.start(home, root.resolve("conf"), 0)) {
      solr.createCore(CORE, props);
      SolrClient client = solr.client();
      for (int from = 0; from < PRELOAD; from += INGEST_BATCH) {
        sendRetrying(client, corpus.subList(from, from + INGEST_BATCH));
      }
      client.commit(CORE);
      for (String type : QUERY_TYPES) {
        for (int i = 0; i < 10; i++) {
          query(client, type, claims.get(i));
        }
      }

      Outcomes idle = new Outcomes();
      for (int i = 0; i < IDLE_QUERIES; i++) {
        String claim = claims.get(100 + i) + " (idle " + i + ")";
        timed(idle, () -> query(client, "dense", claim));
      }

      Workload workload = new Workload(client, corpus, claims);
      // the same query clients without ingest: what the queries cost each other
      Map<String, Outcomes> queriesOnly = workload.run(Math.max(10, seconds / 2), false);
      Map<String, Object> modelBefore = modelStats(client);
      Map<String, Outcomes> outcomes = workload.run(seconds, true);
      Set<String> acknowledged = workload.acknowledged;
      Map<String, Object> modelAfter = modelStats(client);
      client.commit(CORE);
      int lost = lost(client, acknowledged);

      Map<String, Object> out = new LinkedHashMap<>();
      System.out.println(String.format(Locale.ROOT, "   %-8s %9s %8s %9s %9s %6s %7s", "type", "requests", "per s", "p50 ms", "p99 ms", "503s", "errors"));
      int errors = 0;
      for (Map.Entry<String, Outcomes> e : outcomes.entrySet()) {
        Outcomes o = e.getValue();
        errors += o.errors;
        System.out.println(String.format(Locale.ROOT, "   %-8s %9d %8.2f %9.1f %9.1f %6d %7d",
            e.getKey(), o.nanos.size(), o.nanos.size() / (double) seconds, o.percentileMs(0.5), o.percentileMs(0.99), o.overloaded, o.errors));
        if (o.firstError != null) {
          System.out.println("      first error: " + o.firstError);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", o.nanos.size());
        m.put("perSecond", round(o.nanos.size() / (double) seconds));
        m.put("p50Ms", round(o.percentileMs(0.5)));
        m.put("p99Ms", round(o.percentileMs(0.99)));
        m.put("overloaded503", o.overloaded);
        m.put("errors", o.errors);
        out.put(e.getKey(), m);
      }
      // what a query waits for: the forward pass already running when it arrives
      double batches = number(modelAfter, "batches") - number(modelBefore, "batches");
      double texts = number(modelAfter, "textsEncoded") - number(modelBefore, "textsEncoded");
      double forwardMs = number(modelAfter, "encodeTimeMs") - number(modelBefore, "encodeTimeMs");
      out.put("modelBatches", (long) batches);
      out.put("modelMeanBatchTexts", round(texts / batches));
      out.put("modelMeanForwardMs", round(forwardMs / batches));
      out.put("modelBusyShare", round(forwardMs / (seconds * 1000.0)));
      System.out.println("   model under load: " + (long) batches + " forward passes of " + NeuralBench.format(texts / batches)
          + " texts on average, " + NeuralBench.format(forwardMs / batches) + " ms each; busy " + NeuralBench.format(forwardMs / (seconds * 10.0)) + "% of the time");
      double ratio = outcomes.get("dense").percentileMs(0.5) / idle.percentileMs(0.5);
      double queriesOnlyRatio = queriesOnly.get("dense").percentileMs(0.5) / idle.percentileMs(0.5);
      out.put("denseP50QueriesOnlyOverIdle", round(queriesOnlyRatio));
      out.put("denseIdleP50Ms", round(idle.percentileMs(0.5)));
      out.put("denseP50UnderIngestOverIdle", round(ratio));
      out.put("acknowledgedDocuments", PRELOAD + acknowledged.size());
      out.put("indexedDocuments", count(client));
      out.put("errors", errors);
      out.put("lost", lost);
      System.out.println("   {!dense} p50 idle " + NeuralBench.format(idle.percentileMs(0.5)) + " ms; acknowledged "
          + (PRELOAD + acknowledged.size()) + " documents, index holds " + out.get("indexedDocuments"));
      System.out.println("   {!dense} p50 with the same query clients and no ingest: " + NeuralBench.format(queriesOnly.get("dense").percentileMs(0.5))
          + " ms, dense_p50_queries_only_over_idle=" + NeuralBench.format(queriesOnlyRatio));
      System.out.println("dense_p50_under_ingest_over_idle=" + NeuralBench.format(ratio));
      System.out.println("errors=" + errors + " lost=" + lost);
      return out;
    }
  }

  /** The client threads of one phase and what they share across phases. */
  private static final class Workload {
    final SolrClient client;
    final List<SolrInputDocument> corpus;
    final List<String> claims;
    final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    final AtomicInteger nextDoc = new AtomicInteger(PRELOAD);
    final AtomicInteger queryNumber = new AtomicInteger();

    Workload(SolrClient client, List<SolrInputDocument> corpus, List<String> claims) {
      this.client = client;
      this.corpus = corpus;
      this.claims = claims;
    }

    /** {@value #THREADS} clients for {@code seconds}; without {@code ingest} the ingest clients idle. */
    Map<String, Outcomes> run(int seconds, boolean ingest) throws Exception {
      Map<String, Outcomes> outcomes = new LinkedHashMap<>();
      outcomes.put("ingest", new Outcomes());
      QUERY_TYPES.forEach(t -> outcomes.put(t, new Outcomes()));
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        List<Future<?>> clients = new ArrayList<>();
        for (int t = ingest ? 0 : INGEST_THREADS; t < THREADS; t++) {
          int thread = t;
          clients.add(pool.submit(() -> {
            int i = 0;
            while (System.nanoTime() < end) {
              if (thread < INGEST_THREADS) {
                int from = nextDoc.getAndAdd(INGEST_BATCH);
                if (from + INGEST_BATCH > corpus.size()) {
                  break;
                }
                List<SolrInputDocument> batch = corpus.subList(from, from + INGEST_BATCH);
                if (timed(outcomes.get("ingest"), () -> send(client, batch))) {
                  batch.forEach(d -> acknowledged.add((String) d.getFieldValue("id")));
                }
              } else {
                String type = QUERY_TYPES.get((thread + i) % QUERY_TYPES.size());
                // a text never sent before: the encoders' query caches must not answer for the model
                String claim = claims.get((thread * 131 + i) % claims.size()) + " (" + queryNumber.incrementAndGet() + ")";
                timed(outcomes.get(type), () -> query(client, type, claim));
              }
              i++;
            }
            return null;
          }));
        }
        for (Future<?> f : clients) {
          f.get(seconds + 600L, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      return outcomes;
    }
  }

  @FunctionalInterface
  private interface Request {
    void send() throws Exception;
  }

  /** Sends and records; true if the request succeeded. */
  private static boolean timed(Outcomes outcomes, Request request) {
    long t0 = System.nanoTime();
    try {
      request.send();
      outcomes.ok(System.nanoTime() - t0);
      return true;
    } catch (Exception e) {
      outcomes.failed(e);
      return false;
    }
  }

  private static void send(SolrClient client, List<SolrInputDocument> docs) throws Exception {
    UpdateRequest update = new UpdateRequest();
    update.add(docs);
    update.setParam("update.chain", "neural-colbert");
    update.process(client, CORE);
  }

  /** As a bulk loader should: a 503 means the model's queue is full, so wait and send again. */
  private static void sendRetrying(SolrClient client, List<SolrInputDocument> docs) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        send(client, docs);
        return;
      } catch (BaseHttpSolrClient.RemoteSolrException e) {
        if (e.code() != 503 || attempt == 100) {
          throw e;
        }
        Thread.sleep(50L * Math.min(attempt, 10));
      }
    }
  }

  private static void query(SolrClient client, String type, String claim) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("fl", "id,score");
    p.set("rows", 10);
    switch (type) {
      case "bm25":
        p.set("q", "{!edismax qf=contents}" + claim);
        break;
      case "dense":
        p.set("q", "{!dense f=vector model=bge-small topK=10}" + claim);
        break;
      case "colbert":
        p.set("q", "{!colbert f=colbert model=bge-small topK=10}" + claim);
        break;
      case "fuse":
        p.set("q", "{!fuse method=rrf queries=lex,vec}");
        p.set("lex", "{!edismax qf=contents}" + claim);
        p.set("vec", "{!dense f=vector model=bge-small topK=100}" + claim);
        break;
      case "rerank":
        p.set("q", "{!edismax qf=contents}" + claim);
        p.set("rq", "{!neural_rerank model=bge-small mode=dense f=vector reRankDocs=50}");
        p.set("rq.text", claim);
        break;
      default:
        throw new AssertionError(type);
    }
    new QueryRequest(p, SolrRequest.METHOD.POST).process(client, CORE);
  }

  /** Acknowledged ingest documents the index does not hold. */
  private static int lost(SolrClient client, Set<String> acknowledged) throws Exception {
    List<String> ids = new ArrayList<>(acknowledged);
    int found = 0;
    for (int from = 0; from < ids.size(); from += 200) {
      List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 200));
      SolrQuery q = new SolrQuery("*:*").addFilterQuery("{!terms f=id}" + String.join(",", chunk)).setRows(chunk.size()).setFields("id");
      for (SolrDocument ignored : client.query(CORE, q, SolrRequest.METHOD.POST).getResults()) {
        found++;
      }
    }
    return ids.size() - found;
  }

  /** The bge-small model's counters, as the Plugins / Stats page shows them. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> modelStats(SolrClient client) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("stats", "true");
    p.set("cat", "OTHER");
    p.set("key", "neuralModels");
    NamedList<Object> rsp = client.request(new GenericSolrRequest(SolrRequest.METHOD.GET, "/admin/mbeans", p).setRequiresCollection(true), CORE);
    NamedList<Object> bean = (NamedList<Object>) ((NamedList<Object>) ((NamedList<Object>) rsp.get("solr-mbeans")).get("OTHER")).get("neuralModels");
    Object stats = bean.get("stats");
    return stats instanceof NamedList ? ((NamedList<Object>) stats).asShallowMap() : (Map<String, Object>) stats;
  }

  private static double number(Map<String, Object> stats, String name) {
    return ((Number) stats.get("OTHER.neuralModels.bge-small." + name)).doubleValue();
  }

  private static long count(SolrClient client) throws Exception {
    return client.query(CORE, new SolrQuery("*:*").setRows(0)).getResults().getNumFound();
  }

  private static List<SolrInputDocument> corpus(Path data) throws Exception {
    List<SolrInputDocument> docs = new ArrayList<>();
    try (BeirCorpusReader reader = BeirDataset.at(data).openCorpus()) {
      CorpusDocument d;
      while ((d = reader.next()) != null) {
        docs.add(new SolrInputDocument("id", d.id(), "title", d.title(), "text", d.text()));
      }
    }
    return docs;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
