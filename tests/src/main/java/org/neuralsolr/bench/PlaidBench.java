package org.neuralsolr.bench;

import java.io.DataInputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.neuralsolr.codecs.multivector.MaxSimQuery;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.PlaidQuery;
import org.neuralsolr.eval.BeirDataset;

/**
 * {@code ./neural-bench plaid}: PLAID at its defaults against exhaustive MaxSim for a top-10 query,
 * Lucene in-process (no Solr, no HTTP), 1 thread, on the nbits 2 field {@code colbert}. The query
 * token vectors (bge-small-en-v1.5 token states of the first SciFact claims, as {@link
 * ColbertBench}) are encoded once and cached under {@code .eval/plaid/}, so no encoding is timed.
 *
 * <p>Index: {@code -Dneural.plaid.index=DIR}, a Lucene index directory (opened read-only, for
 * example the one {@code ./neural-eval} built for SciFact's ColBERT pipeline), or else one built in
 * memory from the first {@code -Dneural.plaid.docs=N} (default 1,000) SciFact abstracts. Queries:
 * {@code -Dneural.plaid.queries=N} (default 100).
 *
 * <p>It also measures this core's float FMA peak ({@link FmaPeak}) in the same run and reports
 * exhaustive MaxSim's achieved GFLOP/s (2·|q|·|d|·dim per document) as a fraction of it. Every
 * time is also taken in the searching thread's CPU time ({@code _cpu} keys; the peak too): on a
 * machine shared with other work, wall times include the time the thread waited for a core.
 */
final class PlaidBench {
  static final int WARMUP = 5;
  static final int K = 10;
  private static final String FIELD = "colbert";
  private static final String MODEL = "bge-small-en-v1.5";

  private PlaidBench() {}

  static Map<String, Object> run(Path root, Path data) throws Exception {
    int queryCount = Integer.getInteger("neural.plaid.queries", 100);
    String indexDir = System.getProperty("neural.plaid.index");
    int docCount = Integer.getInteger("neural.plaid.docs", 1000);
    NeuralBench.header(
        "plaid",
        "PLAID (defaults, top-" + K + ") and exhaustive MaxSim latency, their top-" + K
            + " overlap, exhaustive MaxSim GFLOP/s over this core's FMA peak",
        (indexDir != null ? "index " + indexDir : "the first " + docCount + " SciFact abstracts, built in memory")
            + ", field " + FIELD + " (nbits 2); the first " + queryCount
            + " SciFact claims, " + MODEL + " token states cached under .eval/plaid/; every query timed alone, Lucene in-process, 1 thread",
        WARMUP + " claims per path",
        "1 pass over the claims, paths interleaved per claim");
    List<float[][]> queries = queries(root, data, queryCount);
    Map<String, Object> r = new LinkedHashMap<>();
    Directory dir;
    if (indexDir != null) {
      dir = new MMapDirectory(Path.of(indexDir));
    } else {
      List<String> texts = NeuralBench.documents(data, docCount);
      List<float[][]> docs;
      try (RawEncoder raw = new RawEncoder(MODEL, 512)) {
        docs = raw.tokenStates(texts, 16);
      }
      dir = ColbertBench.index(texts, docs, 2);
    }
    try (dir;
        DirectoryReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      searcher.setQueryCache(null);
      long tokens = 0;
      int dim = 0;
      int nbits = -1;
      for (LeafReaderContext leaf : reader.leaves()) {
        MultiVectorValues v = MultiVectorValues.get(leaf.reader(), FIELD);
        if (v != null) {
          tokens += v.totalTokenCount();
          dim = v.dimension();
          nbits = v.nbits();
        }
      }
      if (tokens == 0) {
        throw new IllegalArgumentException("index has no multi-vector field \"" + FIELD + "\"");
      }
      r.put("documents", reader.numDocs());
      r.put("tokenVectors", tokens);
      r.put("nbits", nbits);
      long[] plaid = new long[queries.size()];
      long[] exhaustive = new long[queries.size()];
      // the same in this thread's CPU time: what the query cost while it ran, on a shared machine
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      long[] plaidCpu = new long[queries.size()];
      long[] exhaustiveCpu = new long[queries.size()];
      double overlap = 0;
      double flops = 0;
      for (int q = -WARMUP; q < queries.size(); q++) {
        float[][] qv = queries.get(Math.floorMod(q, queries.size()));
        long c0 = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        TopDocs p = searcher.search(new PlaidQuery(FIELD, qv, K), K);
        long t1 = System.nanoTime();
        long c1 = threads.getCurrentThreadCpuTime();
        TopDocs e = searcher.search(new MaxSimQuery(FIELD, qv), K);
        long t2 = System.nanoTime();
        long c2 = threads.getCurrentThreadCpuTime();
        if (q >= 0) {
          plaid[q] = t1 - t0;
          exhaustive[q] = t2 - t1;
          plaidCpu[q] = c1 - c0;
          exhaustiveCpu[q] = c2 - c1;
          overlap += ColbertBench.overlap(p, e);
          flops += 2.0 * qv.length * tokens * dim;
        }
      }
      long exhaustiveNanos = Arrays.stream(exhaustive).sum();
      double gflops = flops / exhaustiveNanos;
      r.put("plaid_p50_ms", ms(percentile(plaid, 50)));
      r.put("plaid_p99_ms", ms(percentile(plaid, 99)));
      r.put("exhaustive_p50_ms", ms(percentile(exhaustive, 50)));
      r.put("exhaustive_p99_ms", ms(percentile(exhaustive, 99)));
      r.put("plaid_cpu_p50_ms", ms(percentile(plaidCpu, 50)));
      r.put("exhaustive_cpu_p50_ms", ms(percentile(exhaustiveCpu, 50)));
      r.put("top10Overlap_plaidVsExhaustive", round(overlap / queries.size()));
      r.put("exhaustive_gflops", round(gflops));
      double gflopsCpu = flops / Arrays.stream(exhaustiveCpu).sum();
      r.put("exhaustive_gflops_cpu", round(gflopsCpu));
      if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
        // FmaPeak references jdk.incubator.vector: only load it where the module is there
        double peak = FmaPeak.gflops(5, 300);
        r.put("fmaPeak_gflops_1thread", round(peak));
        r.put("fmaPeak_floatLanes", FmaPeak.lanes());
        r.put("exhaustive_fractionOfFmaPeak", round(gflops / peak));
        double peakCpu = FmaPeak.gflops(5, 300, true);
        r.put("fmaPeak_gflops_1thread_cpu", round(peakCpu));
        r.put("exhaustive_fractionOfFmaPeak_cpu", round(gflopsCpu / peakCpu));
      } else {
        r.put("fmaPeak_gflops_1thread", "not measured: run with --add-modules jdk.incubator.vector");
      }
    }
    NeuralBench.print(r);
    System.out.println(
        "plaid_p50_ms=" + r.get("plaid_p50_ms") + " overlap=" + r.get("top10Overlap_plaidVsExhaustive")
            + " exhaustive_p50_ms=" + r.get("exhaustive_p50_ms"));
    return r;
  }

  /** The first {@code n} claims' token states, from the cache or encoded once and cached. */
  static List<float[][]> queries(Path root, Path data, int n) throws Exception {
    Path cache = root.resolve(".eval/plaid/queries-" + MODEL + "-" + data.getFileName() + "-" + n + ".bin");
    if (Files.exists(cache)) {
      List<float[][]> out = new ArrayList<>(n);
      try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(cache)))) {
        int count = in.readInt();
        for (int q = 0; q < count; q++) {
          float[][] rows = new float[in.readInt()][in.readInt()];
          for (float[] row : rows) {
            for (int j = 0; j < row.length; j++) {
              row[j] = in.readFloat();
            }
          }
          out.add(rows);
        }
      }
      return out;
    }
    List<String> claims = new ArrayList<>(BeirDataset.at(data).queries().values());
    List<float[][]> out;
    try (RawEncoder raw = new RawEncoder(MODEL, 512)) {
      out = raw.tokenStates(claims.subList(0, Math.min(n, claims.size())), 32);
    }
    Files.createDirectories(cache.getParent());
    Path tmp = cache.resolveSibling(cache.getFileName() + ".tmp");
    try (DataOutputStream o = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
      o.writeInt(out.size());
      for (float[][] rows : out) {
        o.writeInt(rows.length);
        o.writeInt(rows[0].length);
        for (float[] row : rows) {
          for (float x : row) {
            o.writeFloat(x);
          }
        }
      }
    }
    Files.move(tmp, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return out;
  }

  private static long percentile(long[] values, int p) {
    long[] s = values.clone();
    Arrays.sort(s);
    return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
  }

  private static double ms(long nanos) {
    return round(nanos / 1e6);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
