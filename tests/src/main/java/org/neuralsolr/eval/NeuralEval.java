package org.neuralsolr.eval;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.TermRangeQuery;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.store.FSDirectory;
import org.neuralsolr.codecs.multivector.MultiVectorField;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.ResidualCodebook;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CoreAdminRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.RequestWriter;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.CoreAdminResponse;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.example.LocalSolr;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * {@code ./neural-eval --dataset DIR --pipeline NAME [--split test] [--solr URL] [--out FILE]
 * [--param key=value]...}: indexes a BEIR-layout dataset through Solr's HTTP API with a pipeline,
 * runs every query of the split over HTTP, and reports nDCG@10 and Recall@100 computed as trec_eval
 * does. Writes a TREC run file and a JSON report; the last line printed is exactly {@code
 * ndcg@10=X.XXXX recall@100=Y.YYYY}.
 *
 * <p>Without {@code --solr} it starts a real Solr (Jetty) over {@code .eval/solr-home} in the
 * repository. An index is identified by the dataset, the pipeline, its index settings and the
 * configset's content; a completed index is recorded in {@code .eval/indexes/CORE.json} and reused
 * by later runs instead of encoding the corpus again. {@code ./neural-eval --results DIR --out FILE}
 * regenerates the results table from the JSON reports in DIR.
 */
public final class NeuralEval {
  private static final int INGEST_BATCH = 64;
  private static final int INGEST_THREADS = 2;
  private static final int WARMUP_QUERIES = 5;

  private NeuralEval() {}

  public static void main(String[] args) {
    Path root = Path.of(System.getProperty("neural.root", ".")).toAbsolutePath().normalize();
    // run() stops what it started; a library's stray non-daemon thread must not keep the JVM alive
    System.exit(run(args, root, System.out, System.err));
  }

  /**
   * Runs the tool with the repository {@code root} ({@code conf/} is read, {@code .eval/} written)
   * and returns its exit code: 0, 1 when the run failed, 2 for a wrong command line. Never throws:
   * a failure ends in one line on {@code err}, {@code neural-eval: REASON}. Whatever the outcome,
   * the ingest threads and the Solr it started have stopped when it returns.
   */
  static int run(String[] args, Path root, PrintStream out, PrintStream err) {
    Options o;
    Pipeline pipeline;
    Map<String, String> settings;
    try {
      o = Options.parse(args);
      pipeline = o.resultsDir != null || o.task != null ? null : Pipelines.get(o.pipeline);
      settings = pipeline == null ? null : pipeline.settings(o.params);
      if (settings != null) {
        Pipeline.topK(settings);
      }
    } catch (IllegalArgumentException e) {
      err.println(FAILURE_PREFIX + reason(e));
      if (e instanceof Options.CommandLineException) {
        err.println(Options.USAGE);
      }
      return 2;
    }
    try {
      evaluate(o, pipeline, settings, root, out, err);
      return 0;
    } catch (Throwable t) {
      err.println(FAILURE_PREFIX + reason(t));
      return 1;
    }
  }

  /** What starts the line that says why a run failed. */
  static final String FAILURE_PREFIX = "neural-eval: ";

  private static final int MAX_REASON_CHARS = 2_000;
  private static final int MAX_WORD_CHARS = 400;

  /**
   * The failure as one line: the innermost useful message, whitespace and control characters
   * collapsed to single spaces, words longer than {@value #MAX_WORD_CHARS} characters shortened
   * (Solr quotes a refused document's id, which may be huge).
   */
  static String reason(Throwable t) {
    while ((t instanceof java.util.concurrent.ExecutionException || t instanceof java.lang.reflect.InvocationTargetException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String message = t.getMessage();
    if (t instanceof java.nio.file.NoSuchFileException) {
      message = "no such file: " + message;
    } else if (t instanceof NumberFormatException) {
      message = "not a number: " + message; // Java's says 'For input string: "x"'
    } else if (message == null || message.isBlank()) {
      message = t.getClass().getSimpleName() + (t.getCause() != null ? ": " + reason(t.getCause()) : "");
    } else if (!(t instanceof IOException || t instanceof IllegalArgumentException || t instanceof IllegalStateException
        || t instanceof org.apache.solr.common.SolrException)) {
      message = t.getClass().getSimpleName() + ": " + message; // say what a bare message like "42" is
    }
    StringBuilder line = new StringBuilder();
    // control characters (a refused document's text may hold any) would break the line or the terminal
    for (String word : message.replaceAll("[\\p{Cntrl}\\u2028\\u2029]", " ").strip().split("\\s+")) {
      if (line.length() > 0) {
        line.append(' ');
      }
      line.append(word.length() <= MAX_WORD_CHARS ? word : word.substring(0, MAX_WORD_CHARS / 4) + "…(" + word.length() + " characters)");
    }
    return line.length() <= MAX_REASON_CHARS ? line.toString() : line.substring(0, MAX_REASON_CHARS) + "…";
  }

  private static void evaluate(Options o, Pipeline pipeline, Map<String, String> settings, Path root, PrintStream out, PrintStream err)
      throws Exception {
    if ("localize".equals(o.task)) {
      LocalizeTask.run(o, root, out, err);
      return;
    }
    if (o.resultsDir != null) {
      Path written = o.out != null ? o.out : root.resolve("docs/RESULTS.md");
      ResultsTable.write(o.resultsDir, written);
      out.println("wrote " + written);
      return;
    }
    BeirDataset dataset = BeirDataset.at(o.dataset);
    String datasetName = o.dataset.toAbsolutePath().normalize().getFileName().toString();
    int topK = Pipeline.topK(settings);
    Qrels qrels = dataset.qrels(o.split);
    Map<String, String> allQueries = dataset.queries();
    Map<String, String> queries = new LinkedHashMap<>();
    for (Map.Entry<String, String> q : allQueries.entrySet()) {
      if (qrels.queryIds().contains(q.getKey())) {
        queries.put(q.getKey(), q.getValue());
      }
    }
    if (queries.isEmpty()) {
      throw new IllegalArgumentException("no query of " + o.dataset + "/queries.jsonl is judged in qrels/" + o.split + ".tsv");
    }

    Path conf = root.resolve("conf");
    String core = coreName(datasetName, o.dataset, pipeline, settings, conf);
    Pipeline.Prepared prepared = pipeline.preparation.prepare(root, dataset, settings);
    Path reportFile = o.out != null ? o.out : root.resolve(".eval/reports/" + datasetName + "-" + pipeline.name + suffix(o.params) + ".json");
    Path runFile = reportFile.resolveSibling(reportFile.getFileName().toString().replaceFirst("\\.json$", "") + ".trec");

    LocalSolr local = null;
    if (o.solrUrl == null) {
      err.println("starting Solr over " + root.resolve(".eval/solr-home") + " ...");
      local = LocalSolr.start(root.resolve(".eval/solr-home"), conf, 0);
    }
    SolrClient client = local != null ? local.client() : new Http2SolrClient.Builder(o.solrUrl).build();
    // closing stops the Solr the tool started (its client with it), whatever failed before
    try (AutoCloseable solr = local != null ? local : client) {
      Set<String> subset = subset(dataset, qrels, settings.get("docs"));
      List<CachedField> cached = cachedFields(root, datasetName, o.dataset, pipeline, settings, err);
      Map<String, Object> ingest = ensureIndex(client, core, dataset, pipeline, settings, prepared, root, o.solrUrl != null, subset, cached, err);
      Map<String, Object> indexStats = indexStats(client, core, pipeline, prepared, ingest);
      Map<String, Long> withoutField = documentsWithoutNeuralField(client, core, neuralFields(pipeline, prepared));
      if (withoutField != null) {
        ingest.put("documentsWithoutNeuralField", withoutField);
      }
      if ("neural-passages".equals(pipeline.updateChain)) {
        ingest.put("passages", passageStats(client, core));
      }
      Run.Builder run = Run.builder();
      Map<String, Object> timing = runQueries(client, core, pipeline, settings, queries, run, topK, err);
      Run built = run.build();
      Files.createDirectories(reportFile.toAbsolutePath().getParent());
      built.writeTrec(runFile, pipeline.name);
      MetricsReport metrics = TrecEvaluator.evaluate(qrels, built);

      Map<String, Object> report = new LinkedHashMap<>();
      report.put("tool", "neural-eval");
      report.put("dataset", datasetName);
      report.put("split", o.split);
      report.put("pipeline", pipeline.name);
      report.put("description", pipeline.description);
      report.put("settings", settings);
      report.put("overrides", new TreeMap<>(o.params));
      report.put("core", core);
      report.put("metrics", metricsMap(metrics));
      References.Reference ref = References.of(datasetName, pipeline.name);
      if (ref != null) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ndcg@10", ref.ndcgAt10());
        r.put("recall@100", ref.recallAt100());
        r.put("source", ref.source());
        r.put("ndcg@10Difference", round4(metrics.mean().ndcgAt10() - ref.ndcgAt10()));
        report.put("reference", r);
      }
      report.put("index", indexStats);
      Object colbert = ((Map<?, ?>) indexStats.get("neuralFields")).get("colbert");
      if (colbert != null && settings.containsKey("nbits")) {
        Object queried = ((Map<?, ?>) colbert).get(Pipelines.colbertField(settings.get("nbits")));
        if (queried != null) {
          report.put("bytes_per_token_vector", ((Map<?, ?>) queried).get("bytes_per_token_vector"));
          report.put("untrainedTokenVectors", ((Map<?, ?>) queried).get("untrainedTokenVectors"));
        }
      }
      Object vectorData = indexStats.get("vectorData");
      if (vectorData != null && settings.containsKey("field") && Pipelines.DENSE_QUANTIZED_INDEX.equals(pipeline.index)) {
        Map<?, ?> queried = (Map<?, ?>) ((Map<?, ?>) vectorData).get(settings.get("field"));
        Map<?, ?> float32 = (Map<?, ?>) ((Map<?, ?>) vectorData).get("vector");
        if (queried != null && float32 != null) {
          double bytes = ((Number) queried.get("bytesPerVector")).doubleValue();
          double floatBytes = ((Number) float32.get("bytesPerVector")).doubleValue();
          report.put("bytes_per_vector", bytes);
          report.put("float32_bytes_per_vector", floatBytes);
          report.put("vector_bytes_ratio", round4(bytes / floatBytes));
        }
      }
      Map<String, Object> lengths = longerThanMaxLength(root, dataset, settings, subset, err);
      if (lengths != null) {
        report.put("documentsLongerThanMaxLength", lengths);
      }
      if (subset != null) {
        report.put("subset", "the " + subset.size() + " documents judged for " + o.split + " or among the first " + settings.get("docs") + " of the corpus");
      }
      report.put("ingest", ingest);
      report.put("queries", timing);
      if (o.baseline != null) {
        report.put("baseline", compareWithBaseline(o.baseline, built, timing));
      }
      report.put("machine", Machine.describe());
      report.put("solr", o.solrUrl != null ? o.solrUrl : "local (started by the tool)");
      report.put("runFile", runFile.getFileName().toString());
      report.put("command", "./neural-eval " + String.join(" ", o.args));
      report.put("timestamp", Instant.now().toString());
      Files.writeString(reportFile, Utils.toJSONString(report) + "\n");

      out.println(metrics);
      out.println("report: " + reportFile);
      out.println("run:    " + runFile);
      out.println(metrics.summaryLine());
    }
  }

  /**
   * This run against an earlier report of the same queries (e.g. PLAID against exhaustive MaxSim):
   * the mean share of the baseline's top 10 that this run's top 10 keeps, and the baseline's latency
   * divided by this run's (above 1: this run is faster).
   */
  @SuppressWarnings("unchecked")
  static Map<String, Object> compareWithBaseline(Path baselineReport, Run run, Map<String, Object> timing) throws IOException {
    Map<String, Object> base = (Map<String, Object>) Utils.fromJSONString(Files.readString(baselineReport));
    Run baseRun = Run.readTrec(baselineReport.resolveSibling(String.valueOf(base.get("runFile"))));
    double overlap = 0;
    int queries = 0;
    for (String q : baseRun.queryIds()) {
      Set<String> expected = new HashSet<>();
      List<ScoredDoc> theirs = baseRun.ranked(q);
      for (ScoredDoc d : theirs.subList(0, Math.min(10, theirs.size()))) {
        expected.add(d.docId());
      }
      int kept = 0;
      List<ScoredDoc> ours = run.ranked(q);
      for (ScoredDoc d : ours.subList(0, Math.min(10, ours.size()))) {
        kept += expected.contains(d.docId()) ? 1 : 0;
      }
      overlap += (double) kept / expected.size();
      queries++;
    }
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("report", baselineReport.getFileName().toString());
    c.put("pipeline", base.get("pipeline"));
    c.put("overrides", base.get("overrides"));
    c.put("queries", queries);
    c.put("top10Overlap", round4(queries == 0 ? 0 : overlap / queries));
    Map<String, Object> baseTiming = (Map<String, Object>) base.get("queries");
    for (String measure : new String[] {"latencyMs", "qtimeMs"}) {
      Map<String, Object> b = (Map<String, Object>) baseTiming.get(measure);
      Map<String, Object> t = (Map<String, Object>) timing.get(measure);
      for (String stat : new String[] {"p50", "mean"}) {
        double ours = ((Number) t.get(stat)).doubleValue();
        c.put(measure + "_" + stat + "_baselineOverThis", ours == 0 ? 0 : round2(((Number) b.get(stat)).doubleValue() / ours));
      }
    }
    return c;
  }

  private static String suffix(Map<String, String> params) {
    if (params.isEmpty()) {
      return "";
    }
    StringBuilder s = new StringBuilder();
    new TreeMap<>(params).forEach((k, v) -> s.append('-').append(k).append('=').append(v.replaceAll("[^A-Za-z0-9._-]", "_")));
    return s.toString();
  }

  /** A core per (dataset, pipeline, index settings, configset content). */
  static String coreName(String datasetName, Path datasetDir, Pipeline pipeline, Map<String, String> settings, Path conf)
      throws IOException {
    MessageDigest digest = sha256();
    digest.update(datasetDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
    digest.update(Long.toString(Files.size(datasetDir.resolve("corpus.jsonl"))).getBytes(StandardCharsets.UTF_8));
    digest.update(pipeline.updateChain.getBytes(StandardCharsets.UTF_8));
    digest.update(pipeline.indexSettings(settings).toString().getBytes(StandardCharsets.UTF_8));
    try (Stream<Path> files = Files.list(conf)) {
      for (Path f : files.sorted().toList()) {
        digest.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
        digest.update(Files.readAllBytes(f));
      }
    }
    String hash = HexFormat.of().formatHex(digest.digest(), 0, 5);
    return ("eval_" + datasetName + "_" + pipeline.index + "_" + hash).replaceAll("[^A-Za-z0-9_]", "_");
  }

  /**
   * With {@code --param docs=N} (pipelines that have the setting): the documents judged for the
   * split plus the first N documents of the corpus, so every judged query keeps its relevant
   * documents among N distractors; null (the whole corpus) for {@code all} or no such setting.
   */
  private static Set<String> subset(BeirDataset dataset, Qrels qrels, String docs) throws IOException {
    if (docs == null || "all".equals(docs)) {
      return null;
    }
    int n = Integer.parseInt(docs);
    Set<String> ids = new HashSet<>();
    for (String q : qrels.queryIds()) {
      ids.addAll(qrels.judgments(q).keySet());
    }
    try (BeirCorpusReader reader = dataset.openCorpus()) {
      CorpusDocument d;
      for (int i = 0; i < n && (d = reader.next()) != null; i++) {
        ids.add(d.id());
      }
    }
    return ids;
  }

  private static Map<String, Object> ensureIndex(
      SolrClient client,
      String core,
      BeirDataset dataset,
      Pipeline pipeline,
      Map<String, String> settings,
      Pipeline.Prepared prepared,
      Path root,
      boolean external,
      Set<String> subset,
      List<CachedField> cached,
      PrintStream err)
      throws Exception {
    Path marker = root.resolve(".eval/indexes/" + core + ".json");
    boolean exists = coreExists(client, core);
    long corpusSize = countCorpus(dataset, subset);
    if (exists) {
      long docs = numDocs(client, core);
      if (docs == corpusSize && (external || Files.exists(marker))) {
        err.println("re-using index " + core + " (" + docs + " documents)");
        applySchemaCommands(client, core, prepared.schemaCommands());
        @SuppressWarnings("unchecked")
        Map<String, Object> ingest =
            Files.exists(marker) ? new LinkedHashMap<>((Map<String, Object>) Utils.fromJSONString(Files.readString(marker))) : new LinkedHashMap<>();
        ingest.put("reused", true);
        // an index built before the cache existed (or elsewhere) seeds it
        Map<String, Object> encodings = new LinkedHashMap<>();
        encodings.put("seeded", fillCache(client, core, root, cached, docs, err));
        ingest.put("encodings", encodings);
        return ingest;
      }
      err.println("index " + core + " is incomplete (" + docs + " of " + corpusSize + " documents): rebuilding it");
      CoreAdminRequest.Unload unload = new CoreAdminRequest.Unload(true);
      unload.setCoreName(core);
      unload.setDeleteInstanceDir(true);
      unload.process(client);
    }
    Map<String, String> properties = new LinkedHashMap<>(pipeline.coreProperties.apply(settings));
    properties.putAll(prepared.coreProperties());
    createCore(client, core, properties);
    applySchemaCommands(client, core, prepared.schemaCommands());
    List<EncodingCache.Entry> entries = new ArrayList<>();
    try {
      for (CachedField f : cached) {
        EncodingCache.Entry e = new EncodingCache(root).open(f.key(), err);
        entries.add(e);
      }
      Map<String, Object> encodings = new LinkedHashMap<>();
      boolean hit = !entries.isEmpty() && entries.stream().allMatch(e -> e != null);
      encodings.put("hit", hit);
      encodings.put("entries", entries.stream().filter(e -> e != null).count());
      encodings.put("bytes", entries.stream().filter(e -> e != null).mapToLong(e -> e.bytes).sum());
      if (!cached.isEmpty()) {
        err.println("encoding cache: " + (hit ? "hit" : "miss") + " (" + encodings.get("entries") + " of " + cached.size() + " entries, "
            + encodings.get("bytes") + " bytes) under " + root.resolve(EncodingCache.DIRECTORY));
      }
      Map<String, Object> ingest =
          ingest(client, core, dataset, pipeline.updateChain, prepared.sparseDocuments(), corpusSize, subset, cached, entries, encodings, err);
      ingest.put("encodings", encodings);
      return finishIndex(client, core, pipeline, marker, root, cached, ingest, err);
    } finally {
      for (EncodingCache.Entry e : entries) {
        if (e != null) {
          e.close();
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> finishIndex(
      SolrClient client, String core, Pipeline pipeline, Path marker, Path root, List<CachedField> cached, Map<String, Object> ingest, PrintStream err)
      throws Exception {
    if ("neural-colbert".equals(pipeline.updateChain)) {
      // with the configset's trainingThreshold the segments are float32 so far: the optimize trains
      // each field's codebook on a sample spread over the whole corpus and encodes the vectors; and
      // every segment stores a copy of its fields' codebooks: one segment, one copy, as a static
      // collection would be served. The report gives the merge time and segment count
      long t0 = System.nanoTime();
      new UpdateRequest().setAction(UpdateRequest.ACTION.OPTIMIZE, true, true, 1).process(client, core);
      ingest.put("forceMergeSeconds", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
    }
    ((Map<String, Object>) ingest.get("encodings")).put("seeded", fillCache(client, core, root, cached, numDocs(client, core), err));
    Files.createDirectories(marker.getParent());
    Files.writeString(marker, Utils.toJSONString(ingest) + "\n");
    ingest.put("reused", false);
    return ingest;
  }

  /**
   * Applies a pipeline's Schema API commands unless the core's schema already has every field they
   * add. A standalone core keeps its managed schema in the configset, which the tool refreshes from
   * {@code conf/} at each start, so a re-used core needs them again.
   */
  private static void applySchemaCommands(SolrClient client, String core, String commands) throws Exception {
    if (commands == null) {
      return;
    }
    Set<String> present = new HashSet<>();
    ModifiableSolrParams p = new ModifiableSolrParams();
    NamedList<Object> fields = client.request(new GenericSolrRequest(SolrRequest.METHOD.GET, "/schema/fields", p).setRequiresCollection(true), core);
    for (Object f : (List<?>) fields.get("fields")) {
      present.add(String.valueOf(((Map<?, ?>) f).get("name")));
    }
    boolean missing = false;
    for (Object f : (List<?>) ((Map<?, ?>) Utils.fromJSONString(commands)).get("add-field")) {
      missing |= !present.contains(String.valueOf(((Map<?, ?>) f).get("name")));
    }
    if (missing) {
      client.request(
          new GenericSolrRequest(SolrRequest.METHOD.POST, "/schema", new ModifiableSolrParams())
              .setRequiresCollection(true)
              .setContentWriter(new RequestWriter.StringPayloadContentWriter(commands, "application/json")),
          core);
    }
  }

  private static boolean coreExists(SolrClient client, String core) throws Exception {
    CoreAdminResponse status = CoreAdminRequest.getStatus(core, client);
    return status.getCoreStatus(core) != null && status.getCoreStatus(core).size() > 0;
  }

  private static void createCore(SolrClient client, String core, Map<String, String> properties) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("action", "CREATE");
    p.set("name", core);
    p.set("configSet", LocalSolr.CONFIGSET);
    properties.forEach((k, v) -> p.set("property." + k, v));
    client.request(new GenericSolrRequest(SolrRequest.METHOD.POST, "/admin/cores", p));
  }

  /**
   * Passages of a passages index: how many, and how many documents needed more than one (their
   * text is longer than one passage of maxTokens model tokens, so one vector would have truncated it).
   */
  private static Map<String, Object> passageStats(SolrClient client, String core) throws Exception {
    Map<String, Object> stats = new LinkedHashMap<>();
    long documents = count(client, core, "*:* -passage_i:[* TO *]");
    long multi = count(client, core, "passage_i:1");
    stats.put("passages", count(client, core, "passage_i:[* TO *]"));
    stats.put("documents", documents);
    stats.put("documentsWithMoreThanOnePassage", multi);
    stats.put("shareWithMoreThanOnePassage", documents == 0 ? 0.0 : round4((double) multi / documents));
    return stats;
  }

  private static long count(SolrClient client, String core, String q) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", q);
    p.set("rows", "0");
    return new QueryRequest(p).process(client, core).getResults().getNumFound();
  }

  /** Corpus documents in the core: passages (child documents of long documents) are not counted. */
  private static long numDocs(SolrClient client, String core) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", "*:* -passage_i:[* TO *]");
    p.set("rows", "0");
    return new QueryRequest(p).process(client, core).getResults().getNumFound();
  }

  private static long countCorpus(BeirDataset dataset, Set<String> subset) throws IOException {
    long n = 0;
    try (BeirCorpusReader reader = dataset.openCorpus()) {
      CorpusDocument d;
      while ((d = reader.next()) != null) {
        if (subset == null || subset.contains(d.id())) {
          n++;
        }
      }
    }
    return n;
  }

  /**
   * Sends the corpus in batches of {@value #INGEST_BATCH} from {@value #INGEST_THREADS} threads. The
   * first refused batch ends the load: its reason (the documents' ids and Solr's answer) is thrown
   * here, and on any failure the senders are interrupted and waited for, so none is left waiting on
   * the queue.
   */
  private static Map<String, Object> ingest(
      SolrClient client,
      String core,
      BeirDataset dataset,
      String chain,
      Pipeline.SparseDocuments sparse,
      long total,
      Set<String> subset,
      List<CachedField> cached,
      List<EncodingCache.Entry> entries,
      Map<String, Object> encodings,
      PrintStream err)
      throws Exception {
    AtomicLong fromCache = new AtomicLong();
    AtomicLong sparsePostings = new AtomicLong();
    BlockingQueue<List<SolrInputDocument>> batches = new ArrayBlockingQueue<>(INGEST_THREADS * 2);
    List<SolrInputDocument> end = List.of();
    AtomicLong done = new AtomicLong();
    ProgressBar bar = new ProgressBar("indexing " + core, total, err);
    AtomicInteger threadNumber = new AtomicInteger();
    ExecutorService senders =
        Executors.newFixedThreadPool(INGEST_THREADS, r -> new Thread(r, INGEST_THREAD_NAME + "-" + threadNumber.incrementAndGet()));
    long start = System.nanoTime();
    List<Future<?>> futures = new ArrayList<>();
    try {
      for (int t = 0; t < INGEST_THREADS; t++) {
        futures.add(senders.submit(() -> {
          List<SolrInputDocument> batch;
          while ((batch = batches.take()) != end) {
            UpdateRequest update = new UpdateRequest();
            update.add(batch);
            update.setParam("update.chain", chain);
            try {
              update.process(client, core);
            } catch (Exception e) {
              throw new IOException(
                  "indexing " + core + ": Solr refused the batch of documents " + batch.get(0).getFieldValue("id") + " to "
                      + batch.get(batch.size() - 1).getFieldValue("id") + ": " + e.getMessage(),
                  e);
            }
            bar.update(done.addAndGet(batch.size()));
          }
          return null;
        }));
      }
      try (BeirCorpusReader reader = dataset.openCorpus()) {
        List<SolrInputDocument> batch = new ArrayList<>(INGEST_BATCH);
        CorpusDocument d;
        while ((d = reader.next()) != null) {
          if (subset != null && !subset.contains(d.id())) {
            continue;
          }
          SolrInputDocument doc = new SolrInputDocument();
          doc.addField("id", d.id());
          doc.addField("title", d.title());
          doc.addField("text", d.text());
          boolean all = !entries.isEmpty();
          for (int c = 0; c < entries.size(); c++) {
            EncodingCache.Entry e = entries.get(c);
            boolean has = e != null && e.contains(d.id());
            all &= has;
            if (has) {
              // the encodings as the update processor accepts a client's: a vector as a list of
              // floats, token vectors as float32 bytes (one binary value in javabin, no text to parse)
              doc.addField(cached.get(c).sendField(), EncodingCache.TOKENS.equals(e.key.kind()) ? e.bytes(d.id()) : floatList(e.floats(d.id())));
            }
          }
          if (all) {
            fromCache.incrementAndGet();
          }
          if (sparse != null) {
            Map<String, Float> weights = sparse.weights(d);
            if (!weights.isEmpty()) {
              // a string: Solr reads a bare map as an atomic update
              doc.addField("sparse", SparseWeightsFormat.toJson(weights));
              sparsePostings.addAndGet(weights.values().stream().filter(w -> w > 0).count());
            }
          }
          batch.add(doc);
          if (batch.size() == INGEST_BATCH) {
            putChecked(batches, batch, futures);
            batch = new ArrayList<>(INGEST_BATCH);
          }
        }
        if (!batch.isEmpty()) {
          putChecked(batches, batch, futures);
        }
      }
      for (int t = 0; t < INGEST_THREADS; t++) {
        putChecked(batches, end, futures);
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      bar.close();
      senders.shutdownNow(); // interrupts senders waiting on the queue or on Solr
      if (!senders.awaitTermination(30, TimeUnit.SECONDS)) {
        err.println("warning: an ingest thread did not stop within 30 s");
      }
    }
    new UpdateRequest().commit(client, core);
    double seconds = (System.nanoTime() - start) / 1e9;
    Map<String, Object> ingest = new LinkedHashMap<>();
    ingest.put("documents", done.get());
    ingest.put("seconds", round2(seconds));
    ingest.put("docsPerSecond", round2(done.get() / seconds));
    ingest.put("clientThreads", INGEST_THREADS);
    ingest.put("documentsPerRequest", INGEST_BATCH);
    ingest.put("updateChain", chain);
    encodings.put("documentsFromCache", fromCache.get());
    if (sparse != null) {
      ingest.put("sparsePostings", sparsePostings.get());
    }
    ingest.put("timestamp", Instant.now().toString());
    return ingest;
  }

  /** The name (and a number) of the threads that send the corpus to Solr. */
  static final String INGEST_THREAD_NAME = "neural-eval-ingest";

  /** Queues a batch, failing fast if a sender already failed instead of blocking forever. */
  private static void putChecked(BlockingQueue<List<SolrInputDocument>> q, List<SolrInputDocument> batch, List<Future<?>> senders)
      throws Exception {
    while (!q.offer(batch, 100, TimeUnit.MILLISECONDS)) {
      for (Future<?> f : senders) {
        if (f.isDone()) {
          f.get(); // throws the sender's failure
          throw new IllegalStateException("an ingest thread stopped");
        }
      }
    }
  }

  /** Runs every query over HTTP, sequentially so that latencies are per query; the first few warm up. */
  private static Map<String, Object> runQueries(
      SolrClient client,
      String core,
      Pipeline pipeline,
      Map<String, String> settings,
      Map<String, String> queries,
      Run.Builder run,
      int topK,
      PrintStream err)
      throws Exception {
    int i = 0;
    for (String text : queries.values()) {
      if (i++ == WARMUP_QUERIES) {
        break;
      }
      query(client, core, pipeline.queryParams.apply(settings, text));
    }
    long[] latencies = new long[queries.size()];
    long[] qtimes = new long[queries.size()];
    ProgressBar bar = new ProgressBar("querying", queries.size(), err);
    int n = 0;
    try {
      for (Map.Entry<String, String> q : queries.entrySet()) {
        long start = System.nanoTime();
        QueryResponse rsp = query(client, core, pipeline.queryParams.apply(settings, q.getValue()));
        latencies[n] = System.nanoTime() - start;
        qtimes[n] = rsp.getQTime();
        for (SolrDocument d : rsp.getResults()) {
          run.add(q.getKey(), (String) d.getFirstValue("id"), ((Number) d.getFirstValue("score")).doubleValue());
        }
        bar.update(++n);
      }
    } finally {
      bar.close();
    }
    Map<String, Object> timing = new LinkedHashMap<>();
    timing.put("count", n);
    timing.put("warmup", Math.min(WARMUP_QUERIES, n));
    timing.put("depth", topK);
    timing.put("latencyMs", percentiles(latencies, 1e6));
    timing.put("qtimeMs", percentiles(qtimes, 1));
    return timing;
  }

  private static QueryResponse query(SolrClient client, String core, Map<String, String> params) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    params.forEach(p::set);
    return new QueryRequest(p, SolrRequest.METHOD.POST).process(client, core);
  }

  private static Map<String, Object> percentiles(long[] values, double divisor) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("p50", round2(at(sorted, 0.50) / divisor));
    m.put("p90", round2(at(sorted, 0.90) / divisor));
    m.put("p99", round2(at(sorted, 0.99) / divisor));
    m.put("mean", round2(Arrays.stream(sorted).average().orElse(0) / divisor));
    return m;
  }

  /** Nearest-rank percentile. */
  private static double at(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /**
   * Documents, index size, and per neural field its documents and bytes on disk. Bytes per file
   * kind are read from the core's index directory, so they are reported only when the tool started
   * Solr itself (or Solr runs on this machine).
   */
  private static Map<String, Object> indexStats(
      SolrClient client, String core, Pipeline pipeline, Pipeline.Prepared prepared, Map<String, Object> ingest) throws Exception {
    CoreAdminResponse status = CoreAdminRequest.getStatus(core, client);
    NamedList<Object> coreStatus = status.getCoreStatus(core);
    @SuppressWarnings("unchecked")
    NamedList<Object> index = (NamedList<Object>) coreStatus.get("index");
    Map<String, Object> stats = new LinkedHashMap<>();
    long docs = ((Number) index.get("numDocs")).longValue();
    if ("neural-passages".equals(pipeline.updateChain)) {
      stats.put("luceneDocuments", docs); // documents and their passages
      docs = numDocs(client, core);
    }
    stats.put("documents", docs);
    stats.put("sizeBytes", ((Number) index.get("sizeInBytes")).longValue());
    Path dir = Path.of(String.valueOf(coreStatus.get("dataDir"))).resolve("index");
    Map<String, Long> byExtension = new TreeMap<>();
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.toList()) {
          String name = f.getFileName().toString();
          int dot = name.lastIndexOf('.');
          if (dot > 0 && Files.isRegularFile(f)) {
            byExtension.merge(name.substring(dot + 1), Files.size(f), Long::sum);
          }
        }
      }
      stats.put("bytesByFileExtension", byExtension);
    }
    long sparseBytes = 0;
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.filter(f -> f.getFileName().toString().contains("_NeuralSparse_")).toList()) {
          sparseBytes += Files.size(f); // the per-field postings format's files: .nsd, .nsm, .tim, .tip, .tmd
        }
      }
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    if ("neural".equals(pipeline.updateChain) || "neural-colbert".equals(pipeline.updateChain)) {
      Map<String, Object> vector = new LinkedHashMap<>();
      vector.put("type", "dense (Lucene99 HNSW, float32)");
      vector.put("documents", docs);
      vector.put("vectors", docs);
      if (!byExtension.isEmpty()) {
        // Lucene99HnswVectorsFormat: .vex graph, .vem its metadata; flat vectors .vec, .vemf metadata
        long bytes = 0;
        for (String ext : new String[] {"vec", "vemf", "vex", "vem"}) {
          bytes += byExtension.getOrDefault(ext, 0L);
        }
        vector.put("bytes", bytes);
        vector.put("bytesPerVector", docs == 0 ? 0 : round2((double) bytes / docs));
      }
      fields.put("vector", vector);
      if (Files.isDirectory(dir)) {
        stats.put("vectorData", denseVectorStats(dir));
      }
    }
    if ("neural-colbert".equals(pipeline.updateChain) && Files.isDirectory(dir)) {
      fields.put("colbert", colbertStats(dir, byExtension));
    }
    if (prepared.sparseDocuments() != null) {
      Map<String, Object> sparse = new LinkedHashMap<>();
      sparse.put("type", "sparse (NeuralSparse postings)");
      Object postings = ingest.get("sparsePostings");
      if (postings instanceof Number) {
        sparse.put("postings", postings);
        sparse.put("postingsPerDocument", round2(((Number) postings).doubleValue() / docs));
      }
      if (sparseBytes > 0) {
        sparse.put("bytes", sparseBytes);
        if (postings instanceof Number) {
          sparse.put("bytesPerPosting", round2(sparseBytes / ((Number) postings).doubleValue()));
        }
      }
      fields.put("sparse", sparse);
    }
    stats.put("neuralFields", fields);
    return stats;
  }

  /**
   * Per vector field of the committed index (read with Lucene from its directory): vectors and the
   * bytes per vector of the vector data the graph searches (int7/int4 {@code .veq}, else float32
   * {@code .vec}) and of the float32 data; the graph ({@code .vex}) is not counted.
   */
  private static Map<String, Object> denseVectorStats(Path dir) throws IOException {
    Map<String, Object> fields = new LinkedHashMap<>();
    try (FSDirectory directory = FSDirectory.open(dir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      for (org.neuralsolr.codecs.dense.DenseVectorStats.Field f : org.neuralsolr.codecs.dense.DenseVectorStats.of(reader).values()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quantized", f.quantized());
        m.put("vectors", f.vectors());
        m.put("bytesPerVector", round2(f.bytesPerVector()));
        m.put("floatBytesPerVector", round2(f.floatBytesPerVector()));
        fields.put(f.name(), m);
      }
    }
    return fields;
  }

  /** A field the tool can send precomputed: the field sent, the index field read back, the cache key. */
  record CachedField(String sendField, String indexField, EncodingCache.Key key) {}

  /**
   * The encodings a pipeline's index gets from a model, with their cache keys: the dense vector
   * ({@code neural}, {@code neural-colbert}) and the token vectors ({@code neural-colbert}, read back
   * from the float32 copy {@code colbert_nbits0}). Empty, with a warning, when the package cannot
   * be resolved here (the index is built by the model as before).
   */
  private static List<CachedField> cachedFields(Path root, String datasetName, Path datasetDir, Pipeline pipeline, Map<String, String> settings, PrintStream err)
      throws IOException {
    String ref = settings.get("package");
    boolean colbert = "neural-colbert".equals(pipeline.updateChain);
    if (ref == null || !(colbert || "neural".equals(pipeline.updateChain))) {
      return List.of();
    }
    org.neuralsolr.model.ModelPackage pkg;
    try {
      pkg = org.neuralsolr.model.ModelPackage.resolve(ref, org.neuralsolr.model.ModelRoots.of(List.of(ProxyVectors.modelsDir(root))));
    } catch (RuntimeException e) {
      err.println("WARN encoding cache: not used, package " + ref + " is not resolvable here: " + e.getMessage());
      return List.of();
    }
    String corpus = EncodingCache.sha256(datasetDir.resolve("corpus.jsonl"));
    String model = pkg.contentSha256();
    int dim = pkg.manifest.dimension;
    List<CachedField> fields = new ArrayList<>();
    fields.add(new CachedField("vector", "vector", new EncodingCache.Key(datasetName, corpus, model, EncodingCache.DENSE, dim, SOURCE_FIELDS)));
    if (colbert) {
      fields.add(new CachedField("colbert", FLOAT32_COLBERT_FIELD, new EncodingCache.Key(datasetName, corpus, model, EncodingCache.TOKENS, dim, SOURCE_FIELDS)));
    }
    return fields;
  }

  /**
   * How many of the indexed documents the pipeline's model would truncate: title + text (as the
   * update processor joins them) tokenised by the package's own tokenizer, special tokens counted,
   * against its {@code maxLength}. Null when the pipeline names no resolvable package.
   */
  private static Map<String, Object> longerThanMaxLength(Path root, BeirDataset dataset, Map<String, String> settings, Set<String> subset, PrintStream err)
      throws IOException {
    String ref = settings.get("package");
    if (ref == null) {
      return null;
    }
    org.neuralsolr.model.ModelPackage pkg;
    byte[] tokenizerJson;
    try {
      pkg = org.neuralsolr.model.ModelPackage.resolve(ref, org.neuralsolr.model.ModelRoots.of(List.of(ProxyVectors.modelsDir(root))));
      tokenizerJson = pkg.readTokenizer();
    } catch (RuntimeException e) {
      err.println("WARN documents longer than maxLength: not counted, package " + ref + ": " + e.getMessage());
      return null;
    }
    int maxLength = pkg.manifest.maxLength;
    long documents = 0;
    long longer = 0;
    try (ai.djl.huggingface.tokenizers.HuggingFaceTokenizer tokenizer =
            ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(
                new java.io.ByteArrayInputStream(tokenizerJson), Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false"));
        BeirCorpusReader reader = dataset.openCorpus()) {
      for (CorpusDocument d = reader.next(); d != null; d = reader.next()) {
        if (subset != null && !subset.contains(d.id())) {
          continue;
        }
        String text = ProxyVectors.sourceText(d);
        if (org.neuralsolr.update.SourceText.isEmpty(text)) {
          continue;
        }
        documents++;
        if (tokenizer.encode(text).getIds().length > maxLength) {
          longer++;
        }
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", pkg.manifest.name);
    m.put("maxLength", maxLength);
    m.put("documents", documents);
    m.put("longer", longer);
    m.put("share", documents == 0 ? 0 : round4((double) longer / documents));
    return m;
  }

  /** Fields whose vectors the update processor puts on passages (child documents), not on documents. */
  private static final Set<String> PASSAGE_FIELDS = Set.of("passage_vector");

  /** The configset's source fields of the neural fields (conf/solrconfig.xml). */
  private static final String SOURCE_FIELDS = "title,text";

  private static List<Float> floatList(float[] v) {
    List<Float> l = new ArrayList<>(v.length);
    for (float x : v) {
      l.add(x);
    }
    return l;
  }

  /**
   * Writes the cache entries that are missing or cover fewer documents than the index, reading the
   * stored float32 encodings back from the core's index directory with Lucene. Returns the entries
   * written; none when the index is not on this machine.
   */
  private static long fillCache(SolrClient client, String core, Path root, List<CachedField> cached, long docs, PrintStream err) throws Exception {
    if (cached.isEmpty()) {
      return 0;
    }
    Path dir = Path.of(String.valueOf(CoreAdminRequest.getStatus(core, client).getCoreStatus(core).get("dataDir"))).resolve("index");
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    EncodingCache cache = new EncodingCache(root);
    long written = 0;
    try (FSDirectory directory = FSDirectory.open(dir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      for (CachedField f : cached) {
        // documents without text have no value: the entry is complete when it has every one that has
        long withField = searcher.count(new FieldExistsQuery(f.indexField()));
        try (EncodingCache.Entry e = cache.open(f.key(), err)) {
          if (e != null && e.documents >= withField) {
            continue;
          }
        }
        written += fillCache(reader, cache, f, err);
      }
    }
    return written;
  }

  private static long fillCache(DirectoryReader reader, EncodingCache cache, CachedField f, PrintStream err) throws IOException {
    long t0 = System.nanoTime();
    long n = 0;
    {
      try (EncodingCache.Writer w = cache.writer(f.key())) {
        for (LeafReaderContext leaf : reader.leaves()) {
          org.apache.lucene.util.Bits live = leaf.reader().getLiveDocs();
          org.apache.lucene.index.StoredFields stored = leaf.reader().storedFields();
          Set<String> idOnly = Set.of("id");
          if (EncodingCache.TOKENS.equals(f.key().kind())) {
            MultiVectorValues values = MultiVectorValues.get(leaf.reader(), f.indexField());
            if (values == null) {
              continue;
            }
            for (int d = values.nextDoc(); d != org.apache.lucene.search.DocIdSetIterator.NO_MORE_DOCS; d = values.nextDoc()) {
              if (live == null || live.get(d)) {
                float[] v = values.vectors(null);
                w.add(stored.document(d, idOnly).get("id"), Arrays.copyOf(v, values.tokenCount() * values.dimension()));
                n++;
              }
            }
          } else {
            org.apache.lucene.index.FloatVectorValues values = leaf.reader().getFloatVectorValues(f.indexField());
            if (values == null) {
              continue;
            }
            for (int d = values.nextDoc(); d != org.apache.lucene.search.DocIdSetIterator.NO_MORE_DOCS; d = values.nextDoc()) {
              if (live == null || live.get(d)) {
                w.add(stored.document(d, idOnly).get("id"), values.vectorValue().clone());
                n++;
              }
            }
          }
        }
        w.commit();
      }
      err.println("encoding cache: stored " + n + " documents' " + f.key().kind() + " encodings of " + f.indexField() + " in "
          + cache.dataFile(f.key()) + " (" + round2((System.nanoTime() - t0) / 1e9) + " s)");
    }
    return 1;
  }

  /** The fields a pipeline's index fills with encodings or weights (copies included). */
  private static List<String> neuralFields(Pipeline pipeline, Pipeline.Prepared prepared) {
    List<String> fields = new ArrayList<>();
    if ("neural".equals(pipeline.updateChain) || "neural-colbert".equals(pipeline.updateChain)) {
      fields.add("vector");
    }
    if ("neural-passages".equals(pipeline.updateChain)) {
      fields.add("passage_vector"); // on the passages: the count without it includes the documents
    }
    if ("neural-colbert".equals(pipeline.updateChain)) {
      for (String nbits : Pipelines.COLBERT_NBITS) {
        fields.add(Pipelines.colbertField(nbits));
      }
    }
    if (prepared.sparseDocuments() != null) {
      fields.add("sparse");
    }
    return fields;
  }

  /**
   * Per neural field, the documents of the committed index that have no value in it: those without
   * text to encode (or, for sparse weights the tool sends, without a term). Read from the core's
   * index directory with Lucene, as the field types do not all answer an existence query over HTTP
   * ({@code DenseVectorField} refuses range queries); null when the index is not on this machine.
   */
  private static Map<String, Long> documentsWithoutNeuralField(SolrClient client, String core, List<String> fields) throws Exception {
    if (fields.isEmpty()) {
      return null;
    }
    Path dir = Path.of(String.valueOf(CoreAdminRequest.getStatus(core, client).getCoreStatus(core).get("dataDir"))).resolve("index");
    if (!Files.isDirectory(dir)) {
      return null;
    }
    Map<String, Long> without = new LinkedHashMap<>();
    try (FSDirectory directory = FSDirectory.open(dir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      FieldInfos infos = FieldInfos.getMergedFieldInfos(reader);
      for (String field : fields) {
        FieldInfo info = infos.fieldInfo(field);
        long with;
        if (info == null) {
          with = 0; // no document has it
        } else if (info.getVectorDimension() > 0 || info.getDocValuesType() != DocValuesType.NONE || info.hasNorms()) {
          with = searcher.count(new FieldExistsQuery(field));
        } else {
          with = searcher.count(new TermRangeQuery(field, null, null, true, true)); // any term: the sparse field
        }
        if (PASSAGE_FIELDS.contains(field)) {
          // the vectors are on the passages: documents without text have no first passage
          long passages = with;
          long documentsWithPassages = searcher.count(org.apache.lucene.document.IntPoint.newExactQuery("passage_i", 0));
          without.put(field, reader.numDocs() - passages - documentsWithPassages);
          continue;
        }
        without.put(field, reader.numDocs() - with);
      }
    }
    return without;
  }

  /**
   * The token vectors of every multi-vector field of the index, read from the index directory with
   * Lucene (read-only, after the commit), and what each costs per token vector: the field's own
   * bytes in the NeuralMultiVector files (.mvd data and postings, .mvc codebooks, from {@link
   * MultiVectorValues#storedBytes}), with and without its codebooks. The files' headers, footers and
   * .mvm metadata, shared by the fields, are reported once as {@code sharedFileBytes}.
   */
  static Map<String, Object> colbertStats(Path dir, Map<String, Long> byExtension) throws IOException {
    Map<String, long[]> counts = new HashMap<>(); // field -> tokens, docs, bytes, codebook bytes, untrained tokens
    Map<String, Integer> nbitsOf = new HashMap<>();
    Map<String, Integer> configuredNbits = new HashMap<>();
    Map<String, List<Integer>> storedNbits = new HashMap<>();
    Map<String, Set<String>> codebookIds = new HashMap<>();
    try (FSDirectory directory = FSDirectory.open(dir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      int segments = reader.leaves().size();
      for (LeafReaderContext leaf : reader.leaves()) {
        for (FieldInfo info : leaf.reader().getFieldInfos()) {
          if (info.getAttribute(MultiVectorField.DIMENSION_ATTRIBUTE) == null) {
            continue;
          }
          MultiVectorValues values = MultiVectorValues.get(leaf.reader(), info.name);
          if (values == null) {
            continue;
          }
          long[] c = counts.computeIfAbsent(info.name, k -> new long[5]);
          c[0] += values.totalTokenCount();
          c[1] += values.docCount();
          c[2] += values.storedBytes();
          c[3] += values.codebookBytes();
          nbitsOf.put(info.name, values.nbits());
          // a segment below the field's trainingThreshold keeps float32 (nbits 0) until a merge that
          // reaches it, or an optimize, trains the codebook: say so rather than report float32 costs
          // under the configured nbits
          int configured = Integer.parseInt(info.getAttribute(MultiVectorField.NBITS_ATTRIBUTE));
          configuredNbits.put(info.name, configured);
          storedNbits.computeIfAbsent(info.name, k -> new ArrayList<>()).add(values.nbits());
          if (values.nbits() != configured) {
            c[4] += values.totalTokenCount();
          }
          for (ResidualCodebook codebook : values.codebooks()) {
            codebookIds.computeIfAbsent(info.name, k -> new java.util.TreeSet<>()).add(HexFormat.of().formatHex(codebook.id()));
          }
        }
      }
      return colbertStats(reader, segments, counts, nbitsOf, configuredNbits, storedNbits, codebookIds, byExtension);
    }
  }

  private static Map<String, Object> colbertStats(
      DirectoryReader reader,
      int segments,
      Map<String, long[]> counts,
      Map<String, Integer> nbitsOf,
      Map<String, Integer> configuredNbits,
      Map<String, List<Integer>> storedNbits,
      Map<String, Set<String>> codebookIds,
      Map<String, Long> byExtension)
      throws IOException {
    Map<String, Map<String, Object>> perField = new TreeMap<>();
    long fieldBytes = 0;
    for (Map.Entry<String, long[]> e : counts.entrySet()) {
      long[] c = e.getValue();
      int nbits = nbitsOf.get(e.getKey());
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("type", "multivector (NeuralMultiVector, nbits " + nbits + ")");
      f.put("nbits", nbits);
      f.put("configuredNbits", configuredNbits.get(e.getKey()));
      f.put("storedNbitsPerSegment", storedNbits.get(e.getKey()));
      f.put("documents", c[1]);
      f.put("tokenVectors", c[0]);
      f.put("untrainedTokenVectors", c[4]);
      f.put("segments", segments);
      // every segment stores its codebooks in its own .mvc: distinct ids say how many were trained
      f.put("distinct_codebooks", codebookIds.getOrDefault(e.getKey(), Set.of()).size());
      f.put("bytes", c[2]);
      f.put("bytes_per_token_vector", c[0] == 0 ? 0 : round2((double) c[2] / c[0]));
      f.put("codebook_bytes", c[3]);
      f.put("bytes_per_token_vector_without_codebooks", c[0] == 0 ? 0 : round2((double) (c[2] - c[3]) / c[0]));
      perField.put(e.getKey(), f);
      fieldBytes += c[2];
    }
    if (counts.containsKey(FLOAT32_COLBERT_FIELD)) {
      addFidelity(reader, perField);
    }
    Map<String, Object> colbert = new LinkedHashMap<>(perField);
    long files = 0;
    for (String ext : new String[] {"mvd", "mvc", "mvm"}) {
      files += byExtension.getOrDefault(ext, 0L);
    }
    colbert.put("sharedFileBytes", files - fieldBytes);
    return colbert;
  }

  /** The ColBERT index's float32 copy of the token vectors (see {@link Pipelines#colbertField}). */
  private static final String FLOAT32_COLBERT_FIELD = Pipelines.colbertField("0");

  /** Documents, spread evenly over the index, whose token vectors {@link #addFidelity} compares. */
  private static final int FIDELITY_DOCS = 300;

  /**
   * How close each compressed field's vectors are to the float32 field's (the same encodings): the
   * mean cosine of a decoded token vector to its float32 original, and of the original to the
   * centroid it was assigned (what the codebook alone explains), over every token of {@value
   * #FIDELITY_DOCS} documents spread evenly over the index.
   */
  private static void addFidelity(DirectoryReader reader, Map<String, Map<String, Object>> perField) throws IOException {
    int step = Math.max(1, reader.maxDoc() / FIDELITY_DOCS);
    for (String field : perField.keySet()) {
      if (field.equals(FLOAT32_COLBERT_FIELD)) {
        continue;
      }
      double decodedCos = 0;
      double centroidCos = 0;
      long tokens = 0;
      int docs = 0;
      for (LeafReaderContext leaf : reader.leaves()) {
        MultiVectorValues exact = MultiVectorValues.get(leaf.reader(), FLOAT32_COLBERT_FIELD);
        MultiVectorValues compressed = MultiVectorValues.get(leaf.reader(), field);
        if (exact == null || compressed == null) {
          continue;
        }
        int dim = exact.dimension();
        float[] centroid = new float[dim];
        for (int doc = 0; doc < leaf.reader().maxDoc(); doc += step) {
          if (!exact.advanceExact(doc) || !compressed.advanceExact(doc)) {
            continue;
          }
          float[] e = exact.vectors(null);
          float[] d = compressed.vectors(null);
          int[] ids = compressed.centroidIds(null);
          ResidualCodebook codebook = compressed.codebooks().get(compressed.codebookOrd());
          for (int t = 0; t < ids.length; t++) {
            codebook.centroid(ids[t], centroid);
            decodedCos += cosine(e, t * dim, d, t * dim, dim);
            centroidCos += cosine(e, t * dim, centroid, 0, dim);
            tokens++;
          }
          docs++;
        }
      }
      Map<String, Object> f = perField.get(field);
      f.put("decodedCosineToFloat32", tokens == 0 ? 0 : round4(decodedCos / tokens));
      f.put("centroidCosineToFloat32", tokens == 0 ? 0 : round4(centroidCos / tokens));
      f.put("fidelitySample", docs + " documents, " + tokens + " token vectors");
    }
  }

  private static double cosine(float[] a, int ao, float[] b, int bo, int dim) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int j = 0; j < dim; j++) {
      dot += a[ao + j] * b[bo + j];
      na += a[ao + j] * a[ao + j];
      nb += b[bo + j] * b[bo + j];
    }
    return dot / Math.sqrt(na * nb);
  }

  private static Map<String, Object> metricsMap(MetricsReport m) {
    Map<String, Object> out = new LinkedHashMap<>();
    RankingMetrics mean = m.mean();
    out.put("ndcg@10", round4(mean.ndcgAt10()));
    out.put("recall@100", round4(mean.recallAt100()));
    out.put("map", round4(mean.averagePrecision()));
    out.put("P@10", round4(mean.precisionAt10()));
    out.put("recip_rank", round4(mean.reciprocalRank()));
    out.put("queriesEvaluated", m.perQuery().size());
    out.put("queriesMissingFromRun", m.queriesMissingFromRun().size());
    return out;
  }

  private static double round4(double v) {
    return Math.round(v * 10_000) / 10_000.0;
  }

  private static double round2(double v) {
    return Math.round(v * 100) / 100.0;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Command-line options. */
  static final class Options {
    static final String USAGE =
        "usage: neural-eval --dataset DIR --pipeline NAME [--split test] [--solr URL] [--out FILE] [--param key=value]... [--baseline REPORT.json]\n"
            + "       neural-eval --dataset DIR --task localize [--split test] [--out FILE] [--param method=dense|maxsim|cross-encoder] [--param encode=document|sentences] [--param model=NAME package=REF]\n"
            + "       neural-eval --results DIR [--out FILE]   (regenerate the results table from JSON reports)\n"
            + "pipelines: " + Pipeline.names();
    String[] args;
    Path dataset;
    String pipeline;
    String split = "test";
    String solrUrl;
    Path out;
    Path resultsDir;
    Path baseline;
    /** {@code localize}: the neural highlighter's evidence finding instead of retrieval; null: retrieval. */
    String task;
    final Map<String, String> params = new LinkedHashMap<>();

    /** A command line the tool cannot read: the usage is printed after the reason. */
    static final class CommandLineException extends IllegalArgumentException {
      CommandLineException(String message) {
        super(message);
      }
    }

    static Options parse(String[] args) {
      Options o = new Options();
      o.args = args;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (i + 1 >= args.length) {
          throw new CommandLineException("option " + a + " needs a value");
        }
        String v = args[++i];
        switch (a) {
          case "--dataset":
            o.dataset = Path.of(v);
            break;
          case "--pipeline":
            o.pipeline = v;
            break;
          case "--task":
            if (!v.equals("localize")) {
              throw new CommandLineException("--task must be localize, got '" + v + "'");
            }
            o.task = v;
            break;
          case "--split":
            o.split = v;
            break;
          case "--solr":
            o.solrUrl = v;
            break;
          case "--out":
            o.out = Path.of(v).toAbsolutePath();
            break;
          case "--results":
            o.resultsDir = Path.of(v);
            break;
          case "--baseline":
            o.baseline = Path.of(v).toAbsolutePath();
            break;
          case "--param":
            int eq = v.indexOf('=');
            if (eq <= 0) {
              throw new CommandLineException("--param needs key=value, got '" + v + "'");
            }
            o.params.put(v.substring(0, eq), v.substring(eq + 1));
            break;
          default:
            throw new CommandLineException("unknown option " + a);
        }
      }
      if (o.task != null && (o.dataset == null || o.pipeline != null)) {
        throw new CommandLineException("--task localize needs --dataset and no --pipeline");
      }
      if (o.resultsDir == null && o.task == null && (o.dataset == null || o.pipeline == null)) {
        throw new CommandLineException("--dataset and --pipeline are required");
      }
      return o;
    }
  }
}
