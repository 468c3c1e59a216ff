package org.neuralsolr.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.neuralsolr.eval.BeirCorpusReader;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.CorpusDocument;
import org.neuralsolr.eval.Machine;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code ./neural-bench localize}: what the neural highlighter adds to a request of 10 hits, per
 * {@code hl.neural.method}, against the same search without highlighting, in one run.
 *
 * <ul>
 *   <li>{@code maxsim} on {@code {!colbert}}: the highlighter reads the token vectors the query
 *       scored and the query's token vectors from the encoder's cache, so it should add little.
 *   <li>{@code maxsim-sentences} on {@code {!colbert}}: {@code maxsim} with {@code
 *       hl.neural.encode=sentences}, every sentence of the 10 hits through the model.
 *   <li>{@code dense} on {@code {!dense}}: every sentence of the 10 hits through the model.
 *   <li>{@code cross-encoder} on {@code {!dense}}: every (claim, sentence) pair through the {@code
 *       tiny-cross-encoder} parity fixture (BERT, hidden 24, 2 layers): no real cross-encoder
 *       weights can be obtained here, so its cost is a fast model's, far below a real one's.
 * </ul>
 *
 * <p>Index: the first {@code -Dneural.localize.docs} (300) SciFact abstracts through the {@code
 * neural-colbert} chain with bge-small-en-v1.5 int8, a codebook of 256 centroids trained at the
 * first flush, nbits 2. Per method, its own claims (so that no request is answered from a cache
 * filled by another method), each sent once plain and once highlighted, alternating which goes
 * first; the two sides' texts carry different suffixes ({@code " (1)"}, {@code " (2)"}, the same
 * number of tokens) so that neither Solr's result cache nor the encoders' query caches answer one
 * side with the other's work. Warm-up: 3 claims per method. Repetitions: {@code
 * -Dneural.localize.queries} (30) claims per method. Reported per method: request p50 with and
 * without highlighting, their ratio, and the highlight component's own p50 ({@code debug=timing}).
 * {@code -Dneural.localize.methods} (all four) picks methods, e.g. {@code maxsim} alone to profile it.
 */
final class LocalizeBench {
  static final String CORE = "localize";
  private static final int WARMUP = 3;
  static final List<String> METHODS = List.of("maxsim", "maxsim-sentences", "dense", "cross-encoder");

  private LocalizeBench() {}

  static Map<String, Object> run(Path root, Path data) throws Exception {
    return run(root, data, root.resolve(".eval"));
  }

  /**
   * @param root the repository (its {@code conf/} and the parity fixtures)
   * @param work where the configset copy and Solr home go
   */
  static Map<String, Object> run(Path root, Path data, Path work) throws Exception {
    int docs = Integer.getInteger("neural.localize.docs", 300);
    int queries = Integer.getInteger("neural.localize.queries", 30);
    List<String> methods = List.of(System.getProperty("neural.localize.methods", String.join(",", METHODS)).split(","));
    if (methods.isEmpty() || !METHODS.containsAll(methods)) {
      throw new IllegalArgumentException("-Dneural.localize.methods must list some of " + METHODS + ", got " + methods);
    }
    Path parity = root.resolve("solr-plugin/src/test/resources/parity").toAbsolutePath().normalize();
    Path conf = work.resolve("bench-localize-conf");
    Path home = work.resolve("bench-localize-home");
    NeuralBench.deleteRecursively(conf);
    NeuralBench.deleteRecursively(home);
    Files.createDirectories(conf);
    try (var files = Files.list(root.resolve("conf"))) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    // as a user adds a model to the registry in solrconfig.xml
    Path solrconfig = conf.resolve("solrconfig.xml");
    String anchor = "<lst name=\"models\">";
    Files.writeString(solrconfig, Files.readString(solrconfig, StandardCharsets.UTF_8)
        .replace(anchor, anchor + "\n      <lst name=\"ce\"><str name=\"package\">tiny-cross-encoder/neural-model.json</str></lst>"),
        StandardCharsets.UTF_8);

    NeuralBench.header("localize", "highlighted request p50 / plain request p50, 10 hits, per hl.neural.method",
        docs + " SciFact abstracts (neural-colbert chain, bge-small-en-v1.5 int8, nbits 2, 256 centroids); per method its own "
            + queries + " SciFact claims; cross-encoder = the tiny-cross-encoder parity fixture",
        WARMUP + " claims per method", queries + " claims per method, each once per side, sides alternating");
    List<String> claims = new ArrayList<>(BeirDataset.at(data).queries().values());
    int perMethod = WARMUP + queries;
    if (claims.size() < METHODS.size() * perMethod) {
      throw new IllegalArgumentException("need " + METHODS.size() * perMethod + " claims, the dataset has " + claims.size());
    }
    Map<String, Object> results = new LinkedHashMap<>();
    System.setProperty("neural.model.roots", parity.toString());
    try (LocalSolr solr = LocalSolr.start(home, conf, 0)) {
      Map<String, String> props = new LinkedHashMap<>();
      props.put("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
      props.put("neural.colbert.trainingThreshold", "0");
      props.put("neural.colbert.centroids", "256");
      solr.createCore(CORE, props);
      results.put("documents", index(solr, data, docs));
      results.put("queriesPerMethod", queries);
      String colbert = "{!colbert f=colbert model=bge-small topK=10}";
      String denseQuery = "{!dense f=vector model=bge-small topK=10}";
      Map<String, String> maxsim = Map.of("hl.neural.method", "maxsim");
      Map<String, String> sentences = Map.of("hl.neural.method", "maxsim", "hl.neural.encode", "sentences");
      Map<String, String> dense = Map.of("hl.neural.method", "dense");
      Map<String, String> ce = Map.of("hl.neural.method", "cross-encoder", "hl.neural.model", "ce");
      for (int m = 0; m < METHODS.size(); m++) {
        String name = METHODS.get(m);
        if (!methods.contains(name)) {
          continue;
        }
        // each method its own claims, whichever are measured
        List<String> own = claims.subList(m * perMethod, (m + 1) * perMethod);
        switch (name) {
          case "maxsim" -> results.put(name, method(solr, name, colbert, maxsim, own));
          case "maxsim-sentences" -> results.put(name, method(solr, name, colbert, sentences, own));
          case "dense" -> results.put(name, method(solr, name, denseQuery, dense, own));
          default -> results.put(name, method(solr, name, denseQuery, ce, own));
        }
      }
    } finally {
      System.clearProperty("neural.model.roots");
    }
    List<String> ratios = new ArrayList<>();
    for (String name : METHODS) {
      if (results.containsKey(name)) {
        String over = name.startsWith("maxsim") ? "colbert" : "dense";
        ratios.add(name.replace("maxsim-", "maxsim_") + "_over_" + over + "=" + ratio(results, name));
      }
    }
    String summary = String.join(" ", ratios);
    results.put("summary", summary);
    System.out.println(summary);
    return results;
  }

  private static Object ratio(Map<String, Object> results, String method) {
    return ((Map<?, ?>) results.get(method)).get("ratioHighlightedOverPlainP50");
  }

  private static int index(LocalSolr solr, Path data, int docs) throws Exception {
    long t0 = System.nanoTime();
    List<SolrInputDocument> batch = new ArrayList<>();
    int n = 0;
    try (BeirCorpusReader reader = BeirDataset.at(data).openCorpus()) {
      CorpusDocument d;
      while (n < docs && (d = reader.next()) != null) {
        batch.add(new SolrInputDocument("id", d.id(), "title", d.title(), "text", d.text()));
        n++;
        if (batch.size() == 32) {
          send(solr, batch);
          batch = new ArrayList<>();
        }
      }
    }
    if (!batch.isEmpty()) {
      send(solr, batch);
    }
    new UpdateRequest().commit(solr.client(), CORE);
    System.out.println("   indexed " + n + " abstracts in " + Math.round((System.nanoTime() - t0) / 1e9) + " s");
    return n;
  }

  private static void send(LocalSolr solr, List<SolrInputDocument> batch) throws Exception {
    UpdateRequest add = new UpdateRequest();
    add.add(batch);
    add.setParam("update.chain", "neural-colbert");
    add.process(solr.client(), CORE);
  }

  /**
   * One method: per claim, {@code q} alone and {@code q} with the highlighter, sides alternating
   * which goes first. Fails if a highlighted request returns hits without their snippets, so the
   * bench never times a highlighter that did nothing.
   */
  private static Map<String, Object> method(LocalSolr solr, String name, String queryPrefix, Map<String, String> hl, List<String> claims)
      throws Exception {
    int n = claims.size() - WARMUP;
    long[] plain = new long[n];
    long[] highlighted = new long[n];
    long[] stage = new long[n];
    // per side, Solr's own time (debug=timing): the whole request and each component (prepare +
    // process), to tell the highlight stage from what else the highlighted request costs
    Map<String, long[]> plainServer = new LinkedHashMap<>();
    Map<String, long[]> highlightedServer = new LinkedHashMap<>();
    int snippets = 0;
    String loadBefore = Machine.loadAverage();
    for (int i = 0; i < claims.size(); i++) {
      ModifiableSolrParams p = request(queryPrefix + claims.get(i) + " (1)");
      ModifiableSolrParams h = request(queryPrefix + claims.get(i) + " (2)");
      h.set("hl", "true").set("hl.method", "neural").set("hl.fl", "text");
      hl.forEach(h::set);
      long a;
      long b;
      NamedList<Object> rsp;
      NamedList<Object> plainRsp;
      long t0 = System.nanoTime();
      if (i % 2 == 0) {
        rsp = query(solr, h);
        a = System.nanoTime() - t0;
        t0 = System.nanoTime();
        plainRsp = query(solr, p);
        b = System.nanoTime() - t0;
      } else {
        plainRsp = query(solr, p);
        b = System.nanoTime() - t0;
        t0 = System.nanoTime();
        rsp = query(solr, h);
        a = System.nanoTime() - t0;
      }
      int hits = ((org.apache.solr.common.SolrDocumentList) rsp.get("response")).size();
      int returned = countSnippets(rsp);
      if (hits == 0 || returned != hits) {
        throw new IllegalStateException(name + ": " + hits + " hits but " + returned + " with a snippet for claim " + i);
      }
      if (i >= WARMUP) {
        highlighted[i - WARMUP] = a;
        plain[i - WARMUP] = b;
        stage[i - WARMUP] = Math.round(highlightMillis(rsp) * 1e6);
        serverTimes(plainRsp, plainServer, i - WARMUP, n);
        serverTimes(rsp, highlightedServer, i - WARMUP, n);
        snippets += returned;
      }
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("plainP50Ms", round(NeuralBench.median(plain) / 1e6));
    r.put("highlightedP50Ms", round(NeuralBench.median(highlighted) / 1e6));
    r.put("highlightStageP50Ms", round(NeuralBench.median(stage) / 1e6));
    r.put("ratioHighlightedOverPlainP50", round(NeuralBench.median(highlighted) / NeuralBench.median(plain)));
    r.put("hitsHighlighted", snippets);
    r.put("serverP50MsPlain", medians(plainServer));
    r.put("serverP50MsHighlighted", medians(highlightedServer));
    r.put("loadAverage", loadBefore + " before / " + Machine.loadAverage() + " after");
    System.out.println("   " + name + " (" + queryPrefix + "... " + hl + "):");
    NeuralBench.print(r);
    return r;
  }

  private static ModifiableSolrParams request(String q) {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", q);
    p.set("rows", 10);
    p.set("fl", "id,score");
    p.set("debug", "timing");
    return p;
  }

  private static NamedList<Object> query(LocalSolr solr, ModifiableSolrParams p) throws Exception {
    return solr.client().request(new QueryRequest(p, SolrRequest.METHOD.POST), CORE);
  }

  /** Hits with at least one snippet in Solr's highlighting section. */
  @SuppressWarnings("unchecked")
  private static int countSnippets(NamedList<Object> rsp) {
    NamedList<Object> highlighting = (NamedList<Object>) rsp.get("highlighting");
    int n = 0;
    for (int i = 0; highlighting != null && i < highlighting.size(); i++) {
      Object text = ((NamedList<Object>) highlighting.getVal(i)).get("text");
      if (text instanceof List<?> l && !l.isEmpty()) {
        n++;
      }
    }
    return n;
  }

  /**
   * Solr's time for the request ({@code total}) and per search component ({@code prepare} +
   * {@code process}) from {@code debug=timing}, into {@code into[key][at]} in nanoseconds.
   */
  @SuppressWarnings("unchecked")
  private static void serverTimes(NamedList<Object> rsp, Map<String, long[]> into, int at, int n) {
    NamedList<Object> timing = (NamedList<Object>) ((NamedList<Object>) rsp.get("debug")).get("timing");
    into.computeIfAbsent("total", k -> new long[n])[at] = Math.round(((Number) timing.get("time")).doubleValue() * 1e6);
    for (String phase : List.of("prepare", "process")) {
      NamedList<Object> components = (NamedList<Object>) timing.get(phase);
      for (int c = 0; c < components.size(); c++) {
        if (components.getName(c).equals("time")) {
          continue;
        }
        double ms = ((Number) ((NamedList<Object>) components.getVal(c)).get("time")).doubleValue();
        into.computeIfAbsent(components.getName(c), k -> new long[n])[at] += Math.round(ms * 1e6);
      }
    }
  }

  private static Map<String, Object> medians(Map<String, long[]> times) {
    Map<String, Object> out = new LinkedHashMap<>();
    times.forEach((k, v) -> out.put(k, round(NeuralBench.median(v) / 1e6)));
    return out;
  }

  /** The highlight component's process time ({@code debug=timing}). */
  @SuppressWarnings("unchecked")
  private static double highlightMillis(NamedList<Object> rsp) {
    NamedList<Object> timing = (NamedList<Object>) ((NamedList<Object>) rsp.get("debug")).get("timing");
    NamedList<Object> process = (NamedList<Object>) timing.get("process");
    return ((Number) ((NamedList<Object>) process.get("highlight")).get("time")).doubleValue();
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
