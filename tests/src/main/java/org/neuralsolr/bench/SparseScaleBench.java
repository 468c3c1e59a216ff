package org.neuralsolr.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
import org.apache.solr.common.util.Utils;
import org.neuralsolr.codecs.sparse.SparseApproximation;
import org.neuralsolr.codecs.sparse.SparsePostingsFormat;
import org.neuralsolr.codecs.sparse.SparseQuery;
import org.neuralsolr.codecs.sparse.SparseVectorField;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.Machine;
import org.neuralsolr.eval.ProxyVectors;
import org.neuralsolr.eval.Qrels;

/**
 * {@code sparse-scale}: learned sparse retrieval at 10 K, 100 K and 1 M documents, on collections
 * from {@link SparseCollectionGenerator} (fitted to SciFact's {@code sparse-proxy} vectors); and
 * {@code sparse-fit}, which measures that fit.
 *
 * <p>Workload: for each size (property {@code neural.sparse.sizes}, default {@code
 * 10000,100000,1000000}; seed {@code neural.sparse.seed}, 42) the generated documents, indexed once
 * with Lucene as a {@link SparseVectorField} ({@code NeuralSparse}, forward index on) and, with the
 * same quantised weights, as {@link FeatureField}s on Lucene912, each force-merged to one segment
 * and cached under {@code .eval/sparse-scale/<size>-<seed>/} (rebuilt when the fit or the
 * generator changes); {@code neural.sparse.queries} (300) generated queries, top 10. Warm-up: one
 * round of every query and method, which also gives the rankings compared. Repetitions: {@code
 * neural.sparse.rounds} (3) rounds; in each, every method runs each query, the order of methods
 * rotated per query. Time is the searching thread's CPU time; a method's p50 is the median over
 * queries of its mean over the rounds. Methods: exact {@link SparseQuery}, a {@link BooleanQuery}
 * of {@link FeatureField#newLinearQuery} SHOULD clauses, and the approximate settings of {@link
 * #approximations} (their recall@10 is of the exact top 10).
 *
 * <p>Prints the fit (real against generated), then per size the build times, bytes per posting,
 * p50s and the approximate sweep; the last line is {@code exact_vs_featurefield=X
 * approx_speedup=Y recall=Z size=N} for the largest size. Per-size figures are merged into {@code
 * docs/results/sparse-scale.json}.
 */
final class SparseScaleBench {
  static final int K = 10;
  static final String SPARSE_FIELD = "vec";
  static final String FEATURE_FIELD = "features";
  /** Bumped whenever the generator's output changes: cached indexes of another version are rebuilt. */
  static final int GENERATOR_VERSION = 1;
  /** Documents regenerated to report the generated statistics (the df curve counts them all). */
  static final int STATS_SAMPLE = 5000;
  /** The recall@10 an approximate setting needs to count. */
  static final double MIN_RECALL = 0.98;

  private SparseScaleBench() {}

  // ---------------------------------------------------------------------------------------- fit

  /**
   * {@code sparse-fit}: measures SciFact's sparse-proxy vectors (the documents encoded so far in
   * the evaluation tool's cache, which this never extends; the 300 test queries, encoded now) and
   * writes the fit that {@link SparseCollectionGenerator} reads.
   */
  static Map<String, Object> fit(Path root, Path data) throws Exception {
    BeirDataset dataset = BeirDataset.at(data);
    Qrels qrels = dataset.qrels("test");
    Map<String, Map<String, Float>> docs = new LinkedHashMap<>();
    ProxyVectors.encodedSoFar(root, dataset, 128).forEach((id, v) -> {
      if (v.isEmpty() == false) {
        docs.put(id, v);
      }
    });
    if (docs.isEmpty()) {
      throw new IllegalStateException("no sparse-proxy document vectors cached yet: run ./neural-bench sparse-proxy (it encodes them)");
    }
    Map<String, String> texts = new LinkedHashMap<>();
    dataset.queries().forEach((id, text) -> {
      if (qrels.queryIds().contains(id)) {
        texts.put(id, text);
      }
    });
    Map<String, Map<String, Float>> queries = ProxyVectors.queries(root, texts, 32);
    List<Map<String, Float>> qs = new ArrayList<>();
    List<Map<String, Float>> relevant = new ArrayList<>();
    for (Map.Entry<String, Map<String, Float>> e : queries.entrySet()) {
      qs.add(e.getValue());
      Map<String, Float> rel = null;
      for (String docId : new TreeMap<>(qrels.judgments(e.getKey())).keySet()) {
        if (qrels.judgments(e.getKey()).get(docId) > 0 && docs.containsKey(docId)) {
          rel = docs.get(docId);
          break;
        }
      }
      relevant.add(rel);
    }
    Map<String, Object> fit = new LinkedHashMap<>();
    fit.put("source", "SciFact through the bge-small-en-v1.5 projection (sparse-proxy): 128 heaviest terms per document, 32 per test query");
    fit.putAll(SparseCollectionStats.measure(new ArrayList<>(docs.values()), qs, relevant));
    Path out = root.resolve("tests/src/main/resources/org/neuralsolr/bench/" + SparseCollectionGenerator.FIT_RESOURCE);
    Files.createDirectories(out.getParent());
    Files.writeString(out, Utils.toJSONString(fit) + "\n");
    System.out.printf(Locale.ROOT, "%n== sparse-fit: %d documents, %d queries (%d with a relevant document among them) -> %s%n",
        docs.size(), qs.size(), fit.get("pairs"), out);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("documents", docs.size());
    r.put("queries", qs.size());
    r.put("pairs", fit.get("pairs"));
    r.put("file", out.toString());
    return r;
  }

  // -------------------------------------------------------------------------------------- bench

  static Map<String, Object> run(Path root) throws Exception {
    return run(root, root.resolve(".eval/sparse-scale"), root.resolve("docs/results/sparse-scale.json"), System.out);
  }

  static Map<String, Object> run(Path root, Path cache, Path json, PrintStream out) throws Exception {
    int[] sizes = Arrays.stream(System.getProperty("neural.sparse.sizes", "10000,100000,1000000").split(","))
        .map(String::trim).mapToInt(Integer::parseInt).toArray();
    long seed = Long.getLong("neural.sparse.seed", 42L);
    int numQueries = Integer.getInteger("neural.sparse.queries", 300);
    int rounds = Integer.getInteger("neural.sparse.rounds", 3);
    Map<String, Object> fit = SparseCollectionGenerator.loadFit();
    String fingerprint = fingerprint(fit);
    out.println();
    out.println("== sparse-scale: exact {!sparse} vs FeatureField BooleanQuery, approximate vs exact, by collection size");
    out.printf(Locale.ROOT, "   workload: generated collections (seed %d) fitted to %s documents and %s queries of %s; %d queries, top %d%n",
        seed, fit.get("documents"), fit.get("queries"), fit.get("source"), numQueries, K);
    out.printf(Locale.ROOT, "   warm-up: one round of every query and method; repetitions: %d rounds, methods rotated per query; clock: %s; load average %s%n",
        rounds, CPU_CLOCK ? "CPU time of the searching thread" : "wall time", Machine.loadAverage());
    Map<String, Object> results = new LinkedHashMap<>();
    results.put("fit", Map.of("documents", fit.get("documents"), "queries", fit.get("queries"), "pairs", fit.get("pairs")));
    Map<String, Object> last = null;
    for (int size : sizes) {
      SparseCollectionGenerator gen = new SparseCollectionGenerator(fit, seed);
      Path dir = cache.resolve(size + "-" + seed);
      Map<String, Object> build = cachedOrBuild(dir, gen, size, seed, fingerprint, out);
      List<SparseCollectionGenerator.GeneratedQuery> queries = new ArrayList<>();
      for (int j = 0; j < numQueries; j++) {
        queries.add(gen.query(j, size));
      }
      printFit(fit, generatedStats(gen, size, queries, build), size, out);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("size", size);
      r.put("seed", seed);
      r.put("queries", numQueries);
      r.put("rounds", rounds);
      r.put("postings", build.get("postings"));
      r.put("buildSecondsNeuralSparse", build.get("buildSecondsNeuralSparse"));
      r.put("buildSecondsFeatureField", build.get("buildSecondsFeatureField"));
      r.put("buildLoadAverage", build.get("loadAverage"));
      r.putAll(bytesPerPosting(dir, ((Number) build.get("postings")).longValue()));
      out.printf(Locale.ROOT, "size %,d: %,d postings; built in %.0f s (NeuralSparse) + %.0f s (FeatureField)%s; bytes per posting: NeuralSparse %.3f (without the forward index %.3f), FeatureField %.3f%n",
          size, ((Number) build.get("postings")).longValue(), ((Number) build.get("buildSecondsNeuralSparse")).doubleValue(),
          ((Number) build.get("buildSecondsFeatureField")).doubleValue(),
          build.containsKey("reused") ? " (cached index reused)" : "",
          (Double) r.get("bytesPerPostingNeuralSparse"), (Double) r.get("bytesPerPostingWithoutForwardIndex"), (Double) r.get("bytesPerPostingFeatureField"));
      r.putAll(measure(dir, queries, size, rounds, out));
      results.put(String.valueOf(size), r);
      writeJson(json, r);
      writeLatencyCurve(json);
      last = r;
    }
    if (last != null) {
      String summary = String.format(Locale.ROOT, "exact_vs_featurefield=%.3f approx_speedup=%.2f recall=%.4f size=%d",
          (Double) last.get("ratioExactOverFeatureField"), (Double) last.get("approxSpeedUp"), (Double) last.get("approxRecall"), (Integer) last.get("size"));
      results.put("summary", summary);
      out.println(summary);
    }
    return results;
  }

  /** The approximate settings swept at {@code size} documents: posting prefixes scale with it. */
  static Map<String, SparseApproximation> approximations(int size) {
    Map<String, SparseApproximation> s = new LinkedHashMap<>();
    SparseApproximation exact = SparseApproximation.EXACT;
    s.put("DEFAULT", SparseApproximation.DEFAULT);
    s.put("queryWeightFraction=0.2", exact.withQueryWeightFraction(0.2f));
    s.put("heapFactor=0.9", exact.withHeapFactor(0.9f));
    for (int candidates : new int[] {200, 1000}) {
      s.put("candidateTerms=8,candidates=" + candidates, exact.withCandidateTerms(8).withCandidates(candidates));
    }
    // SEISMIC's static pruning: every query term generates from its heaviest postings
    for (int divisor : new int[] {1000, 250, 64}) {
      int postings = Math.max(128, size / divisor);
      for (int candidates : new int[] {100, 400, 1600}) {
        s.put("candidateTerms=64,candidatePostings=" + postings + ",candidates=" + candidates,
            exact.withCandidateTerms(64).withCandidatePostings(postings).withCandidates(candidates));
      }
    }
    String only = System.getProperty("neural.sparse.only");
    if (only != null) {
      s.keySet().removeIf(label -> label.startsWith(only) == false);
    }
    return s;
  }

  private static Map<String, Object> measure(
      Path dir, List<SparseCollectionGenerator.GeneratedQuery> queries, int size, int rounds, PrintStream out) throws IOException {
    Map<String, SparseApproximation> approx = approximations(size);
    List<String> labels = new ArrayList<>(List.of("exact", "featurefield"));
    labels.addAll(approx.keySet());
    int methods = labels.size();
    Query[][] qs = new Query[queries.size()][methods];
    for (int qi = 0; qi < queries.size(); qi++) {
      Map<String, Float> v = queries.get(qi).vector().toMap();
      qs[qi][0] = new SparseQuery(SPARSE_FIELD, v);
      qs[qi][1] = featureQuery(v);
      int m = 2;
      for (SparseApproximation a : approx.values()) {
        qs[qi][m++] = new SparseQuery(SPARSE_FIELD, v, a);
      }
    }
    String loadBefore = Machine.loadAverage();
    double[][] nanos = new double[methods][queries.size()];
    ScoreDoc[][][] tops = new ScoreDoc[methods][queries.size()][];
    try (Directory sparseDir = FSDirectory.open(dir.resolve("neural-sparse"));
        Directory featureDir = FSDirectory.open(dir.resolve("feature-field"));
        DirectoryReader sparseReader = DirectoryReader.open(sparseDir);
        DirectoryReader featureReader = DirectoryReader.open(featureDir)) {
      IndexSearcher sparse = new IndexSearcher(sparseReader);
      IndexSearcher feature = new IndexSearcher(featureReader);
      sparse.setQueryCache(null);
      feature.setQueryCache(null);
      for (int round = -1; round < rounds; round++) { // round -1 warms up and keeps the rankings
        for (int qi = 0; qi < queries.size(); qi++) {
          for (int j = 0; j < methods; j++) {
            int m = (j + qi + Math.max(round, 0)) % methods;
            IndexSearcher searcher = m == 1 ? feature : sparse;
            long t0 = now();
            ScoreDoc[] top = searcher.search(qs[qi][m], K).scoreDocs;
            long t1 = now();
            if (round < 0) {
              tops[m][qi] = top;
            } else {
              nanos[m][qi] += t1 - t0;
            }
          }
        }
      }
    }
    double[] p50 = new double[methods];
    for (int m = 0; m < methods; m++) {
      double[] perQuery = nanos[m].clone();
      Arrays.sort(perQuery);
      p50[m] = perQuery.length == 0 ? 0 : perQuery[perQuery.length / 2] / rounds / 1e6;
    }
    int identical = 0;
    int relevantFound = 0;
    for (int qi = 0; qi < queries.size(); qi++) {
      if (ids(tops[0][qi]).equals(ids(tops[1][qi]))) {
        identical++;
      }
      if (ids(tops[0][qi]).contains(queries.get(qi).relevant())) {
        relevantFound++;
      }
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("exactP50Ms", round(p50[0]));
    r.put("featureFieldP50Ms", round(p50[1]));
    r.put("ratioExactOverFeatureField", round(p50[0] / p50[1]));
    r.put("identicalTop10Ids", identical + "/" + queries.size());
    r.put("exactTop10HoldsSourceDocument", relevantFound + "/" + queries.size());
    out.printf(Locale.ROOT, "  exact {!sparse} p50 %.3f ms, FeatureField BooleanQuery p50 %.3f ms: ratio %.3f; same top-10 ids for %d/%d queries; the document a query was drawn from is in its exact top 10 for %d/%d%n",
        p50[0], p50[1], p50[0] / p50[1], identical, queries.size(), relevantFound, queries.size());
    out.printf(Locale.ROOT, "  approximate vs exact (speed-up of p50, recall@%d of the exact top %d):%n", K, K);
    Map<String, Object> sweep = new LinkedHashMap<>();
    String best = null;
    double bestSpeedUp = 0;
    double bestRecall = 0;
    double bestP50 = 0;
    for (int m = 2; m < methods; m++) {
      long found = 0;
      long total = 0;
      for (int qi = 0; qi < queries.size(); qi++) {
        Set<Integer> exact = ids(tops[0][qi]);
        for (ScoreDoc sd : tops[m][qi]) {
          found += exact.contains(sd.doc) ? 1 : 0;
        }
        total += exact.size();
      }
      double recall = total == 0 ? 1 : found / (double) total;
      double speedUp = p50[0] / p50[m];
      out.printf(Locale.ROOT, "    %-62s p50 %8.3f ms  speed-up %6.2fx  recall@%d %.4f%n", labels.get(m), p50[m], speedUp, K, recall);
      sweep.put(labels.get(m), Map.of("p50Ms", round(p50[m]), "speedUp", round(speedUp), "recall", round(recall)));
      if (recall >= MIN_RECALL && speedUp > bestSpeedUp) {
        best = labels.get(m);
        bestSpeedUp = speedUp;
        bestRecall = recall;
        bestP50 = p50[m];
      }
    }
    out.printf(Locale.ROOT, "  best speed-up at recall@%d >= %.2f: %s; load average %s before, %s after%n", K, MIN_RECALL,
        best == null ? "none" : String.format(Locale.ROOT, "%.2fx (%s, recall %.4f)", bestSpeedUp, best, bestRecall), loadBefore, Machine.loadAverage());
    r.put("approxKnobs", best);
    r.put("approxP50Ms", best == null ? null : round(bestP50));
    r.put("approxSpeedUp", round(bestSpeedUp));
    r.put("approxRecall", round(bestRecall));
    r.put("approximate", sweep);
    r.put("loadAverage", loadBefore + " / " + Machine.loadAverage());
    r.put("timestamp", Instant.now().toString());
    return r;
  }

  private static Set<Integer> ids(ScoreDoc[] top) {
    Set<Integer> s = new HashSet<>();
    for (ScoreDoc sd : top) {
      s.add(sd.doc);
    }
    return s;
  }

  static Query featureQuery(Map<String, Float> q) {
    BooleanQuery.Builder b = new BooleanQuery.Builder();
    for (Map.Entry<String, Float> e : q.entrySet()) {
      b.add(FeatureField.newLinearQuery(FEATURE_FIELD, e.getKey(), e.getValue()), Occur.SHOULD);
    }
    return b.build();
  }

  // ------------------------------------------------------------------------------------ indexes

  private static Map<String, Object> cachedOrBuild(
      Path dir, SparseCollectionGenerator gen, int size, long seed, String fingerprint, PrintStream out) throws IOException {
    Path meta = dir.resolve("build.json");
    if (Files.exists(meta)) {
      @SuppressWarnings("unchecked")
      Map<String, Object> build = (Map<String, Object>) Utils.fromJSONString(Files.readString(meta));
      if (fingerprint.equals(build.get("fingerprint"))) {
        build.put("reused", true);
        return build;
      }
      out.println("  cached index " + dir + " is of another fit or generator: rebuilding");
    }
    IOUtils.rm(dir);
    Files.createDirectories(dir);
    String load = Machine.loadAverage();
    out.printf(Locale.ROOT, "  building %,d documents into %s (load average %s)%n", size, dir, load);
    long t0 = System.nanoTime();
    int[] df = new int[SparseCollectionGenerator.VOCABULARY];
    long postings = 0;
    for (int i = 0; i < size; i++) {
      SparseCollectionGenerator.Vector v = gen.document(i);
      for (int r : v.ranks()) {
        df[r]++;
      }
      postings += v.ranks().length;
    }
    long t1 = System.nanoTime();
    PostingsFormat format = PostingsFormat.forName(SparsePostingsFormat.NAME);
    IndexWriterConfig sparseConfig = config();
    sparseConfig.setCodec(new Lucene912Codec() {
      @Override
      public PostingsFormat getPostingsFormatForField(String field) {
        return format;
      }
    });
    try (Directory d = FSDirectory.open(dir.resolve("neural-sparse")); IndexWriter w = new IndexWriter(d, sparseConfig)) {
      for (int i = 0; i < size; i++) {
        Document doc = new Document();
        doc.add(new SparseVectorField(SPARSE_FIELD, gen.document(i).toMap()));
        w.addDocument(doc);
      }
      w.forceMerge(1);
    }
    long t2 = System.nanoTime();
    try (Directory d = FSDirectory.open(dir.resolve("feature-field")); IndexWriter w = new IndexWriter(d, config())) {
      for (int i = 0; i < size; i++) {
        SparseCollectionGenerator.Vector v = gen.document(i);
        Document doc = new Document();
        for (int j = 0; j < v.ranks().length; j++) {
          // the quantised value has 8 mantissa bits: FeatureField's truncation keeps it exactly
          doc.add(new FeatureField(FEATURE_FIELD, SparseCollectionGenerator.term(v.ranks()[j]), SparseVectorField.quantize(v.weights()[j])));
        }
        w.addDocument(doc);
      }
      w.forceMerge(1);
    }
    long t3 = System.nanoTime();
    Map<String, Object> build = new LinkedHashMap<>();
    build.put("size", size);
    build.put("seed", seed);
    build.put("fingerprint", fingerprint);
    build.put("postings", postings);
    build.put("generateSeconds", round((t1 - t0) / 1e9));
    // each build pass generates its documents again: generation time is included in both
    build.put("buildSecondsNeuralSparse", round((t2 - t1) / 1e9));
    build.put("buildSecondsFeatureField", round((t3 - t2) / 1e9));
    build.put("loadAverage", load + " / " + Machine.loadAverage());
    build.put("df", Arrays.stream(df).boxed().toList());
    Files.writeString(meta, Utils.toJSONString(build)); // last: its presence means the indexes are complete
    return build;
  }

  private static IndexWriterConfig config() {
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setUseCompoundFile(false);
    iwc.setRAMBufferSizeMB(256);
    iwc.setMergePolicy(new LogByteSizeMergePolicy()); // keeps doc ids in input order
    return iwc;
  }

  private static Map<String, Object> bytesPerPosting(Path dir, long postings) throws IOException {
    long sparse = 0;
    long forward = 0;
    long feature = 0;
    try (Directory d = FSDirectory.open(dir.resolve("neural-sparse"))) {
      for (String name : d.listAll()) {
        if (name.contains(SparsePostingsFormat.NAME)) {
          sparse += d.fileLength(name);
          forward += name.endsWith(".nsf") ? d.fileLength(name) : 0;
        }
      }
    }
    try (Directory d = FSDirectory.open(dir.resolve("feature-field"))) {
      for (String name : d.listAll()) {
        if (name.endsWith(".doc") || name.endsWith(".tim") || name.endsWith(".tip") || name.endsWith(".tmd") || name.endsWith(".psm")) {
          feature += d.fileLength(name);
        }
      }
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("bytesPerPostingNeuralSparse", round(sparse / (double) postings));
    r.put("bytesPerPostingWithoutForwardIndex", round((sparse - forward) / (double) postings));
    r.put("bytesPerPostingFeatureField", round(feature / (double) postings));
    return r;
  }

  private static String fingerprint(Map<String, Object> fit) throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest((Utils.toJSONString(fit) + GENERATOR_VERSION).getBytes(StandardCharsets.UTF_8));
    return "v" + GENERATOR_VERSION + "-" + HexFormat.of().formatHex(digest, 0, 8);
  }

  // --------------------------------------------------------------------------------- fit report

  /** The generated collection measured as the real one was: sampled documents, the full df curve. */
  private static Map<String, Object> generatedStats(
      SparseCollectionGenerator gen, int size, List<SparseCollectionGenerator.GeneratedQuery> queries, Map<String, Object> build) {
    List<Map<String, Float>> docs = new ArrayList<>();
    for (int i = 0; i < Math.min(size, STATS_SAMPLE); i++) {
      docs.add(gen.document(i).toMap());
    }
    List<Map<String, Float>> qs = new ArrayList<>();
    List<Map<String, Float>> relevant = new ArrayList<>();
    for (SparseCollectionGenerator.GeneratedQuery q : queries) {
      qs.add(q.vector().toMap());
      relevant.add(gen.document(q.relevant()).toMap());
    }
    Map<String, Object> s = SparseCollectionStats.measure(docs, qs, relevant);
    int[] df = SparseCollectionStats.doubles(build.get("df")).length == 0 ? new int[0]
        : Arrays.stream(SparseCollectionStats.doubles(build.get("df"))).mapToInt(x -> (int) x).toArray();
    int[] sorted = Arrays.stream(df).filter(x -> x > 0).boxed().sorted((a, b) -> b - a).mapToInt(Integer::intValue).toArray();
    List<Integer> ranks = new ArrayList<>();
    List<Double> fractions = new ArrayList<>();
    for (int r = 0; r < sorted.length; r = Math.max(r + 1, (int) (r * 1.06))) {
      ranks.add(r);
      fractions.add(sorted[r] / (double) size);
    }
    s.put("observedTerms", sorted.length);
    s.put("dfRanks", ranks);
    s.put("dfFractions", fractions);
    return s;
  }

  private static void printFit(Map<String, Object> real, Map<String, Object> gen, int size, PrintStream out) {
    out.printf(Locale.ROOT, "  fit at %,d documents: real (%s SciFact documents, %s queries) vs generated (%s documents sampled for terms and weights, all %,d for df; %s queries)%n",
        size, real.get("documents"), real.get("queries"), gen.get("documents"), size, gen.get("queries"));
    row(out, "terms/document mean p50 p90", termStats(real.get("docTerms")), termStats(gen.get("docTerms")));
    row(out, "terms/query mean p50 p90", termStats(real.get("queryTerms")), termStats(gen.get("queryTerms")));
    row(out, "df/N at rank 1 10 100 1000 10000", dfStats(real), dfStats(gen));
    row(out, "distinct terms", String.valueOf(real.get("observedTerms")), String.valueOf(gen.get("observedTerms")));
    row(out, "document weight p10 p50 p90 p99", weightStats(real.get("docWeightsAll")), weightStats(gen.get("docWeightsAll")));
    row(out, "query weight p10 p50 p90 p99", weightStats(real.get("queryWeightsAll")), weightStats(gen.get("queryWeightsAll")));
    row(out, "share of query terms in its relevant doc", String.format(Locale.ROOT, "%.3f (%s pairs)", ((Number) real.get("queryOverlap")).doubleValue(), real.get("pairs")),
        String.format(Locale.ROOT, "%.3f (%s pairs)", ((Number) gen.get("queryOverlap")).doubleValue(), gen.get("pairs")));
    row(out, "other query terms' df rank p10 p50 p90", rankStats(real.get("queryOtherRanks")), rankStats(gen.get("queryOtherRanks")));
  }

  private static void row(PrintStream out, String label, String real, String generated) {
    out.printf(Locale.ROOT, "    %-42s real %-34s generated %s%n", label, real, generated);
  }

  private static String termStats(Object q) {
    return String.format(Locale.ROOT, "%.1f %.0f %.0f", SparseCollectionStats.mean(q), SparseCollectionStats.percentile(q, 50), SparseCollectionStats.percentile(q, 90));
  }

  private static String weightStats(Object q) {
    return String.format(Locale.ROOT, "%.3f %.3f %.3f %.3f", SparseCollectionStats.percentile(q, 10), SparseCollectionStats.percentile(q, 50),
        SparseCollectionStats.percentile(q, 90), SparseCollectionStats.percentile(q, 99));
  }

  private static String rankStats(Object q) {
    return String.format(Locale.ROOT, "%.0f %.0f %.0f", SparseCollectionStats.percentile(q, 10), SparseCollectionStats.percentile(q, 50), SparseCollectionStats.percentile(q, 90));
  }

  private static String dfStats(Map<String, Object> s) {
    StringBuilder sb = new StringBuilder();
    for (int r : new int[] {0, 9, 99, 999, 9999}) {
      sb.append(sb.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2g", SparseCollectionStats.dfAt(s, r)));
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------------------------ helpers

  @SuppressWarnings("unchecked")
  private static synchronized void writeJson(Path json, Map<String, Object> sizeResult) throws IOException {
    Map<String, Object> all = new LinkedHashMap<>();
    if (Files.exists(json)) {
      all = (Map<String, Object>) Utils.fromJSONString(Files.readString(json));
    }
    Map<String, Object> sizes = new TreeMap<>((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b)));
    if (all.get("sizes") instanceof Map<?, ?> existing) {
      sizes.putAll((Map<String, Object>) existing);
    }
    Map<String, Object> entry = new LinkedHashMap<>(sizeResult);
    entry.remove("approximate");
    sizes.put(String.valueOf(sizeResult.get("size")), entry);
    all.put("benchmark", "./neural-bench sparse-scale");
    all.put("machine", Machine.describe());
    all.put("sizes", sizes);
    Files.createDirectories(json.getParent());
    Files.writeString(json, Utils.toJSONString(all) + "\n");
  }

  /**
   * Query p50 against collection size for every size in {@code json} (this run's and earlier runs'),
   * as the cost curve {@code curves/sparse-latency.json} beside it: exact {@code {!sparse}}, the same
   * vectors as FeatureField clauses, and approximate mode at its fastest knobs with recall@10 >= 0.98.
   */
  @SuppressWarnings("unchecked")
  private static void writeLatencyCurve(Path json) throws IOException {
    Map<String, Object> sizes = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(Files.readString(json))).get("sizes");
    List<List<Number>> exact = new ArrayList<>();
    List<List<Number>> featureField = new ArrayList<>();
    List<List<Number>> approximate = new ArrayList<>();
    for (Object o : sizes.values()) {
      Map<String, Object> r = (Map<String, Object>) o;
      Number size = (Number) r.get("size");
      exact.add(List.of(size, (Number) r.get("exactP50Ms")));
      featureField.add(List.of(size, (Number) r.get("featureFieldP50Ms")));
      if (r.get("approxP50Ms") instanceof Number p50) {
        approximate.add(List.of(size, p50));
      }
    }
    CostCurve.write(json.resolveSibling("curves").resolve("sparse-latency.json"), "{!sparse} query p50 against collection size",
        new CostCurve.Axis("documents (generated, fitted to SciFact's sparse-proxy vectors)", true), new CostCurve.Axis("query p50 (ms)", true),
        List.of(CostCurve.series("exact", exact), CostCurve.series("FeatureField", featureField), CostCurve.series("approximate", approximate)),
        "exact: `{!sparse}` on the NeuralSparse format; FeatureField: the same vectors as FeatureField clauses of a Lucene"
            + " BooleanQuery; approximate: `{!sparse}` approximate mode at its fastest knobs with recall@" + K + " >= " + MIN_RECALL + " against exact."
            + " Top " + K + " per generated query (32 terms; documents have 128), Lucene in-process, one thread; per size the p50 over"
            + " its queries, as in docs/results/sparse-scale.json.",
        "./neural-bench sparse-scale", null);
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final boolean CPU_CLOCK = THREADS.isCurrentThreadCpuTimeSupported();

  private static long now() {
    return CPU_CLOCK ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
