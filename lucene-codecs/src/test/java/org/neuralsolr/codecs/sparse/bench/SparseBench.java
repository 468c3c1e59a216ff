package org.neuralsolr.codecs.sparse.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.lucene.codecs.PostingsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.FeatureField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LogByteSizeMergePolicy;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;
import org.neuralsolr.codecs.sparse.SparseApproximation;
import org.neuralsolr.codecs.sparse.SparsePostingsFormat;
import org.neuralsolr.codecs.sparse.SparseQuery;
import org.neuralsolr.codecs.sparse.SparseVectorField;

/**
 * Benchmark of learned sparse retrieval, printing ratios measured in one run:
 *
 * <ol>
 *   <li>index bytes per posting: {@code NeuralSparse} ({@link SparseVectorField}) against the same
 *       quantised weights indexed as {@link FeatureField}s with Lucene's default postings format;
 *   <li>exact {@link SparseQuery} time per query against a {@link BooleanQuery} of {@link
 *       FeatureField#newLinearQuery} clauses (Lucene's own dynamic pruning over impacts), and
 *       whether both rank the same;
 *   <li>approximate mode: speed-up over exact and recall@k of the exact top k, for the defaults
 *       and a sweep of the knobs, and the best speed-up at a recall of at least 0.98.
 * </ol>
 *
 * <p>Time is the searching thread's CPU time (wall time where the JVM cannot tell), averaged over
 * the rounds after a warm-up round, with the compared methods interleaved per query. {@link #run}
 * is what {@code ./neural-bench sparse-bm25} and {@code sparse-proxy} call with SciFact's vectors.
 *
 * <p>System property {@code sparse.bench.only}: run only the approximate settings whose label
 * starts with it (e.g. {@code -Dsparse.bench.only=candidateTerms=32,candidatePostings=}).
 *
 * <p>Usage: {@code SparseBench [--docs docs.jsonl --queries queries.jsonl] [--numDocs N]
 * [--numQueries N] [--k 10] [--rounds 3] [--seed 42] [--dir /tmp/x]}. Files hold one JSON object
 * a line, {@code {"id": "d1", "weights": {"term": 0.53, ...}}} (see {@link SparseVectorsFile}).
 * Without files the program generates synthetic data (Zipf-distributed terms over a 30,522-term
 * vocabulary, log-normal weights) and says so.
 */
public final class SparseBench {

  private static final String SPARSE_FIELD = "vec";
  private static final String FEATURE_FIELD = "features";

  private SparseBench() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].startsWith("--") == false) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      opts.put(args[i].substring(2), args[i + 1]);
    }
    int k = Integer.parseInt(opts.getOrDefault("k", "10"));
    int rounds = Integer.parseInt(opts.getOrDefault("rounds", "3"));
    long seed = Long.parseLong(opts.getOrDefault("seed", "42"));

    List<Map<String, Float>> docs;
    List<Map<String, Float>> queries;
    if (opts.containsKey("docs") && opts.containsKey("queries")) {
      docs = weightsOf(SparseVectorsFile.read(Paths.get(opts.get("docs"))));
      queries = weightsOf(SparseVectorsFile.read(Paths.get(opts.get("queries"))));
      System.out.printf(
          Locale.ROOT,
          "data: %s (%d docs), %s (%d queries)%n",
          opts.get("docs"),
          docs.size(),
          opts.get("queries"),
          queries.size());
    } else {
      int numDocs = Integer.parseInt(opts.getOrDefault("numDocs", "50000"));
      int numQueries = Integer.parseInt(opts.getOrDefault("numQueries", "200"));
      Random random = new Random(seed);
      ZipfVocabulary vocabulary = new ZipfVocabulary(30522, 1.0, random);
      docs = new ArrayList<>();
      for (int i = 0; i < numDocs; i++) {
        docs.add(vocabulary.vector(random, 120));
      }
      queries = new ArrayList<>();
      for (int i = 0; i < numQueries; i++) {
        queries.add(vocabulary.vector(random, 25));
      }
      System.out.printf(
          Locale.ROOT,
          "data: SYNTHETIC (no --docs/--queries given): %d docs (~120 terms), %d queries (~25 terms),"
              + " Zipf(s=1) over 30522 terms, log-normal weights, seed %d%n",
          numDocs,
          numQueries,
          seed);
    }

    Path base =
        opts.containsKey("dir")
            ? Files.createDirectories(Paths.get(opts.get("dir")))
            : Files.createTempDirectory("sparse-bench");
    try {
      run(docs, queries, k, rounds, base, System.out);
    } finally {
      if (opts.containsKey("dir") == false) {
        IOUtils.rm(base);
      }
    }
  }

  /**
   * Runs the benchmark on given vectors (what {@code ./neural-bench sparse-bm25} and {@code
   * sparse-proxy} call), printing to {@code out}; returns the figures by name.
   *
   * @param dir an empty directory for the two indexes
   */
  public static Map<String, Object> run(
      List<Map<String, Float>> docs, List<Map<String, Float>> queries, int k, int rounds, Path dir, PrintStream out)
      throws IOException {
    Map<String, Object> results = new LinkedHashMap<>();
    Path sparsePath = dir.resolve("neural-sparse");
    Path featurePath = dir.resolve("feature-field");
    long postings = 0;
    try (Directory sparseDir = FSDirectory.open(sparsePath);
        Directory featureDir = FSDirectory.open(featurePath)) {
      long t0 = System.nanoTime();
      postings = indexSparse(sparseDir, docs);
      long t1 = System.nanoTime();
      indexFeatures(featureDir, docs);
      long t2 = System.nanoTime();
      out.printf(
          Locale.ROOT,
          "indexing: %d postings; time NeuralSparse / FeatureField = %.2f%n",
          postings,
          (t1 - t0) / (double) (t2 - t1));

      long sparseBytes = bytes(sparseDir, name -> name.contains(SparsePostingsFormat.NAME));
      long sparseDocBytes = bytes(sparseDir, name -> name.endsWith(".nsd"));
      long sparseForwardBytes = bytes(sparseDir, name -> name.endsWith(".nsf"));
      long featureBytes =
          bytes(
              featureDir,
              name -> Stream.of(".doc", ".tim", ".tip", ".tmd", ".psm").anyMatch(name::endsWith));
      long featureDocBytes = bytes(featureDir, name -> name.endsWith(".doc"));
      out.printf(
          Locale.ROOT,
          "index bytes per posting: NeuralSparse %.3f (postings file .nsd %.3f, forward index .nsf"
              + " %.3f, without the forward index %.3f), FeatureField on Lucene912 %.3f (postings file"
              + " .doc %.3f); ratio NeuralSparse/FeatureField %.3f (postings files %.3f)%n",
          sparseBytes / (double) postings,
          sparseDocBytes / (double) postings,
          sparseForwardBytes / (double) postings,
          (sparseBytes - sparseForwardBytes) / (double) postings,
          featureBytes / (double) postings,
          featureDocBytes / (double) postings,
          sparseBytes / (double) featureBytes,
          sparseDocBytes / (double) featureDocBytes);
      results.put("documents", docs.size());
      results.put("queries", queries.size());
      results.put("postings", postings);
      results.put("bytesPerPostingNeuralSparse", round(sparseBytes / (double) postings));
      results.put("bytesPerPostingForwardIndex", round(sparseForwardBytes / (double) postings));
      results.put("bytesPerPostingNeuralSparseWithoutForwardIndex", round((sparseBytes - sparseForwardBytes) / (double) postings));
      results.put("bytesPerPostingFeatureField", round(featureBytes / (double) postings));
      results.put("ratioBytesNeuralSparseOverFeatureField", round(sparseBytes / (double) featureBytes));

      try (DirectoryReader sparseReader = DirectoryReader.open(sparseDir);
          DirectoryReader featureReader = DirectoryReader.open(featureDir)) {
        IndexSearcher sparseSearcher = new IndexSearcher(sparseReader);
        IndexSearcher featureSearcher = new IndexSearcher(featureReader);
        sparseSearcher.setQueryCache(null);
        featureSearcher.setQueryCache(null);
        IndexSearcher.setMaxClauseCount(Math.max(IndexSearcher.getMaxClauseCount(), 100_000));
        runQueries(sparseSearcher, featureSearcher, queries, k, rounds, out, results);
      }
    }
    return results;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static List<Map<String, Float>> weightsOf(List<SparseVectorsFile.Entry> entries) {
    List<Map<String, Float>> result = new ArrayList<>();
    for (SparseVectorsFile.Entry e : entries) {
      result.add(e.weights);
    }
    return result;
  }

  private static IndexWriterConfig config() {
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setUseCompoundFile(false);
    iwc.setRAMBufferSizeMB(256);
    // keeps doc ids in input order
    iwc.setMergePolicy(new LogByteSizeMergePolicy());
    return iwc;
  }

  private static long indexSparse(Directory dir, List<Map<String, Float>> docs) throws IOException {
    IndexWriterConfig iwc = config();
    PostingsFormat format = PostingsFormat.forName(SparsePostingsFormat.NAME);
    iwc.setCodec(
        new Lucene912Codec() {
          @Override
          public PostingsFormat getPostingsFormatForField(String field) {
            return format;
          }
        });
    long postings = 0;
    try (IndexWriter w = new IndexWriter(dir, iwc)) {
      for (Map<String, Float> v : docs) {
        Document doc = new Document();
        if (v.isEmpty() == false) {
          SparseVectorField field = new SparseVectorField(SPARSE_FIELD, v);
          postings += field.size();
          doc.add(field);
        }
        w.addDocument(doc);
      }
      w.forceMerge(1);
    }
    return postings;
  }

  private static void indexFeatures(Directory dir, List<Map<String, Float>> docs)
      throws IOException {
    try (IndexWriter w = new IndexWriter(dir, config())) {
      for (Map<String, Float> v : docs) {
        Document doc = new Document();
        for (Map.Entry<String, Float> e : v.entrySet()) {
          if (e.getValue() > 0f && SparseVectorField.quantize(e.getValue()) > 0f) {
            // the quantised value has 8 mantissa bits: FeatureField's truncation keeps it exactly
            doc.add(
                new FeatureField(
                    FEATURE_FIELD, e.getKey(), SparseVectorField.quantize(e.getValue())));
          }
        }
        w.addDocument(doc);
      }
      w.forceMerge(1);
    }
  }

  private interface NameFilter {
    boolean accept(String name);
  }

  private static long bytes(Directory dir, NameFilter filter) throws IOException {
    long total = 0;
    for (String name : dir.listAll()) {
      if (filter.accept(name)) {
        total += dir.fileLength(name);
      }
    }
    return total;
  }

  private static Query featureQuery(Map<String, Float> q) {
    BooleanQuery.Builder b = new BooleanQuery.Builder();
    for (Map.Entry<String, Float> e : q.entrySet()) {
      if (e.getValue() > 0f) {
        b.add(FeatureField.newLinearQuery(FEATURE_FIELD, e.getKey(), e.getValue()), Occur.SHOULD);
      }
    }
    return b.build();
  }

  /**
   * Mean time per query of each method, methods interleaved per query and their order rotated. The
   * clock is the searching thread's CPU time where the JVM offers it: on a shared machine wall time
   * mostly measures the neighbours (the printed header says which clock was used).
   */
  private static double[] time(
      List<Query[]> queries, IndexSearcher[] searchers, int k, int rounds) throws IOException {
    int methods = searchers.length;
    double[] nanos = new double[methods];
    for (int round = -1; round < rounds; round++) { // round -1 warms up
      for (int qi = 0; qi < queries.size(); qi++) {
        for (int j = 0; j < methods; j++) {
          int m = (j + qi + Math.max(round, 0)) % methods; // rotate the order
          long t0 = now();
          searchers[m].search(queries.get(qi)[m], k);
          long t1 = now();
          if (round >= 0) {
            nanos[m] += t1 - t0;
          }
        }
      }
    }
    for (int m = 0; m < methods; m++) {
      nanos[m] /= (double) rounds * queries.size();
    }
    return nanos;
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  static final boolean CPU_CLOCK = THREADS.isCurrentThreadCpuTimeSupported();

  private static long now() {
    return CPU_CLOCK ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
  }

  /** The approximate settings the benchmark compares with exact mode. */
  static Map<String, SparseApproximation> approximations() {
    Map<String, SparseApproximation> settings = new LinkedHashMap<>();
    settings.put("DEFAULT " + SparseApproximation.DEFAULT, SparseApproximation.DEFAULT);
    SparseApproximation exact = SparseApproximation.EXACT;
    for (float h : new float[] {0.95f, 0.9f, 0.8f}) {
      settings.put("heapFactor=" + h, exact.withHeapFactor(h));
    }
    for (float f : new float[] {0.05f, 0.1f, 0.2f}) {
      settings.put("postingWeightFraction=" + f, exact.withPostingWeightFraction(f));
    }
    for (int n : new int[] {32, 16, 8}) {
      settings.put("maxQueryTerms=" + n, exact.withMaxQueryTerms(n));
    }
    for (float f : new float[] {0.05f, 0.1f, 0.2f}) {
      settings.put("queryWeightFraction=" + f, exact.withQueryWeightFraction(f));
    }
    for (int terms : new int[] {4, 8, 16}) {
      for (int candidates : new int[] {100, 200}) {
        settings.put(
            "candidateTerms=" + terms + ",candidates=" + candidates,
            exact.withCandidateTerms(terms).withCandidates(candidates));
      }
    }
    for (int terms : new int[] {8, 16, 32}) {
      for (int postings : new int[] {128, 256, 512, 1024}) {
        for (int candidates : new int[] {50, 100, 150}) {
          settings.put(
              "candidateTerms=" + terms + ",candidatePostings=" + postings + ",candidates=" + candidates,
              exact.withCandidateTerms(terms).withCandidatePostings(postings).withCandidates(candidates));
        }
      }
    }
    return settings;
  }

  private static void runQueries(
      IndexSearcher sparse,
      IndexSearcher feature,
      List<Map<String, Float>> queries,
      int k,
      int rounds,
      PrintStream out,
      Map<String, Object> results)
      throws IOException {
    out.printf(
        Locale.ROOT,
        "clock: %s; %d rounds over %d queries after one warm-up round, methods interleaved%n",
        CPU_CLOCK ? "CPU time of the searching thread" : "wall time (no thread CPU clock)",
        rounds,
        queries.size());
    // 1. exact against FeatureField: ranks, then latency
    int identical = 0;
    long overlap = 0;
    long expected = 0;
    double maxRelDiff = 0;
    List<Query[]> pairs = new ArrayList<>();
    List<ScoreDoc[]> exactTops = new ArrayList<>();
    for (Map<String, Float> q : queries) {
      Query sq = new SparseQuery(SPARSE_FIELD, q);
      Query fq = featureQuery(q);
      pairs.add(new Query[] {sq, fq});
      ScoreDoc[] a = sparse.search(sq, k).scoreDocs;
      ScoreDoc[] b = feature.search(fq, k).scoreDocs;
      exactTops.add(a);
      boolean same = a.length == b.length;
      Set<Integer> docsA = new HashSet<>();
      for (ScoreDoc sd : a) {
        docsA.add(sd.doc);
      }
      for (int i = 0; i < b.length; i++) {
        if (docsA.contains(b[i].doc)) {
          overlap++;
        }
        if (i < a.length) {
          same &= a[i].doc == b[i].doc;
          maxRelDiff =
              Math.max(maxRelDiff, Math.abs(a[i].score - b[i].score) / Math.max(1e-30, a[i].score));
        }
      }
      expected += a.length;
      if (same) {
        identical++;
      }
    }
    double[] t = time(pairs, new IndexSearcher[] {sparse, feature}, k, rounds);
    out.printf(
        Locale.ROOT,
        "exact SparseQuery vs BooleanQuery of FeatureField.newLinearQuery: time ratio"
            + " (sparse/feature) %.3f (mean %.3f ms vs %.3f ms per query)%n",
        t[0] / t[1],
        t[0] / 1e6,
        t[1] / 1e6);
    out.printf(
        Locale.ROOT,
        "  rank agreement: identical top-%d lists for %d/%d queries, overlap %.4f, max relative"
            + " score difference at equal rank %.2e (float summation order differs)%n",
        k,
        identical,
        queries.size(),
        expected == 0 ? 1.0 : overlap / (double) expected,
        maxRelDiff);
    results.put("clock", CPU_CLOCK ? "thread CPU time" : "wall time");
    results.put("exactMsPerQuery", round(t[0] / 1e6));
    results.put("featureFieldMsPerQuery", round(t[1] / 1e6));
    results.put("ratioExactOverFeatureField", round(t[0] / t[1]));
    results.put("identicalTopK", identical + "/" + queries.size());

    // 2. approximate vs exact
    out.printf(Locale.ROOT, "approximate vs exact (recall@%d of the exact top %d):%n", k, k);
    Map<String, Object> sweep = new LinkedHashMap<>();
    String best = null;
    double bestSpeedUp = 0;
    String only = System.getProperty("sparse.bench.only"); // a prefix of settings, to profile one
    for (Map.Entry<String, SparseApproximation> e : approximations().entrySet()) {
      if (only != null && e.getKey().startsWith(only) == false) {
        continue;
      }
      List<Query[]> qs = new ArrayList<>();
      long found = 0;
      long total = 0;
      for (int qi = 0; qi < queries.size(); qi++) {
        Query approx = new SparseQuery(SPARSE_FIELD, queries.get(qi), e.getValue());
        qs.add(new Query[] {pairs.get(qi)[0], approx});
        Set<Integer> exactDocs = new HashSet<>();
        for (ScoreDoc sd : exactTops.get(qi)) {
          exactDocs.add(sd.doc);
        }
        for (ScoreDoc sd : sparse.search(approx, k).scoreDocs) {
          if (exactDocs.contains(sd.doc)) {
            found++;
          }
        }
        total += exactDocs.size();
      }
      double[] ta = time(qs, new IndexSearcher[] {sparse, sparse}, k, rounds);
      double speedUp = ta[0] / ta[1];
      double recall = total == 0 ? 1.0 : found / (double) total;
      out.printf(Locale.ROOT, "  %-60s speed-up %.2fx  recall@%d %.4f%n", e.getKey(), speedUp, k, recall);
      sweep.put(e.getKey(), Map.of("speedUp", round(speedUp), "recall", round(recall)));
      if (recall >= 0.98 && speedUp > bestSpeedUp) {
        best = e.getKey();
        bestSpeedUp = speedUp;
      }
    }
    out.printf(
        Locale.ROOT,
        "best speed-up at recall@%d >= 0.98: %s%n",
        k,
        best == null ? "none" : String.format(Locale.ROOT, "%.2fx (%s)", bestSpeedUp, best));
    results.put("approximate", sweep);
    results.put("bestSpeedUpAtRecall098", best == null ? null : round(bestSpeedUp));
    results.put("bestSettingAtRecall098", best);
    out.println(
        "(ratios are from this run only: absolute times drift on shared machines, compare ratios)");
  }

  /** Terms w0, w1, ... drawn with probability proportional to 1/(rank+1)^s. */
  private static final class ZipfVocabulary {
    private final double[] cdf;

    ZipfVocabulary(int size, double s, Random random) {
      cdf = new double[size];
      double sum = 0;
      for (int i = 0; i < size; i++) {
        sum += 1 / Math.pow(i + 1, s);
        cdf[i] = sum;
      }
      for (int i = 0; i < size; i++) {
        cdf[i] /= sum;
      }
    }

    int sample(Random random) {
      int i = Arrays.binarySearch(cdf, random.nextDouble());
      return Math.min(cdf.length - 1, i >= 0 ? i : -1 - i);
    }

    /** About {@code meanTerms} distinct terms with SPLADE-like log-normal weights. */
    Map<String, Float> vector(Random random, int meanTerms) {
      int n = Math.max(1, (int) Math.round(meanTerms * Math.exp(0.4 * random.nextGaussian())));
      Map<String, Float> v = new HashMap<>();
      for (int attempts = 0; v.size() < n && attempts < 20 * n; attempts++) {
        v.put("w" + sample(random), (float) Math.exp(-0.5 + 0.8 * random.nextGaussian()));
      }
      return v;
    }
  }
}
