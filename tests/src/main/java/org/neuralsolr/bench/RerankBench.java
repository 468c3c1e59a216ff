package org.neuralsolr.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.neuralsolr.eval.BeirCorpusReader;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.CorpusDocument;
import org.neuralsolr.eval.Pipelines;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code ./neural-bench rerank}: {@code {!neural_rerank}} measured on SciFact.
 *
 * <ul>
 *   <li>Cross-encoder throughput: pairs/s through Solr (whole request: BM25 first stage, stored
 *       text, tokenisation, model, combination, response) and of the re-ranking stage alone (the
 *       plugin's own timing, {@code debug=timing}), over the raw engine (the tokenizer's pair
 *       encoding and ONNX Runtime's Java API, batches of 32) on the very same (query, title + text)
 *       pairs in the same run. The model is the {@code tiny-cross-encoder} parity fixture (BERT,
 *       hidden 24, 2 layers, maxLength 32): no real cross-encoder weights can be obtained here, so
 *       the ratio measures the plugin's overhead around a fast model, a worst case for the ratio.
 *   <li>Re-rank latency for 100 documents, per mode: the request with {@code rq} against the same
 *       request without it, and the re-ranking stage alone.
 * </ul>
 *
 * Index: the first {@value #DOCS} SciFact abstracts through the neural update processor
 * (bge-small-en-v1.5 fp32). Queries: SciFact claims in file order, each used once per measurement
 * so that Solr's result cache never answers.
 */
final class RerankBench {
  static final String CORE = "rerank";
  static final int DOCS = 600;
  static final int WINDOW = 100;

  private RerankBench() {}

  static Map<String, Object> run(Path root, Path data) throws Exception {
    Path parity = root.resolve("solr-plugin/src/test/resources/parity").toAbsolutePath().normalize();
    Path conf = root.resolve(".eval/bench-rerank-conf");
    Path home = root.resolve(".eval/bench-rerank-home");
    NeuralBench.deleteRecursively(conf);
    NeuralBench.deleteRecursively(home);
    Files.createDirectories(conf);
    try (var files = Files.list(root.resolve("conf"))) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    addModels(conf, Map.of("ce", "tiny-cross-encoder/neural-model.json", "stories", "stories260k/neural-model.json"));
    System.setProperty("neural.model.roots", parity.toString());
    List<String> queries = new ArrayList<>(BeirDataset.at(data).queries().values());
    Map<String, Object> results = new LinkedHashMap<>();
    try (LocalSolr solr = LocalSolr.start(home, conf, 0)) {
      solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5"));
      index(solr, data);
      results.put("crossEncoderThroughput", throughput(solr, parity.resolve("tiny-cross-encoder"), queries.subList(0, 70)));
      Map<String, Object> latency = new LinkedHashMap<>();
      latency.put("dense (stored vectors, bge-small)", latency(solr, "{!neural_rerank model=bge-small f=vector reRankDocs=100}", queries.subList(100, 133)));
      latency.put("cross-encoder (tiny fixture)", latency(solr, "{!neural_rerank model=ce reRankDocs=100}", queries.subList(140, 173)));
      latency.put("causal-lm (stories260K)", latency(solr, "{!neural_rerank model=stories reRankDocs=100}", queries.subList(180, 213)));
      latency.put("multivector (bge-small token states encoded at query time)",
          latency(solr, "{!neural_rerank model=bge-small mode=multivector reRankDocs=100}", queries.subList(220, 233)));
      results.put("rerankLatency100Docs", latency);
    } finally {
      System.clearProperty("neural.model.roots");
    }
    return results;
  }

  /** As a user adds models to the registry in solrconfig.xml. */
  private static void addModels(Path conf, Map<String, String> models) throws Exception {
    Path solrconfig = conf.resolve("solrconfig.xml");
    String xml = Files.readString(solrconfig, StandardCharsets.UTF_8);
    StringBuilder entries = new StringBuilder();
    models.forEach((name, pkg) -> entries.append("\n      <lst name=\"").append(name).append("\"><str name=\"package\">").append(pkg).append("</str></lst>"));
    String anchor = "<lst name=\"models\">";
    Files.writeString(solrconfig, xml.replace(anchor, anchor + entries), StandardCharsets.UTF_8);
  }

  private static void index(LocalSolr solr, Path data) throws Exception {
    long t0 = System.nanoTime();
    List<SolrInputDocument> batch = new ArrayList<>();
    int n = 0;
    try (BeirCorpusReader reader = BeirDataset.at(data).openCorpus()) {
      CorpusDocument d;
      while (n < DOCS && (d = reader.next()) != null) {
        SolrInputDocument doc = new SolrInputDocument();
        doc.addField("id", d.id());
        doc.addField("title", d.title());
        doc.addField("text", d.text());
        batch.add(doc);
        n++;
        if (batch.size() == 64 || n == DOCS) {
          new UpdateRequest().add(batch).process(solr.client(), CORE);
          batch = new ArrayList<>();
        }
      }
    }
    new UpdateRequest().commit(solr.client(), CORE);
    System.out.println("   indexed " + n + " abstracts in " + Math.round((System.nanoTime() - t0) / 1e9) + " s");
  }

  /**
   * Workload: per claim, the BM25 top 100 (the request's own first stage) re-ranked by the tiny
   * cross-encoder through Solr, and the same 100 (claim, title + text) pairs scored by the raw
   * engine, in BM25 order and sorted by length. Warm-up: 10 claims. Repetitions: 60 claims, each
   * once, sides alternating which goes first.
   */
  private static Map<String, Object> throughput(LocalSolr solr, Path model, List<String> claims) throws Exception {
    NeuralBench.header("rerank/cross-encoder", "cross-encoder pairs/s through Solr / raw engine on the same pairs (tiny-cross-encoder fixture)",
        "SciFact claims, BM25 top 100 of " + DOCS + " abstracts each", "10 claims", "60 claims, each once, sides alternating");
    long pairs = 0;
    double requestSeconds = 0;
    double stageSeconds = 0;
    double rawSeconds = 0;
    double rawSortedSeconds = 0;
    double maxDiff = 0;
    try (RawCrossEncoder raw = new RawCrossEncoder(model, 32)) {
      for (int i = 0; i < claims.size(); i++) {
        String claim = claims.get(i);
        boolean measure = i >= 10;
        // the same pairs: the first stage's top 100 with their stored text (not timed)
        QueryResponse first = query(solr, firstStage(claim, WINDOW).add("fl", "id,title,text"));
        List<String> ids = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (SolrDocument d : first.getResults()) {
          ids.add((String) d.getFirstValue("id"));
          texts.add(d.getFirstValue("title") + " " + d.getFirstValue("text"));
        }
        ModifiableSolrParams reranked = firstStage(claim, WINDOW);
        reranked.set("rq", "{!neural_rerank model=ce reRankDocs=" + WINDOW + "}").set("rq.text", claim).set("fl", "id,score").set("debug", "timing");
        long t0;
        QueryResponse rsp;
        float[] rawScores;
        long solrNanos;
        long rawNanos;
        if (i % 2 == 0) {
          t0 = System.nanoTime();
          rsp = query(solr, reranked);
          solrNanos = System.nanoTime() - t0;
          t0 = System.nanoTime();
          rawScores = raw.score(claim, texts, 32, false);
          rawNanos = System.nanoTime() - t0;
        } else {
          t0 = System.nanoTime();
          rawScores = raw.score(claim, texts, 32, false);
          rawNanos = System.nanoTime() - t0;
          t0 = System.nanoTime();
          rsp = query(solr, reranked);
          solrNanos = System.nanoTime() - t0;
        }
        t0 = System.nanoTime();
        raw.score(claim, texts, 32, true);
        long rawSortedNanos = System.nanoTime() - t0;
        Map<String, Float> solrScores = new LinkedHashMap<>();
        for (SolrDocument d : rsp.getResults()) {
          solrScores.put((String) d.getFirstValue("id"), (Float) d.getFirstValue("score"));
        }
        for (int j = 0; j < ids.size(); j++) {
          maxDiff = Math.max(maxDiff, Math.abs(solrScores.get(ids.get(j)) - rawScores[j]));
        }
        if (measure) {
          pairs += ids.size();
          requestSeconds += solrNanos / 1e9;
          stageSeconds += rerankMillis(rsp) / 1e3;
          rawSeconds += rawNanos / 1e9;
          rawSortedSeconds += rawSortedNanos / 1e9;
        }
      }
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("pairs", pairs);
    r.put("solrRequestPairsPerSecond", round(pairs / requestSeconds));
    r.put("solrRerankStagePairsPerSecond", round(pairs / stageSeconds));
    r.put("rawPairsPerSecond", round(pairs / rawSeconds));
    r.put("rawLengthSortedPairsPerSecond", round(pairs / rawSortedSeconds));
    r.put("ratioRerankStageOverRaw", round(rawSeconds / stageSeconds));
    r.put("ratioSolrRequestOverRaw", round(rawSeconds / requestSeconds));
    r.put("maxScoreDifferenceSolrVsRaw", maxDiff);
    NeuralBench.print(r);
    return r;
  }

  /**
   * Workload: per claim, the request with {@code rq} (rows 10) and the same request without it.
   * Warm-up: 3 claims. Repetitions: the rest, each claim once per side, sides alternating.
   */
  private static Map<String, Object> latency(LocalSolr solr, String rq, List<String> claims) throws Exception {
    NeuralBench.header("rerank/latency " + rq, "re-rank latency, 100 documents", "SciFact claims, BM25 top 100 of " + DOCS + " abstracts",
        "3 claims", (claims.size() - 3) + " claims, each once per side, sides alternating");
    int n = claims.size() - 3;
    long[] with = new long[n];
    long[] without = new long[n];
    long[] stage = new long[n];
    for (int i = 0; i < claims.size(); i++) {
      String claim = claims.get(i);
      ModifiableSolrParams reranked = firstStage(claim, 10);
      reranked.set("rq", rq).set("rq.text", claim).set("fl", "id,score").set("debug", "timing");
      ModifiableSolrParams plain = firstStage(claim, 10);
      plain.set("fl", "id,score");
      long a;
      long b;
      QueryResponse rsp;
      long t0 = System.nanoTime();
      if (i % 2 == 0) {
        rsp = query(solr, reranked);
        a = System.nanoTime() - t0;
        t0 = System.nanoTime();
        query(solr, plain);
        b = System.nanoTime() - t0;
      } else {
        query(solr, plain);
        b = System.nanoTime() - t0;
        t0 = System.nanoTime();
        rsp = query(solr, reranked);
        a = System.nanoTime() - t0;
      }
      if (i >= 3) {
        with[i - 3] = a;
        without[i - 3] = b;
        stage[i - 3] = Math.round(rerankMillis(rsp) * 1e6);
      }
    }
    Arrays.sort(stage);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("requestWithRerankP50Ms", round(NeuralBench.median(with) / 1e6));
    r.put("requestWithoutRerankP50Ms", round(NeuralBench.median(without) / 1e6));
    r.put("rerankStageP50Ms", round(NeuralBench.median(stage) / 1e6));
    r.put("rerankStageMaxMs", round(stage[stage.length - 1] / 1e6));
    NeuralBench.print(r);
    return r;
  }

  private static ModifiableSolrParams firstStage(String claim, int rows) {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", Pipelines.keywordQuery(claim));
    p.set("defType", "edismax");
    p.set("qf", "contents");
    p.set("q.op", "OR");
    p.set("mm", "0");
    p.set("rows", rows);
    return p;
  }

  private static QueryResponse query(LocalSolr solr, ModifiableSolrParams p) throws Exception {
    return new QueryRequest(p, SolrRequest.METHOD.POST).process(solr.client(), CORE);
  }

  @SuppressWarnings("unchecked")
  private static double rerankMillis(QueryResponse rsp) {
    Object info = rsp.getDebugMap().get("neuralRerank");
    Object millis = info instanceof NamedList ? ((NamedList<Object>) info).get("rerankMillis") : ((Map<String, Object>) info).get("rerankMillis");
    return ((Number) millis).doubleValue();
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
