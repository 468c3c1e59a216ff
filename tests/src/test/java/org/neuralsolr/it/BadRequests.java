package org.neuralsolr.it;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates HTTP requests that a Neural Solr core must refuse with a 4xx: each one is a valid
 * request of some kind (a query of every neural parser, the neural highlighter, an update through
 * the all-or-nothing neural chain) with at least one part made invalid, plus random noise that can
 * only leave it invalid. Deterministic for a given {@link Random}.
 */
final class BadRequests {
  /** One request: GET with {@link #params}, or POST of {@link #body} with {@link #contentType}. */
  record Bad(String kind, String path, Map<String, String> params, byte[] body, String contentType) {
    String describe() {
      String b = body == null ? "" : " body=" + clip(new String(body, StandardCharsets.UTF_8));
      return kind + " " + path + " " + clipParams() + b;
    }

    private String clipParams() {
      StringBuilder sb = new StringBuilder();
      params.forEach((k, v) -> sb.append(k).append('=').append(clip(v)).append(' '));
      return sb.toString().trim();
    }
  }

  static String clip(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "...(" + s.length() + " chars)";
  }

  /** Ids of documents these requests may try to add: none must ever be indexed. */
  static final String ID_PREFIX = "fuzz-";

  private final Random r;
  private final int maxDenseTopK;
  private final int maxColbertTopK;
  private final int maxReRankDocs;
  private final int maxDepth;
  private final String existingId;
  private int serial;

  BadRequests(Random r, int maxDenseTopK, int maxColbertTopK, int maxReRankDocs, int maxDepth, String existingId) {
    this.r = r;
    this.maxDenseTopK = maxDenseTopK;
    this.maxColbertTopK = maxColbertTopK;
    this.maxReRankDocs = maxReRankDocs;
    this.maxDepth = maxDepth;
    this.existingId = existingId;
  }

  Bad next() {
    return switch (r.nextInt(7)) {
      case 0 -> dense();
      case 1 -> sparse();
      case 2 -> colbert();
      case 3 -> rerank();
      case 4 -> fuse();
      case 5 -> highlight();
      default -> update();
    };
  }

  // ---------------------------------------------------------------- values

  private String pick(String... values) {
    return values[r.nextInt(values.length)];
  }

  private String word() {
    return pick("cells", "stem", "protein", "cancer", "gene", "virus", "brain", "mice", "dna", "blood");
  }

  private String text() {
    StringBuilder sb = new StringBuilder(word());
    for (int i = r.nextInt(4); i > 0; i--) {
      sb.append(' ').append(word());
    }
    return sb.toString();
  }

  /** A name no parser knows. */
  private String unknownName() {
    return pick("zz", "x", "topk", "TopK", "f2", "nprobes", "rerankdocs", "model_", "q", "k2") + r.nextInt(100);
  }

  /** An integer param value that is not an integer in [min, max]. */
  private String badInt(int min, int max) {
    return switch (r.nextInt(10)) {
      case 0 -> Integer.toString(min - 1 - r.nextInt(1000));
      case 1 -> Long.toString((long) max + 1 + r.nextInt(1_000_000));
      case 2 -> "99999999999999999999";
      case 3 -> pick("abc", "NaN", "Infinity", "-Infinity", "1e3", "0x10", "one", "true");
      case 4 -> (min + r.nextInt(5)) + "." + (1 + r.nextInt(9));
      case 5 -> "";
      case 6 -> Integer.toString(Integer.MIN_VALUE);
      case 7 -> "--" + (min + 1);
      case 8 -> "[" + min + "]";
      default -> (min + 1) + "abc";
    };
  }

  /** A float param value that is not finite or not a number. */
  private String badFloat() {
    return pick("NaN", "Infinity", "-Infinity", "abc", "", "1e99", "-1e99", "1,5", "0x1p3z", "--1");
  }

  /** Query texts no model can encode: empty, blank, or invisible characters only. */
  private String emptyText() {
    return switch (r.nextInt(6)) {
      case 0 -> "";
      case 1 -> " \t ";
      case 2 -> "\u200B\u200C\u200D\uFEFF".repeat(1 + r.nextInt(5));
      case 3 -> "\u0001\u0002\u0007\u001F".repeat(1 + r.nextInt(3));
      case 4 -> "\u00AD\u2060\u180E";
      default -> "\u200B \u0003 \u200D";
    };
  }

  private String badVectorField() {
    return pick("title", "text", "id", "nosuchfield" + r.nextInt(10), "parity_s", "sparse", "contents", "_version_", "n_i");
  }

  private String badModel() {
    return pick("nosuchmodel", "bge", "BGE-SMALL", "../../etc/passwd", "builtin:nothing", "splade", "x" + r.nextInt(1000));
  }

  /** Random extra local params with unknown names: ignored or refused, never making a request valid. */
  private void noise(Map<String, String> local) {
    for (int i = r.nextInt(3); i > 0; i--) {
      local.put(unknownName(), pick("1", "-1", "abc", "", "true", "{}", "NaN", "9999999999"));
    }
  }

  private static String localParams(String parser, Map<String, String> local) {
    StringBuilder sb = new StringBuilder("{!").append(parser);
    local.forEach((k, v) -> sb.append(' ').append(k).append("='").append(v.replace("\\", "\\\\").replace("'", "\\'")).append('\''));
    return sb.append('}').toString();
  }

  private Map<String, String> select(String q) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("q", q);
    p.put("fl", "id,score");
    p.put("wt", "json");
    return p;
  }

  private Bad query(String kind, Map<String, String> params) {
    return new Bad(kind, "/select", params, null, null);
  }

  // ---------------------------------------------------------------- queries

  private Bad dense() {
    Map<String, String> local = new LinkedHashMap<>();
    local.put("f", "vector");
    local.put("model", "bge-small");
    local.put("topK", Integer.toString(1 + r.nextInt(20)));
    String text = text();
    noise(local);
    switch (r.nextInt(5)) {
      case 0 -> local.put("topK", badInt(1, maxDenseTopK));
      case 1 -> local.put("f", badVectorField());
      case 2 -> local.put("model", badModel());
      case 3 -> text = emptyText();
      default -> local.put("instruction", unknownName());
    }
    return query("dense", select(localParams("dense", local) + text));
  }

  private Bad sparse() {
    Map<String, String> local = new LinkedHashMap<>();
    local.put("f", "sparse");
    local.put("weights", word() + ":" + (1 + r.nextInt(3)));
    switch (r.nextInt(6)) {
      case 0 -> local.put("weights", badWeights());
      case 1 -> local.put("f", badVectorField().replace("sparse", "vector"));
      case 2 -> {
        local.remove("weights");
        local.put("model", badModel());
      }
      case 3 -> {
        local.put("approx", "true");
        local.put(pick("maxQueryTerms", "candidateTerms", "candidates", "candidatePostings"), badInt(1, Integer.MAX_VALUE));
      }
      case 4 -> {
        local.put("approx", "true");
        local.put(pick("queryWeightFraction", "postingWeightFraction", "heapFactor"), pick(badFloat(), "-0.5", "-3"));
      }
      default -> local.put("approx", pick("maybe", "yes please", "2", "{}"));
    }
    return query("sparse", select(localParams("sparse", local)));
  }

  /** Client sparse weights that no field accepts. */
  private String badWeights() {
    String w = word();
    return switch (r.nextInt(12)) {
      case 0 -> w + ":-1";
      case 1 -> w + ":NaN";
      case 2 -> w + ":Infinity";
      case 3 -> w + ":";
      case 4 -> ":1";
      case 5 -> "{\"" + w + "\": \"x\"}";
      case 6 -> "{\"" + w + "\": 1";
      case 7 -> "[1,2,3]";
      case 8 -> w + ":1e99";
      case 9 -> "";
      case 10 -> w + ":1," + w + ":abc";
      default -> "{\"" + w + "\": -0.5}";
    };
  }

  private Bad colbert() {
    Map<String, String> local = new LinkedHashMap<>();
    local.put("f", "colbert");
    local.put("model", "bge-small");
    local.put("topK", Integer.toString(1 + r.nextInt(20)));
    if (r.nextBoolean()) {
      local.put("plaid", "false");
    }
    String text = text();
    switch (r.nextInt(8)) {
      case 0 -> local.put("topK", badInt(1, maxColbertTopK));
      case 1 -> local.put("nprobe", badInt(1, 1 << 16));
      case 2 -> local.put(pick("candidateCap", "ndocs"), badInt(1, Integer.MAX_VALUE).replace("99999999999999999999", "abc"));
      case 3 -> local.put("threshold", pick("NaN", "abc", "", "--1"));
      case 4 -> local.put("f", pick(badVectorField(), "vector"));
      case 5 -> local.put("model", badModel());
      case 6 -> text = emptyText();
      default -> local.put(unknownName(), "1");
    }
    return query("colbert", select(localParams("colbert", local) + text));
  }

  private Bad rerank() {
    Map<String, String> local = new LinkedHashMap<>();
    local.put("model", "bge-small");
    local.put("f", "vector");
    local.put("reRankDocs", Integer.toString(1 + r.nextInt(30)));
    Map<String, String> p = select(pick("*:*", "contents:cells", "{!dense f=vector model=bge-small topK=20}cells"));
    String rqText = text();
    switch (r.nextInt(12)) {
      case 0 -> local.put("reRankDocs", badInt(1, maxReRankDocs));
      case 1, 4, 5, 6 -> local.put("reRankWeight", pick("NaN", "Infinity", "abc", "", "--1"));
      case 2 -> local.put("reRankOperator", pick("divide", "", "ADDx", "1"));
      case 3 -> local.put("mode", pick("magic", "", "densee", "1"));
      case 7 -> local.put("model", badModel());
      case 8 -> local.put("f", badVectorField());
      case 9 -> local.put("textFields", pick("nosuch", "vector", "sparse,nosuch", ""));
      case 10 -> {
        rqText = emptyText();
        p.put("q", "*:*");
      }
      default -> local.put(unknownName(), "1");
    }
    p.put("rq", localParams("neural_rerank", local));
    p.put("rq.text", rqText);
    return query("neural_rerank", p);
  }

  private Bad fuse() {
    Map<String, String> local = new LinkedHashMap<>();
    local.put("queries", "lex,vec");
    Map<String, String> p = select("");
    p.put("lex", "{!edismax qf=contents}" + text());
    p.put("vec", pick("{!dense f=vector model=bge-small topK=20}", "{!sparse f=sparse weights='cells:1'}") + text());
    noise(local);
    switch (r.nextInt(9)) {
      case 0 -> local.put("method", pick("max", "", "RRFx", "linear2"));
      case 1 -> local.put("norm", pick("l2", "", "minmax2"));
      case 2 -> local.put("k", badInt(1, Integer.MAX_VALUE).replace("99999999999999999999", "x"));
      case 3 -> local.put("depth", badInt(1, maxDepth));
      case 4 -> local.put("queries", pick("lex", "", "lex,nosuch", "nosuch,other", "lex,lex2", ","));
      case 5 -> local.put("weights", pick("1", "1,2,3", "a,b", "NaN,1", "1,"));
      case 6 -> p.put("vec", "{!dense f=vector model=bge-small topK=" + badInt(1, maxDenseTopK) + "}cells");
      case 7 -> p.put("vec", "{!colbert f=colbert model=bge-small " + unknownName() + "=1}cells");
      default -> p.put("vec", "{!sparse f=sparse weights='" + badWeights() + "'}");
    }
    p.put("q", localParams("fuse", local));
    return query("fuse", p);
  }

  private Bad highlight() {
    Map<String, String> p = select(pick("{!dense f=vector model=bge-small topK=5}", "{!colbert f=colbert model=bge-small topK=5}") + text());
    p.put("hl", "true");
    p.put("hl.method", "neural");
    p.put("hl.fl", "text");
    switch (r.nextInt(6)) {
      case 0 -> p.put("hl.neural.method", pick("magic", "", "DENSE2", "bm25"));
      case 1 -> p.put("hl.fl", pick("nosuch", "vector", "contents", "colbert"));
      case 2 -> {
        p.put("hl.neural.method", "maxsim");
        p.put("hl.neural.field", pick("vector", "title", "nosuch", "sparse"));
      }
      case 3 -> p.put("hl.neural.sentences", pick("nosuch", "title", "vector", "id"));
      case 4 -> p.put("hl.snippets", pick("0", "-1", "-100"));
      default -> {
        p.put("hl.neural.method", pick("dense", "maxsim"));
        if (p.get("hl.neural.method").equals("maxsim")) {
          p.put("hl.neural.field", "colbert");
        }
        p.put("hl.neural.model", badModel());
      }
    }
    return query("highlight", p);
  }

  // ---------------------------------------------------------------- updates

  /**
   * An add of one to four documents through the default (all-or-nothing) chain, one of them bad:
   * the good ones carry no text, so a refusal costs no model call, and none of them may be indexed.
   */
  private Bad update() {
    int n = 1 + r.nextInt(4);
    int badAt = r.nextInt(n);
    int request = serial++;
    String mode = pick("doc", "doc", "doc", "atomic", "encoding");
    if (mode.equals("encoding")) {
      return encoding(request);
    }
    int badCase = r.nextInt(16);
    if (mode.equals("atomic") || !VALUE_LEVEL.contains(badCase)) {
      // Solr's JSON loader refuses these values itself, and Solr's atomic-update merge refuses bad
      // operations after the held documents were passed on: either stops the request after the
      // documents before it were indexed, the known limits of docs/limits.md
      badAt = 0;
    }
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String id = ID_PREFIX + request + "-" + i;
      if (i != badAt) {
        docs.add("{\"id\":\"" + id + "\",\"parity_s\":\"fuzz\"}");
      } else if (mode.equals("atomic")) {
        docs.add(atomic(id));
      } else {
        docs.add(badDocument(id, badCase));
      }
    }
    Map<String, String> p = new LinkedHashMap<>();
    p.put("wt", "json");
    return new Bad("update-" + mode, "/update", p, ("[" + String.join(",", docs) + "]").getBytes(StandardCharsets.UTF_8), "application/json");
  }

  private String vector(int dim, String fill) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < dim; i++) {
      sb.append(i == 0 ? "" : ",").append(fill != null ? fill : Float.toString((r.nextFloat() - 0.5f) / 10));
    }
    return sb.append(']').toString();
  }

  /** Cases of {@link #badDocument} whose value parses as JSON and is refused by the schema or the plugin. */
  private static final java.util.Set<Integer> VALUE_LEVEL = java.util.Set.of(0, 3, 5, 9, 11, 12, 13, 14);

  private String badDocument(String id, int badCase) {
    String head = "{\"id\":\"" + id + "\",\"parity_s\":\"fuzz\",";
    return head + switch (badCase) {
      case 0 -> "\"vector\":" + vector(pick(new int[] {0, 1, 3, 383, 385, 768}), null) + "}";
      case 1 -> "\"vector\":" + vector(384, pick("\"NaN\"", "\"Infinity\"", "\"abc\"", "null", "[1]", "{}", "true")) + "}";
      case 2 -> "\"vector\":" + pick("\"abc\"", "\"[1,2\"", "{}", "true", "1", "[[1,2],[3,4]]") + "}";
      case 3 -> "\"sparse\":\"" + badWeights().replace("\"", "\\\"") + "\"}";
      case 4 -> "\"sparse\":" + pick("1", "true", "[1,2]", "{\"a\":-1}") + "}";
      case 5 -> "\"sparse\":\"" + manyTerms() + "\"}";
      case 6 -> "\"colbert\":" + pick("\"abc\"", "\"[[1,2]]\"", "[[1,2],[3,4]]", "[[]]", "1", "true", "{}", "[[\"a\"]]") + "}";
      case 7 -> "\"colbert\":[" + vector(384, "\"NaN\"") + "]}";
      case 8 -> "\"colbert\":[" + vector(384, null) + "," + vector(100, null) + "]}";
      case 9 -> "\"vector\":" + vector(20_000 + r.nextInt(100_000), "0.5") + "}";
      case 10 -> "\"title\":" + pick("{}", "{\"a\":1}") + "}";
      case 11 -> "\"n_i\":\"" + pick("abc", "1.5", "99999999999") + "\"}";
      case 12 -> "\"nosuchfield\":\"x\"}";
      case 13 -> "\"vector\":" + vector(384, null) + ",\"vector\":" + vector(384, null) + "}";
      case 14 -> "\"_version_\":\"" + pick("abc", "xyz", "1.5x") + "\"}";
      default -> "\"colbert\":" + manyVectors() + "}";
    };
  }

  private String manyTerms() {
    StringBuilder sb = new StringBuilder();
    int n = 2049 + r.nextInt(3000);
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append('t').append(i).append(":0.5");
    }
    return sb.toString();
  }

  /** Far more token vectors than any text of the model yields. */
  private String manyVectors() {
    StringBuilder sb = new StringBuilder("[");
    String row = vector(384, "0.01");
    int n = 5000 + r.nextInt(3000);
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(row);
    }
    return sb.append(']').toString();
  }

  private String atomic(String id) {
    String target = r.nextBoolean() ? existingId : id;
    return "{\"id\":\"" + target + "\"," + switch (r.nextInt(9)) {
      case 0 -> "\"vector\":{\"set\":" + vector(pick(new int[] {1, 3, 385}), null) + "}}";
      case 1 -> "\"vector\":{\"inc\":1}}";
      case 2 -> "\"vector\":{\"add\":[1,2,3]}}";
      case 3 -> "\"sparse\":{\"set\":\"" + badWeights().replace("\"", "\\\"") + "\"}}";
      case 4 -> "\"colbert\":{\"set\":\"abc\"}}";
      case 5 -> "\"colbert\":{\"add\":[[1,2]]}}";
      case 6 -> "\"title\":{\"nosuchop\":\"x\"}}";
      case 7 -> "\"n_i\":{\"inc\":\"abc\"}}";
      default -> "\"sparse\":{\"inc\":1}}";
    };
  }

  private static int pick(int[] values, Random r) {
    return values[r.nextInt(values.length)];
  }

  private int pick(int[] values) {
    return pick(values, r);
  }

  /** Bodies that are not a well-formed update: broken JSON within the first document, bad bytes, wrong types. */
  private Bad encoding(int request) {
    String id = ID_PREFIX + request + "-0";
    String good = "{\"id\":\"" + id + "\",\"parity_s\":\"fuzz\"}";
    byte[] body;
    String type = "application/json";
    switch (r.nextInt(8)) {
      case 0 -> body = ("[" + good.substring(0, 1 + r.nextInt(8))).getBytes(StandardCharsets.UTF_8);
      case 1 -> {
        // a byte that is no UTF-8 where a number must be
        body = ("[{\"id\":\"" + id + "\",\"vector\":[0.1,\u00FF]}]").getBytes(StandardCharsets.ISO_8859_1);
      }
      case 2 -> body = "<add><doc><field name=\"id\">x</field>".getBytes(StandardCharsets.UTF_8);
      case 3 -> {
        body = ("[" + good + "]").getBytes(StandardCharsets.UTF_8);
        type = pick("application/x-nonsense", "image/png");
      }
      case 4 -> body = ("<add><doc><field name=\"id\">" + id + "</field><field name=\"vector\">1</field></doc></add>").getBytes(StandardCharsets.UTF_8);
      case 5 -> body = ("[{\"id\":" + pick("{}", "[1,2]", "null") + "}]").getBytes(StandardCharsets.UTF_8);
      case 6 -> body = "{\"add\":{\"doc\":".getBytes(StandardCharsets.UTF_8);
      default -> body = new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 0x7B};
    }
    if (r.nextInt(8) == 4 || type.equals("application/json") && new String(body, StandardCharsets.ISO_8859_1).startsWith("<add>")) {
      type = "application/xml";
    }
    Map<String, String> p = new LinkedHashMap<>();
    p.put("wt", "json");
    return new Bad("update-encoding", "/update", p, body, type);
  }
}
