package org.neuralsolr.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.eval.BeirCorpusReader;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.CorpusDocument;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code ./neural-bench [NAME]...}: benchmark programs that print ratios measured in one run, so
 * that the drift of shared machines cancels out. Each states its workload, warm-up and repetitions.
 * Data: SciFact from {@code ../shared/datasets/scifact}. Without names, every benchmark runs.
 *
 * <ul>
 *   <li>{@code ingest}: documents/s through Solr's update API (neural update processor, bge-small
 *       fp32) over the raw engine's rate on the same texts.
 *   <li>{@code query}: {@code {!dense}} latency over raw query encoding + {@code {!knn}} with the
 *       precomputed vector.
 *   <li>{@code int8}: raw throughput of bge-small int8 over fp32 on the same texts.
 *   <li>{@code sparse-bm25}, {@code sparse-proxy}: the learned sparse format and query on the
 *       vectors of the evaluation pipelines of the same names ({@link SparseBenchmarks}): bytes per
 *       posting, exact {@code SparseQuery} against {@code FeatureField} clauses, approximate modes
 *       against exact.
 *   <li>{@code sparse-scale}: the same at 10 K, 100 K and 1 M generated documents fitted to the
 *       {@code sparse-proxy} vectors ({@link SparseScaleBench}); {@code sparse-fit} measures that
 *       fit. Neither runs without being named.
 *   <li>{@code rerank}: {@code {!neural_rerank}} cross-encoder pairs/s through Solr over the raw
 *       engine on the same pairs, and re-rank latency for 100 documents per mode ({@link
 *       RerankBench}).
 *   <li>{@code colbert}: PLAID over exhaustive MaxSim, compressed over float32 MaxSim, MaxSim
 *       re-ranking over its first stage, and bytes per token vector, on bge-small token states
 *       ({@link ColbertBench}).
 *   <li>{@code plaid}: PLAID and exhaustive MaxSim p50/p99 for a top-10 query on an nbits 2 index
 *       (SciFact's full ColBERT index with {@code -Dneural.plaid.index}), their overlap, and
 *       exhaustive MaxSim's GFLOP/s over this core's FMA peak ({@link PlaidBench}).
 *   <li>{@code load}, {@code load-tight}: a real Solr under a bounded mixed workload of queries of
 *       every kind and ingest batches: per request type throughput, p50, p99, 503s and errors, the
 *       {@code {!dense}} p50 under ingest over idle, and acknowledged documents lost ({@link
 *       LoadBench}).
 *   <li>{@code long}: ingest of documents of 64 to 8,192 tokens on a decoder embedder (the {@code
 *       tiny-llama-embed} fixture), length-aware batching over arrival-order batching: padded-token
 *       efficiency and docs/s ({@link LongBench}).
 *   <li>{@code localize}: what the neural highlighter adds to a 10-hit request per {@code
 *       hl.neural.method} ({@code maxsim} on {@code {!colbert}}, {@code dense} and {@code
 *       cross-encoder} on {@code {!dense}}), highlighted over plain p50 in one run ({@link
 *       LocalizeBench}).
 *   <li>{@code ingest-curve}: ingest documents/s of the built-in dense model by document length ×
 *       batch size, written as cost curves ({@link IngestCurveBench}).
 * </ul>
 */
public final class NeuralBench {
  static final String CORE = "bench";
  private static final int BATCH = 32;

  private NeuralBench() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(System.getProperty("neural.root", ".")).toAbsolutePath().normalize();
    Path data = root.resolve(System.getProperty("neural.dataset", "../shared/datasets/scifact")).normalize();
    List<String> all = List.of("ingest", "query", "int8", "rerank", "colbert", "plaid", "sparse-bm25", "sparse-proxy", "sparse-scale", "sparse-fit", "load", "load-tight", "long", "localize", "ingest-curve");
    // sparse-scale builds indexes of up to a million documents and sparse-fit rewrites a resource: by name only
    List<String> names = args.length == 0 ? all.stream().filter(n -> n.startsWith("sparse-scale") == false && n.equals("sparse-fit") == false).toList() : List.of(args);
    Map<String, Object> results = new LinkedHashMap<>();
    for (String name : names) {
      if (!all.contains(name)) {
        System.err.println("unknown benchmark '" + name + "'; benchmarks are " + String.join(", ", all));
        System.exit(2);
      }
    }
    List<String> docs = names.contains("ingest") || names.contains("int8") ? documents(data, 384) : List.of();
    LocalSolr solr = null;
    try {
      if (names.contains("ingest") || names.contains("query")) {
        Path home = root.resolve(".eval/bench-home");
        deleteRecursively(home);
        solr = LocalSolr.start(home, root.resolve("conf"), 0);
        solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5"));
      }
      for (String name : names) {
        switch (name) {
          case "ingest":
            results.put(name, ingest(solr, docs));
            break;
          case "query":
            results.put(name, query(solr, data));
            break;
          case "int8":
            results.put(name, int8(docs));
            break;
          case "rerank":
            results.put(name, RerankBench.run(root, data));
            break;
          case "colbert":
            results.put(name, ColbertBench.run(data));
            break;
          case "plaid":
            results.put(name, PlaidBench.run(root, data));
            break;
          case "load":
          case "load-tight":
            results.put(name, LoadBench.run(root, data, name.equals("load-tight"), Integer.getInteger("neural.load.seconds", 60)));
            break;
          case "long":
            results.put(name, LongBench.run(root));
            break;
          case "localize":
            results.put(name, LocalizeBench.run(root, data));
            break;
          case "ingest-curve":
            results.put(name, IngestCurveBench.run(root, data));
            break;
          case "sparse-bm25":
          case "sparse-proxy":
            results.put(name, SparseBenchmarks.run(name, root, data));
            break;
          case "sparse-scale":
            results.put(name, SparseScaleBench.run(root));
            break;
          case "sparse-fit":
            results.put(name, SparseScaleBench.fit(root, data));
            break;
          default:
            throw new AssertionError(name);
        }
      }
    } finally {
      if (solr != null) {
        solr.close();
      }
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("tool", "neural-bench");
    report.put("machine", org.neuralsolr.eval.Machine.describe());
    report.put("timestamp", Instant.now().toString());
    report.put("benchmarks", results);
    Path out = root.resolve(".eval/bench/neural-bench-" + String.join("-", names) + ".json");
    Files.createDirectories(out.getParent());
    Files.writeString(out, Utils.toJSONString(report) + "\n");
    System.out.println("report: " + out);
    System.exit(0);
  }

  /**
   * Workload: the same {@code docs.size()} SciFact abstracts (title + " " + text) encoded by the
   * plugin through Solr's update API (2 client threads, 64 documents per request, commit included)
   * and by the raw engine (batches of 32). Warm-up: 32 documents each side. Repetitions: 2,
   * alternating sides; rates are summed over the repetitions.
   */
  private static Map<String, Object> ingest(LocalSolr solr, List<String> docs) throws Exception {
    header("ingest", "plugin ingest rate / raw engine rate, bge-small-en-v1.5 fp32",
        docs.size() + " SciFact abstracts (title + text, truncated to 512 tokens)", "32 documents each side", "2, alternating");
    try (RawEncoder raw = new RawEncoder("bge-small-en-v1.5", 512)) {
      raw.encode(docs.subList(0, 32), BATCH, false);
      index(solr, docs.subList(0, 32), "warm-");
      double pluginSeconds = 0;
      double rawSeconds = 0;
      double rawSortedSeconds = 0;
      for (int rep = 0; rep < 2; rep++) {
        long t0 = System.nanoTime();
        raw.encode(docs, BATCH, false);
        rawSeconds += (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        index(solr, docs, "r" + rep + "-");
        pluginSeconds += (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        raw.encode(docs, BATCH, true);
        rawSortedSeconds += (System.nanoTime() - t0) / 1e9;
      }
      int n = docs.size() * 2;
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("pluginDocsPerSecond", round(n / pluginSeconds));
      r.put("rawDocsPerSecond", round(n / rawSeconds));
      r.put("rawLengthSortedDocsPerSecond", round(n / rawSortedSeconds));
      r.put("ratioPluginOverRaw", round(rawSeconds / pluginSeconds));
      r.put("ratioPluginOverRawLengthSorted", round(rawSortedSeconds / pluginSeconds));
      print(r);
      return r;
    }
  }

  private static void index(LocalSolr solr, List<String> texts, String idPrefix) throws Exception {
    List<List<SolrInputDocument>> requests = new ArrayList<>();
    List<SolrInputDocument> batch = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      SolrInputDocument d = new SolrInputDocument();
      d.addField("id", idPrefix + i);
      d.addField("text", texts.get(i));
      batch.add(d);
      if (batch.size() == 64) {
        requests.add(batch);
        batch = new ArrayList<>();
      }
    }
    if (!batch.isEmpty()) {
      requests.add(batch);
    }
    List<Thread> threads = new ArrayList<>();
    List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int t = 0; t < 2; t++) {
      int first = t;
      Thread thread = new Thread(() -> {
        try {
          for (int i = first; i < requests.size(); i += 2) {
            UpdateRequest u = new UpdateRequest();
            u.add(requests.get(i));
            u.process(solr.client(), CORE);
          }
        } catch (Exception e) {
          failures.add(e);
        }
      });
      thread.start();
      threads.add(thread);
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    new UpdateRequest().commit(solr.client(), CORE);
  }

  /**
   * Workload: SciFact training claims, each used once: the plugin path is one {@code {!dense
   * topK=10}} request; the raw path is the raw engine encoding the text (with bge's query
   * instruction) plus one {@code {!knn topK=10}} request with that vector. Both over HTTP against
   * the same core, alternating which goes first. Warm-up: 20 claims. Repetitions: 200 claims.
   */
  private static Map<String, Object> query(LocalSolr solr, Path data) throws Exception {
    header("query", "{!dense} latency / (raw encode + {!knn}) latency, bge-small-en-v1.5 fp32",
        "SciFact training claims over an index of the ingest benchmark's documents", "20 claims", "200 claims, each once, sides alternating");
    List<String> claims = new ArrayList<>(BeirDataset.at(data).queries().values());
    String instruction = "Represent this sentence for searching relevant passages: ";
    try (RawEncoder raw = new RawEncoder("bge-small-en-v1.5", 512)) {
      long[] plugin = new long[200];
      long[] rawLatency = new long[200];
      for (int i = 0; i < 220; i++) {
        String text = claims.get(i);
        boolean measure = i >= 20;
        long p;
        long r;
        if (i % 2 == 0) {
          p = timeDense(solr, text);
          r = timeRaw(solr, raw, instruction + text);
        } else {
          r = timeRaw(solr, raw, instruction + text);
          p = timeDense(solr, text);
        }
        if (measure) {
          plugin[i - 20] = p;
          rawLatency[i - 20] = r;
        }
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("pluginP50Ms", round(median(plugin) / 1e6));
      out.put("rawP50Ms", round(median(rawLatency) / 1e6));
      out.put("ratioPluginOverRawP50", round(median(plugin) / median(rawLatency)));
      out.put("pluginMeanMs", round(Arrays.stream(plugin).average().orElse(0) / 1e6));
      out.put("rawMeanMs", round(Arrays.stream(rawLatency).average().orElse(0) / 1e6));
      print(out);
      return out;
    }
  }

  private static long timeDense(LocalSolr solr, String text) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", "{!dense f=vector model=bge-small topK=10}" + text);
    p.set("fl", "id,score");
    long t0 = System.nanoTime();
    new QueryRequest(p, SolrRequest.METHOD.POST).process(solr.client(), CORE);
    return System.nanoTime() - t0;
  }

  private static long timeRaw(LocalSolr solr, RawEncoder raw, String text) throws Exception {
    long t0 = System.nanoTime();
    float[] v = raw.encode(List.of(text), 1, false).get(0);
    StringBuilder vector = new StringBuilder("[");
    for (int i = 0; i < v.length; i++) {
      vector.append(i == 0 ? "" : ",").append(v[i]);
    }
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", "{!knn f=vector topK=10}" + vector.append(']'));
    p.set("fl", "id,score");
    new QueryRequest(p, SolrRequest.METHOD.POST).process(solr.client(), CORE);
    return System.nanoTime() - t0;
  }

  /**
   * Workload: the same abstracts encoded by the raw engine with bge-small fp32 and int8, batches of
   * 32 in corpus order. Warm-up: 32 documents each. Repetitions: 2, alternating.
   */
  private static Map<String, Object> int8(List<String> docs) throws Exception {
    header("int8", "raw int8 throughput / fp32 throughput, bge-small-en-v1.5",
        docs.size() + " SciFact abstracts", "32 documents each", "2, alternating");
    try (RawEncoder fp32 = new RawEncoder("bge-small-en-v1.5", 512);
        RawEncoder int8 = new RawEncoder("bge-small-en-v1.5-q", 512)) {
      fp32.encode(docs.subList(0, 32), BATCH, false);
      int8.encode(docs.subList(0, 32), BATCH, false);
      double f = 0;
      double q = 0;
      for (int rep = 0; rep < 2; rep++) {
        long t0 = System.nanoTime();
        fp32.encode(docs, BATCH, false);
        f += (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        int8.encode(docs, BATCH, false);
        q += (System.nanoTime() - t0) / 1e9;
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("fp32DocsPerSecond", round(2 * docs.size() / f));
      out.put("int8DocsPerSecond", round(2 * docs.size() / q));
      out.put("ratioInt8OverFp32", round(f / q));
      print(out);
      return out;
    }
  }

  static List<String> documents(Path data, int n) throws Exception {
    List<String> texts = new ArrayList<>();
    try (BeirCorpusReader reader = BeirDataset.at(data).openCorpus()) {
      CorpusDocument d;
      while (texts.size() < n && (d = reader.next()) != null) {
        texts.add(d.title() + " " + d.text());
      }
    }
    return texts;
  }

  static void header(String name, String measures, String workload, String warmup, String repetitions) {
    System.out.println();
    System.out.println("== " + name + ": " + measures);
    System.out.println("   workload: " + workload);
    System.out.println("   warm-up: " + warmup + "; repetitions: " + repetitions);
  }

  static void print(Map<String, Object> results) {
    results.forEach((k, v) -> System.out.println("   " + k + " = " + v));
  }

  static double median(long[] values) {
    long[] s = values.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  static void deleteRecursively(Path p) throws java.io.IOException {
    if (Files.exists(p)) {
      try (var walk = Files.walk(p)) {
        for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }

  static String format(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
