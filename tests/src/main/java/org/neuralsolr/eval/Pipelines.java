package org.neuralsolr.eval;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * The evaluation pipelines. Every capability of the plugin adds its pipeline here.
 *
 * <ul>
 *   <li>{@code bm25}: Solr's BM25 (k1=0.9, b=0.4) over title + text analysed like Lucene's
 *       EnglishAnalyzer, the bag of query words OR-ed, as Anserini runs BEIR "flat".
 *   <li>{@code dense}, {@code dense-int8}, {@code dense-e5}, {@code dense-minilm}: the built-in
 *       models through the neural update processor (document = title + " " + text) and {@code
 *       {!dense}} (the model's query prefix applied).
 *   <li>{@code dense-minilm-maxp}, {@code dense-minilm-firstp}, {@code dense-maxp}: long documents
 *       cut into sentence passages (all-MiniLM-L6-v2 at 254 tokens, bge-small-en-v1.5 at 128), each
 *       passage a child document, ranked by {@code {!dense ... passages=maxp|firstp}}; see
 *       docs/long-documents.md.
 *   <li>{@code sparse-bm25}: BM25 term weights as precomputed sparse vectors; must rank like {@code
 *       bm25}.
 *   <li>{@code sparse-proxy}: an expansion-heavy sparse distribution from bge-small-en-v1.5's token
 *       states, queries encoded by Solr.
 *   <li>{@code bm25>dense-rerank}: the {@code bm25} query's top {@code reRankDocs} (100) re-ranked
 *       by {@code {!neural_rerank}} with the cosine of the bge-small-en-v1.5 query vector and the
 *       stored document vector, over the {@code dense} pipeline's index.
 *   <li>{@code bm25>maxsim-rerank}: the same with MaxSim of bge-small-en-v1.5 token states, stored
 *       in the ColBERT index ({@code --param nbits=0|1|2|4}, 0 by default) or encoded at query time
 *       ({@code --param stored=false}).
 *   <li>{@code colbert}, {@code colbert-rerank}: ColBERT late interaction over the bge-small-en-v1.5
 *       token states ({@code --param nbits=0|1|2|4}: one index holds a field per nbits, filled from
 *       one encoding; {@code --param plaid=false}; {@code --param docs=N} for a subset; {@code
 *       --param centroids=K trainingSample=N trainingThreshold=N} for the codebooks, which the closing
 *       optimize trains by default): {@code {!colbert}} as first stage,
 *       and the {@code bm25} top 100 re-ranked by Solr's {@code {!rerank}} with exact MaxSim.
 *   <li>{@code hybrid-rrf}, {@code hybrid-linear}: {@code {!fuse}} of the {@code bm25} query and the
 *       {@code dense} query over the {@code dense} pipeline's index (which holds both the BM25 field
 *       and the vectors): RRF ({@code --param k=60 weights=1,1}) or a weighted sum of normalised
 *       scores ({@code --param norm=minmax weights=0.5,0.5}), each over its top {@code depth} (100).
 *   <li>{@code hybrid-rrf-colbert}: {@code {!fuse method=rrf}} of the {@code bm25} query and the
 *       {@code colbert} query (nbits 2, PLAID defaults) over the {@code colbert} pipeline's index.
 *   <li>{@code dense-q7}, {@code dense-q4}: {@code {!dense}} over int7 or int4 scalar-quantised
 *       copies of the bge-small-en-v1.5 vectors, in one index with the float32 ones ({@code --param
 *       rescore=N}, {@code --param docs=N}).
 *   <li>{@code dense-stories260k}: the stories260K last-token embedder end to end (a 64-dimension
 *       {@code vector}); its quality is meaningless.
 * </ul>
 */
public final class Pipelines {
  static final Map<String, Pipeline> ALL = new LinkedHashMap<>();

  static {
    add(bm25());
    add(dense("dense", "bge-small", "builtin:bge-small-en-v1.5", "bge-small-en-v1.5 fp32, CLS pooling, query instruction"));
    add(dense("dense-int8", "bge-small", "builtin:bge-small-en-v1.5-int8", "bge-small-en-v1.5 dynamic int8"));
    add(dense("dense-e5", "e5-small", "builtin:e5-small-v2", "e5-small-v2 fp32, mean pooling, query:/passage: prefixes"));
    add(dense("dense-minilm", "minilm", "builtin:all-minilm-l6-v2", "all-MiniLM-L6-v2 fp32, mean pooling, 256 tokens"));
    add(passages("dense-minilm-maxp", "maxp", "minilm", "builtin:all-minilm-l6-v2", "254",
        "all-MiniLM-L6-v2 over sentence passages of <= 254 tokens (256 with [CLS]/[SEP]), document = best passage (MaxP)"));
    add(passages("dense-minilm-firstp", "firstp", "minilm", "builtin:all-minilm-l6-v2", "254",
        "all-MiniLM-L6-v2 over sentence passages of <= 254 tokens, document = first passage (FirstP)"));
    add(passages("dense-maxp", "maxp", "bge-small", "builtin:bge-small-en-v1.5", "128",
        "bge-small-en-v1.5 over sentence passages of <= 128 tokens, document = best passage (MaxP)"));
    add(sparseBm25());
    add(sparseProxy());
    add(bm25Rerank("bm25>dense-rerank", "dense", "f=vector",
        "BM25 top reRankDocs re-ranked by the cosine of bge-small-en-v1.5 query and stored document vectors"));
    add(bm25MaxSimRerank());
    add(colbert());
    add(colbertRerank());
    add(hybrid("hybrid-rrf", "rrf", Map.of("k", "60", "weights", "1,1"),
        "{!fuse method=rrf} of the bm25 query and bge-small-en-v1.5 {!dense}, each one's top depth"));
    add(hybrid("hybrid-linear", "linear", Map.of("norm", "minmax", "weights", "0.5,0.5"),
        "{!fuse method=linear}: weighted sum of the bm25 and bge-small-en-v1.5 {!dense} scores, each normalised over its top depth"));
    add(hybridColbert());
    add(denseQuantized("dense-q7", "int7"));
    add(denseQuantized("dense-q4", "int4"));
    add(denseStories260k());
  }

  /** The stories260K last-token embedder's package (a parity fixture of the plugin's tests). */
  static final String STORIES_PACKAGE = "stories260k-embed";

  /**
   * {@code dense-stories260k}: stories260K (a real llama2.c Llama, 260K parameters) as a last-token
   * embedder, end to end: ingest through the update processor, {@code {!dense}} over HTTP. It shows
   * a decoder embedder runs at collection scale; its retrieval quality is meaningless (a model
   * trained on children's stories, 64 dimensions). The package is copied from the plugin's test
   * fixtures into the tool's model root; {@code neural.dense.dimension} makes {@code vector} 64-d.
   */
  private static Pipeline denseStories260k() {
    return new Pipeline(
        "dense-stories260k",
        "dense-stories260k",
        "stories260K (llama2.c Llama, 64 dims) last-token embedder, left padding, EOS appended; quality meaningless",
        Map.of("topK", "100", "model", "stories"),
        Set.of("model"),
        s -> Map.of("neural.dense.model", s.get("model"),
            "neural.dense.package", STORIES_PACKAGE + "/neural-model.json",
            "neural.dense.dimension", "64"),
        "neural",
        (s, text) ->
            Map.of(
                "q", "{!dense f=vector model=" + s.get("model") + " topK=" + s.get("topK") + "}" + text,
                "rows", s.get("topK"),
                "fl", "id,score"),
        (root, dataset, s) -> {
          java.nio.file.Path target = ProxyVectors.modelsDir(root).resolve(STORIES_PACKAGE);
          if (!java.nio.file.Files.exists(target.resolve("neural-model.json"))) {
            java.nio.file.Path source = root.resolve("solr-plugin/src/test/resources/parity").resolve(STORIES_PACKAGE);
            if (!java.nio.file.Files.isDirectory(source)) {
              throw new java.io.IOException("dense-stories260k: the package is neither in " + target + " nor in " + source);
            }
            java.nio.file.Files.createDirectories(target);
            for (String f : java.util.List.of("model.onnx", "tokenizer.json", "neural-model.json")) {
              java.nio.file.Files.copy(source.resolve(f), target.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
          }
          return new Pipeline.Prepared(Map.of("neural.model.roots", ProxyVectors.modelsDir(root).toString()), null);
        });
  }

  /** Index family of the quantised pipelines: float32, int7 and int4 copies of one encoding. */
  static final String DENSE_QUANTIZED_INDEX = "dense-quantised"; // a constant: set before the static block runs

  /** The field of the {@code dense-quantised} index holding {@code quantization} ({@code vector}: float32). */
  static String quantizedField(String quantization) {
    return "vector_" + quantization; // a method, not a map: the static block above runs before later fields are set
  }

  /**
   * {@code dense-q7}, {@code dense-q4}: {@code {!dense}} over an int7 or int4 {@code
   * QuantizedDenseVectorField} ({@code --param rescore=N}: the graph's top N re-scored with the
   * float32 vectors; {@code --param field=vector} queries the float32 copy). One index, {@value
   * #DENSE_QUANTIZED_INDEX}, holds the configset's float32 {@code vector} and both quantised fields,
   * added with the Schema API and filled by {@code copyField} from {@code vector}: every precision
   * is measured on the same encodings, and the corpus is encoded once.
   */
  private static Pipeline denseQuantized(String name, String quantization) {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("topK", "100");
    d.put("model", "bge-small");
    d.put("package", "builtin:bge-small-en-v1.5");
    d.put("docs", "all");
    d.put("field", quantizedField(quantization));
    d.put("rescore", "0");
    return new Pipeline(
        name,
        DENSE_QUANTIZED_INDEX,
        "bge-small-en-v1.5 fp32 vectors stored " + quantization + " (Lucene99HnswScalarQuantizedVectorsFormat), {!dense}, optionally re-scored",
        d,
        Set.of("model", "package", "docs"),
        s -> Map.of("neural.dense.model", s.get("model"), "neural.dense.package", s.get("package")),
        "neural",
        (s, text) ->
            Map.of(
                "q", "{!dense f=" + s.get("field") + " model=" + s.get("model") + " topK=" + s.get("topK")
                    + ("0".equals(s.get("rescore")) ? "" : " rescore=" + s.get("rescore")) + "}" + text,
                "rows", s.get("topK"),
                "fl", "id,score"),
        Pipelines::quantizedFields);
  }

  /** Adds {@code vector_int7} and {@code vector_int4} and copies {@code vector} into them. */
  private static Pipeline.Prepared quantizedFields(java.nio.file.Path root, BeirDataset dataset, Map<String, String> s) {
    java.util.List<Object> types = new java.util.ArrayList<>();
    java.util.List<Object> fields = new java.util.ArrayList<>();
    java.util.List<String> copies = new java.util.ArrayList<>();
    for (String q : java.util.List.of("int7", "int4")) {
      String field = quantizedField(q);
      Map<String, Object> type = new LinkedHashMap<>();
      // the configset's knn_vector settings, quantised
      type.put("name", field + "_type");
      type.put("class", "org.neuralsolr.schema.QuantizedDenseVectorField");
      type.put("vectorDimension", "384");
      type.put("similarityFunction", "dot_product");
      type.put("knnAlgorithm", "hnsw");
      type.put("hnswMaxConnections", "16");
      type.put("hnswBeamWidth", "100");
      type.put("quantization", q);
      types.add(type);
      fields.add(Map.of("name", field, "type", field + "_type"));
      copies.add(field);
    }
    Map<String, Object> commands = new LinkedHashMap<>();
    commands.put("add-field-type", types);
    commands.put("add-field", fields);
    commands.put("add-copy-field", Map.of("source", "vector", "dest", copies));
    return new Pipeline.Prepared(Map.of(), null, org.apache.solr.common.util.Utils.toJSONString(commands));
  }

  /**
   * The nbits of the ColBERT index's multi-vector fields. One forward pass fills the configset's
   * {@code colbert} field (nbits 2); the eval adds a field per other nbits through the Schema API and
   * fills it by a {@code copyField} of the same token vectors, so every nbits is measured on the same
   * encodings and the corpus is encoded once.
   */
  static final java.util.List<String> COLBERT_NBITS = java.util.List.of("0", "1", "2", "4");

  /** The field of the ColBERT index that stores the token vectors with {@code nbits}. */
  static String colbertField(String nbits) {
    if (!COLBERT_NBITS.contains(nbits)) {
      throw new IllegalArgumentException("nbits must be one of " + COLBERT_NBITS + ", got " + nbits);
    }
    return "2".equals(nbits) ? "colbert" : "colbert_nbits" + nbits;
  }

  /** Settings of the ColBERT pipelines; model, package, docs, centroids and trainingSample decide the index, the rest the query. */
  private static Map<String, String> colbertDefaults() {
    Map<String, String> d = new java.util.HashMap<>();
    d.put("topK", "100");
    d.put("model", "bge-small");
    d.put("package", "builtin:bge-small-en-v1.5");
    d.put("nbits", "2");
    d.put("docs", "all");
    d.put("centroids", "0");
    d.put("trainingSample", "0");
    d.put("trainingThreshold", "1048576"); // the configset's
    d.put("plaid", "true");
    d.put("nprobe", String.valueOf(org.neuralsolr.codecs.multivector.PlaidQuery.DEFAULT_NPROBE));
    d.put("ndocs", "0");
    return d;
  }

  private static Set<String> colbertIndexKeys() {
    return Set.of("model", "package", "docs", "centroids", "trainingSample", "trainingThreshold");
  }

  private static Map<String, String> colbertCore(Map<String, String> s) {
    return Map.of(
        "neural.dense.model", s.get("model"),
        "neural.dense.package", s.get("package"),
        "neural.colbert.centroids", s.get("centroids"),
        "neural.colbert.trainingSample", s.get("trainingSample"),
        "neural.colbert.trainingThreshold", s.get("trainingThreshold"),
        // few large flushes: segments are float32 until the closing optimize trains the codebooks,
        // and merging float32 segments of all four fields on the way would cost time
        // (trainingThreshold=0 trains on the first flush instead; with autoCommit's 15 s that was
        // the first ~100 documents alone: nDCG@10 0.668 instead of 0.746 at nbits 2, 2026-11-22)
        "neural.ramBufferSizeMB", "2048",
        "solr.autoCommit.maxTime", "-1");
  }

  /** Adds the {@code colbert_nbits*} fields and copies {@code colbert} into them. */
  private static Pipeline.Prepared colbertFields(java.nio.file.Path root, BeirDataset dataset, Map<String, String> s) {
    java.util.List<Object> types = new java.util.ArrayList<>();
    java.util.List<Object> fields = new java.util.ArrayList<>();
    java.util.List<String> copies = new java.util.ArrayList<>();
    for (String nbits : COLBERT_NBITS) {
      String field = colbertField(nbits);
      if (field.equals("colbert")) {
        continue;
      }
      Map<String, Object> type = new LinkedHashMap<>();
      type.put("name", field + "_type");
      type.put("class", "org.neuralsolr.schema.MultiVectorField");
      type.put("vectorDimension", "384");
      type.put("nbits", nbits);
      type.put("similarityFunction", "dot_product");
      type.put("centroids", s.get("centroids"));
      type.put("trainingSample", s.get("trainingSample"));
      type.put("trainingThreshold", s.get("trainingThreshold"));
      types.add(type);
      fields.add(Map.of("name", field, "type", field + "_type"));
      copies.add(field);
    }
    Map<String, Object> commands = new LinkedHashMap<>();
    commands.put("add-field-type", types);
    commands.put("add-field", fields);
    commands.put("add-copy-field", Map.of("source", "colbert", "dest", copies));
    return new Pipeline.Prepared(Map.of(), null, org.apache.solr.common.util.Utils.toJSONString(commands));
  }

  private static String colbertQuery(Map<String, String> s, String extra, String text) {
    return "{!colbert f=" + colbertField(s.get("nbits")) + " model=" + s.get("model") + " plaid=" + s.get("plaid") + " nprobe=" + s.get("nprobe")
        + " ndocs=" + s.get("ndocs") + extra + "}" + text;
  }

  /**
   * {@code colbert}: {@code {!colbert}} first stage over the token states of bge-small-en-v1.5
   * stored in the ColBERT field of the chosen nbits (PLAID; {@code plaid=false} for exhaustive MaxSim).
   */
  private static Pipeline colbert() {
    return new Pipeline(
        "colbert",
        "colbert",
        "ColBERT late interaction over bge-small-en-v1.5 token states (documents without [CLS]/[SEP]/punctuation), PLAID first stage",
        colbertDefaults(),
        colbertIndexKeys(),
        Pipelines::colbertCore,
        "neural-colbert",
        (s, text) -> Map.of("q", colbertQuery(s, " topK=" + s.get("topK"), text), "rows", s.get("topK"), "fl", "id,score"),
        Pipelines::colbertFields);
  }

  /**
   * {@code bm25>maxsim-rerank}: the {@code bm25} query's top 100 re-ranked by {@code
   * {!neural_rerank mode=multivector}} over the ColBERT index: MaxSim against the stored token
   * vectors of the chosen nbits (0, float32, by default), or with {@code stored=false} against token
   * states encoded at query time.
   */
  private static Pipeline bm25MaxSimRerank() {
    Map<String, String> d = colbertDefaults();
    d.put("reRankDocs", "100");
    d.put("nbits", "0");
    d.put("stored", "true");
    return new Pipeline(
        "bm25>maxsim-rerank",
        "colbert",
        "BM25 top reRankDocs re-ranked by {!neural_rerank mode=multivector}: MaxSim of bge-small-en-v1.5 token states (stored, or encoded at query time)",
        d,
        colbertIndexKeys(),
        Pipelines::colbertCore,
        "neural-colbert",
        (s, text) ->
            bm25Query(text, s.get("topK"), "rq", "{!neural_rerank model=" + s.get("model") + " mode=multivector reRankDocs=" + s.get("reRankDocs")
                    + (Boolean.parseBoolean(s.get("stored")) ? " f=" + colbertField(s.get("nbits")) : "") + "}",
                "rq.text", text),
        Pipelines::colbertFields);
  }

  /** {@code colbert-rerank}: the {@code bm25} query's top 100 re-ranked by exact MaxSim of the stored vectors. */
  private static Pipeline colbertRerank() {
    Map<String, String> d = colbertDefaults();
    d.put("reRankDocs", "100");
    d.put("plaid", "false");
    return new Pipeline(
        "colbert-rerank",
        "colbert",
        "BM25 top reRankDocs re-ranked by Solr's {!rerank} with exact MaxSim of the stored bge-small-en-v1.5 token vectors",
        d,
        colbertIndexKeys(),
        Pipelines::colbertCore,
        "neural-colbert",
        (s, text) ->
            bm25Query(text, s.get("topK"), "rq", "{!rerank reRankQuery=$cq reRankDocs=" + s.get("reRankDocs") + " reRankWeight=1 reRankOperator=replace}",
                "cq", colbertQuery(s, "", text)),
        Pipelines::colbertFields);
  }

  private Pipelines() {}

  private static void add(Pipeline p) {
    ALL.put(p.name, p);
  }

  static Pipeline get(String name) {
    Pipeline p = ALL.get(name);
    if (p == null) {
      throw new IllegalArgumentException("unknown pipeline '" + name + "'; pipelines are " + ALL.keySet());
    }
    return p;
  }

  private static Pipeline bm25() {
    return new Pipeline(
        "bm25",
        "BM25 k1=0.9 b=0.4 over title + text (EnglishAnalyzer), query words OR-ed",
        Map.of("topK", "100"),
        Set.of(),
        s -> Map.of(),
        "plain",
        (s, text) ->
            bm25Query(text, s.get("topK")));
  }

  private static Pipeline dense(String name, String model, String pkg, String description) {
    return new Pipeline(
        name,
        description,
        Map.of("topK", "100", "model", model, "package", pkg),
        Set.of("model", "package"),
        s -> Map.of("neural.dense.model", s.get("model"), "neural.dense.package", s.get("package")),
        "neural",
        (s, text) ->
            Map.of(
                "q", "{!dense f=vector model=" + s.get("model") + " topK=" + s.get("topK") + "}" + text,
                "rows", s.get("topK"),
                "fl", "id,score"));
  }

  /**
   * Long documents: update.chain=neural-passages cuts title + text into sentence passages of at
   * most {@code maxTokens} model tokens, each a child document with its vector, and {@code {!dense
   * ... passages=MODE}} ranks the documents ({@code --param passages=maxp|firstp|mean} at query
   * time, on the same index; {@code --param docs=N} for a subset).
   */
  private static Pipeline passages(String name, String mode, String model, String pkg, String maxTokens, String description) {
    return new Pipeline(
        name,
        "dense-passages",
        description,
        Map.of("topK", "100", "model", model, "package", pkg, "maxTokens", maxTokens, "split", "sentences",
            "passages", mode, "docs", "all"),
        Set.of("model", "package", "maxTokens", "split", "docs"),
        s -> Map.of("neural.dense.model", s.get("model"), "neural.dense.package", s.get("package"),
            "neural.passages.maxTokens", s.get("maxTokens"), "neural.passages.split", s.get("split")),
        "neural-passages",
        (s, text) ->
            Map.of(
                "q", "{!dense f=passage_vector model=" + s.get("model") + " passages=" + s.get("passages") + "}" + text,
                "rows", s.get("topK"),
                "fl", "id,score"));
  }

  /** The {@code {!sparse}} local params a {@code knobs} setting adds, e.g. "approx=true maxQueryTerms=16". */
  private static String knobs(Map<String, String> s) {
    String k = s.get("knobs").strip();
    return k.isEmpty() ? "" : " " + k;
  }

  /**
   * BM25 as a learned sparse index: each document's BM25 term weights ({@link Bm25Impacts}, the
   * bm25 pipeline's analysis and parameters) sent as precomputed weights of the {@code sparse}
   * field, each query as its analysed terms weighted by their counts; the dot product is then the
   * BM25 score, up to the field's quantisation.
   */
  private static Pipeline sparseBm25() {
    return new Pipeline(
        "sparse-bm25",
        "sparse-bm25",
        "BM25 weights (k1=0.9, b=0.4, EnglishAnalyzer terms of title + text) in the sparse field, query term counts, {!sparse}",
        Map.of("topK", "100", "k1", "0.9", "b", "0.4", "knobs", ""),
        Set.of("k1", "b"),
        s -> Map.of(),
        "plain",
        (s, text) ->
            Map.of(
                "q", "{!sparse f=sparse weights=$qw" + knobs(s) + "}",
                "qw", SparseWeightsFormat.toJson(Bm25Impacts.queryWeights(text)),
                "rows", s.get("topK"),
                "fl", "id,score"),
        (root, dataset, s) -> {
          Bm25Impacts[] impacts = new Bm25Impacts[1]; // computed only if the index is built
          return new Pipeline.Prepared(
              Map.of(),
              d -> {
                if (impacts[0] == null) {
                  impacts[0] = new Bm25Impacts(dataset, Float.parseFloat(s.get("k1")), Float.parseFloat(s.get("b")));
                }
                return impacts[0].documentWeights(d.id());
              });
        });
  }

  /**
   * An expansion-heavy distribution from real text ({@link ProxySpladePackage}: bge-small-en-v1.5's
   * last hidden states projected onto its word-piece embeddings, max-pooled, log(1 + ReLU)).
   * Documents' vectors ({@code documentTopK} heaviest terms) come from {@link ProxyVectors}, encoded
   * once by the plugin's encoder; queries are encoded by Solr through {@code {!sparse model=...}}
   * with the same package ({@code queryTopK} heaviest terms, no query instruction).
   */
  private static Pipeline sparseProxy() {
    return new Pipeline(
        "sparse-proxy",
        "sparse-proxy",
        "bge-small-en-v1.5 token states projected on its word-piece embeddings, max-pooled log(1+ReLU), top-k terms, {!sparse}",
        Map.of("topK", "100", "documentTopK", "128", "queryTopK", "32", "knobs", ""),
        Set.of("documentTopK", "queryTopK"),
        s -> Map.of("neural.sparse.model", "proxy"),
        "plain",
        (s, text) ->
            Map.of(
                "q", "{!sparse f=sparse model=proxy" + knobs(s) + "}" + text,
                "rows", s.get("topK"),
                "fl", "id,score"),
        (root, dataset, s) -> {
          int documentTopK = Integer.parseInt(s.get("documentTopK"));
          String ref = ProxySpladePackage.ensure(ProxyVectors.modelsDir(root), documentTopK, Integer.parseInt(s.get("queryTopK")));
          @SuppressWarnings("unchecked")
          Map<String, Map<String, Float>>[] vectors = new Map[1]; // read (or encoded) only if the index is built
          return new Pipeline.Prepared(
              Map.of(
                  "neural.model.roots", ProxyVectors.modelsDir(root).toString(),
                  "neural.sparse.package", ref,
                  "neural.sparse.maxBatchTokens", "2048"),
              d -> {
                if (vectors[0] == null) {
                  vectors[0] = ProxyVectors.documents(root, dataset, documentTopK);
                }
                return vectors[0].getOrDefault(d.id(), Map.of());
              });
        });
  }

  /**
   * The {@code bm25} query re-ranked by {@code {!neural_rerank}} over the {@code dense} pipeline's
   * index (the same index: same family and index settings), query text in {@code rq.text}.
   */
  private static Pipeline bm25Rerank(String name, String mode, String extra, String description) {
    return new Pipeline(
        name,
        "dense",
        description,
        Map.of("topK", "100", "reRankDocs", "100", "model", "bge-small", "package", "builtin:bge-small-en-v1.5"),
        Set.of("model", "package"),
        s -> Map.of("neural.dense.model", s.get("model"), "neural.dense.package", s.get("package")),
        "neural",
        (s, text) ->
            bm25Query(text, s.get("topK"), "rq", "{!neural_rerank model=" + s.get("model") + " mode=" + mode + " reRankDocs=" + s.get("reRankDocs") + (extra.isEmpty() ? "" : " " + extra) + "}",
                "rq.text", text));
  }

  /**
   * {@code {!fuse}} of the {@code bm25} query (sub-query {@code lex}) and the {@code dense} query
   * (sub-query {@code vec}, its topK = depth) over the {@code dense} pipeline's index.
   */
  private static Pipeline hybrid(String name, String method, Map<String, String> fusionDefaults, String description) {
    Map<String, String> d = new LinkedHashMap<>(fusionDefaults);
    d.put("topK", "100");
    d.put("depth", "100");
    d.put("model", "bge-small");
    d.put("package", "builtin:bge-small-en-v1.5");
    return new Pipeline(
        name,
        "dense",
        description,
        d,
        Set.of("model", "package"),
        s -> Map.of("neural.dense.model", s.get("model"), "neural.dense.package", s.get("package")),
        "neural",
        (s, text) -> {
          StringBuilder fuse = new StringBuilder("{!fuse method=").append(method).append(" depth=").append(s.get("depth"));
          for (String key : new java.util.TreeSet<>(fusionDefaults.keySet())) {
            fuse.append(' ').append(key).append('=').append(s.get(key));
          }
          fuse.append(" queries=lex,vec}");
          Map<String, String> p = new LinkedHashMap<>();
          p.put("q", fuse.toString());
          p.put("lex", "{!edismax qf=contents q.op=OR mm=0 v=$lext}");
          p.put("lext", keywordQuery(text));
          p.put("vec", "{!dense f=vector model=" + s.get("model") + " topK=" + s.get("depth") + "}" + text);
          p.put("rows", s.get("topK"));
          p.put("fl", "id,score");
          return p;
        });
  }

  /**
   * {@code hybrid-rrf-colbert}: {@code {!fuse method=rrf}} of the {@code bm25} query ({@code lex})
   * and the {@code colbert} query ({@code late}, its topK = depth) over the {@code colbert}
   * pipeline's index (same index settings, so the same core).
   */
  private static Pipeline hybridColbert() {
    Map<String, String> d = colbertDefaults();
    d.put("depth", "100");
    d.put("k", "60");
    d.put("weights", "1,1");
    return new Pipeline(
        "hybrid-rrf-colbert",
        "colbert",
        "{!fuse method=rrf} of the bm25 query and {!colbert} (bge-small-en-v1.5 token states, PLAID), each one's top depth",
        d,
        colbertIndexKeys(),
        Pipelines::colbertCore,
        "neural-colbert",
        (s, text) -> {
          Map<String, String> p = new LinkedHashMap<>();
          p.put("q", "{!fuse method=rrf depth=" + s.get("depth") + " k=" + s.get("k") + " weights=" + s.get("weights") + " queries=lex,late}");
          p.put("lex", "{!edismax qf=contents q.op=OR mm=0 v=$lext}");
          p.put("lext", keywordQuery(text));
          p.put("late", colbertQuery(s, " topK=" + s.get("depth"), text));
          p.put("rows", s.get("topK"));
          p.put("fl", "id,score");
          return p;
        },
        Pipelines::colbertFields);
  }

  /**
   * Request params of the {@code bm25} query (edismax over {@code contents}, words OR-ed) with
   * {@code extra} key/value pairs added, e.g. a re-ranking {@code rq}.
   */
  private static Map<String, String> bm25Query(String text, String topK, String... extra) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("q", keywordQuery(text));
    p.put("defType", "edismax");
    p.put("qf", "contents");
    p.put("q.op", "OR");
    p.put("mm", "0");
    for (int i = 0; i < extra.length; i += 2) {
      p.put(extra[i], extra[i + 1]);
    }
    p.put("rows", topK);
    p.put("fl", "id,score");
    return p;
  }

  private static final Pattern SYNTAX = Pattern.compile("([\\\\+\\-!():^\\[\\]\"{}~*?|&/])");
  private static final Pattern OPERATOR_WORD = Pattern.compile("\\b(AND|OR|NOT|TO)\\b");

  /**
   * The text as a plain bag of words for edismax: query syntax escaped (whitespace kept, so words
   * stay separate clauses) and upper-case operator words lower-cased (they are stop words anyway).
   */
  public static String keywordQuery(String text) {
    String escaped = SYNTAX.matcher(text).replaceAll("\\\\$1");
    return OPERATOR_WORD.matcher(escaped).replaceAll(m -> m.group(1).toLowerCase(java.util.Locale.ROOT));
  }
}
