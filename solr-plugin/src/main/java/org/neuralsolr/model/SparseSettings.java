package org.neuralsolr.model;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code "sparse"} section of a {@code kind: sparse} manifest: how the network's output
 * becomes term weights, how each side is pruned, and how queries are encoded. See {@code
 * docs/model-package.md}; unknown keys are refused like unknown top-level keys.
 */
final class SparseSettings {
  private static final Set<String> KNOWN_KEYS =
      Set.of(
          "activation", "pooling", "maskSpecialTokens", "skipSpecialTokenTerms", "documentTopK",
          "queryTopK", "documentMinWeight", "queryMinWeight", "queryEncoder", "queryTokenWeightsFile",
          "queryTokenWeightsSha256");

  /** What turns one output value into a weight. All are monotone, so they commute with max. */
  enum Activation {
    /** log(1 + max(0, x)): SPLADE. */
    LOG1P_RELU("log1p-relu"),
    /** log(1 + log(1 + max(0, x))): OpenSearch's doc-only v2/v3 models. */
    LOG1P_LOG1P_RELU("log1p-log1p-relu"),
    /** max(0, x). */
    RELU("relu"),
    /** x itself: the graph already applies its activation. */
    NONE("none");

    final String manifestName;

    Activation(String manifestName) {
      this.manifestName = manifestName;
    }

    float apply(float x) {
      if (!(x > 0f)) {
        return this == NONE ? x : 0f;
      }
      switch (this) {
        case LOG1P_RELU:
          return (float) Math.log1p(x);
        case LOG1P_LOG1P_RELU:
          return (float) Math.log1p(Math.log1p(x));
        default:
          return x;
      }
    }
  }

  /** How queries become weights. */
  enum QueryEncoder {
    /** The network, like documents (SPLADE). */
    MODEL("model"),
    /** The tokenizer and a weight per token, no network ("inference-free", doc-only models). */
    TOKEN_WEIGHTS("token-weights");

    final String manifestName;

    QueryEncoder(String manifestName) {
      this.manifestName = manifestName;
    }
  }

  /** Pruning of one side's vectors. */
  static final class Pruning {
    /** Keep at most this many terms, the heaviest; 0 keeps all. */
    final int topK;
    /** Keep only weights above this. */
    final float minWeight;

    Pruning(int topK, float minWeight) {
      this.topK = topK;
      this.minWeight = minWeight;
    }
  }

  final Activation activation;
  /** {@code pooling: none}: the output is already one vector per text, [batch, vocabulary]. */
  final boolean pooledOutput;
  final boolean maskSpecialTokens;
  final boolean skipSpecialTokenTerms;
  final Pruning document;
  final Pruning query;
  final QueryEncoder queryEncoder;
  final String queryTokenWeightsFile;
  final String queryTokenWeightsSha256;

  private SparseSettings(Map<String, Object> s) {
    for (String key : s.keySet()) {
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown key 'sparse." + key + "'; known keys are " + new java.util.TreeSet<>(KNOWN_KEYS));
      }
    }
    this.activation = activation(string(s, "activation", "log1p-relu"));
    String pooling = string(s, "pooling", "max");
    switch (pooling) {
      case "max":
        this.pooledOutput = false;
        break;
      case "none":
        this.pooledOutput = true;
        break;
      default:
        throw new IllegalArgumentException("'sparse.pooling' must be max or none, got '" + pooling + "'");
    }
    this.maskSpecialTokens = bool(s, "maskSpecialTokens", false);
    if (pooledOutput && maskSpecialTokens) {
      throw new IllegalArgumentException(
          "'sparse.maskSpecialTokens' needs token-level output; with 'sparse.pooling' none the graph pools, and masks, itself");
    }
    this.skipSpecialTokenTerms = bool(s, "skipSpecialTokenTerms", false);
    this.document = new Pruning(integer(s, "documentTopK"), weight(s, "documentMinWeight"));
    this.query = new Pruning(integer(s, "queryTopK"), weight(s, "queryMinWeight"));
    String encoder = string(s, "queryEncoder", "model");
    if (encoder.equals(QueryEncoder.MODEL.manifestName)) {
      this.queryEncoder = QueryEncoder.MODEL;
    } else if (encoder.equals(QueryEncoder.TOKEN_WEIGHTS.manifestName)) {
      this.queryEncoder = QueryEncoder.TOKEN_WEIGHTS;
    } else {
      throw new IllegalArgumentException("'sparse.queryEncoder' must be model or token-weights, got '" + encoder + "'");
    }
    this.queryTokenWeightsFile = string(s, "queryTokenWeightsFile", null);
    String sha = string(s, "queryTokenWeightsSha256", null);
    this.queryTokenWeightsSha256 = sha == null ? null : sha.toLowerCase(Locale.ROOT);
    if (queryEncoder == QueryEncoder.TOKEN_WEIGHTS) {
      if (queryTokenWeightsFile == null || queryTokenWeightsSha256 == null) {
        throw new IllegalArgumentException(
            "'sparse.queryEncoder' token-weights needs 'sparse.queryTokenWeightsFile' and 'sparse.queryTokenWeightsSha256'");
      }
      if (!queryTokenWeightsSha256.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("'sparse.queryTokenWeightsSha256' must be 64 hex digits (SHA-256)");
      }
    } else if (queryTokenWeightsFile != null || queryTokenWeightsSha256 != null) {
      throw new IllegalArgumentException("'sparse.queryTokenWeightsFile' is only used with 'sparse.queryEncoder' token-weights");
    }
  }

  /** Reads a manifest's {@code sparse} section (absent: all defaults). */
  static SparseSettings parse(Map<String, Object> section) {
    return new SparseSettings(section);
  }

  Pruning pruning(TextRole role) {
    return role == TextRole.QUERY ? query : document;
  }

  private static Activation activation(String value) {
    for (Activation a : Activation.values()) {
      if (a.manifestName.equals(value)) {
        return a;
      }
    }
    throw new IllegalArgumentException(
        "'sparse.activation' must be log1p-relu, log1p-log1p-relu, relu or none, got '" + value + "'");
  }

  private static String string(Map<String, Object> s, String key, String defaultValue) {
    Object v = s.get(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof String) || ((String) v).isEmpty()) {
      throw new IllegalArgumentException("'sparse." + key + "' must be a non-empty string");
    }
    return (String) v;
  }

  private static boolean bool(Map<String, Object> s, String key, boolean defaultValue) {
    Object v = s.get(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Boolean)) {
      throw new IllegalArgumentException("'sparse." + key + "' must be true or false");
    }
    return (Boolean) v;
  }

  private static int integer(Map<String, Object> s, String key) {
    Object v = s.get(key);
    if (v == null) {
      return 0;
    }
    if (!(v instanceof Number) || ((Number) v).doubleValue() != ((Number) v).intValue() || ((Number) v).intValue() < 0) {
      throw new IllegalArgumentException("'sparse." + key + "' must be a non-negative integer (0: no limit), got " + v);
    }
    return ((Number) v).intValue();
  }

  private static float weight(Map<String, Object> s, String key) {
    Object v = s.get(key);
    if (v == null) {
      return 0f;
    }
    if (!(v instanceof Number) || !(((Number) v).doubleValue() >= 0) || Double.isInfinite(((Number) v).doubleValue())) {
      throw new IllegalArgumentException("'sparse." + key + "' must be a finite non-negative number, got " + v);
    }
    return ((Number) v).floatValue();
  }
}
