package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A parsed and validated {@code neural-model.json}. See {@code docs/model-package.md} for the
 * meaning of every key. Unknown top-level keys are refused so that a typo does not silently fall
 * back to a default.
 */
public final class ModelManifest {
  /** Graph inputs a manifest may list. */
  static final Set<String> KNOWN_INPUTS =
      Set.of("input_ids", "attention_mask", "token_type_ids", "position_ids");

  private static final Set<String> KNOWN_KEYS =
      Set.of(
          "name", "kind", "engine", "modelFile", "sha256", "tokenizerFile", "tokenizerSha256",
          "maxLength", "maxPositions", "inputs", "output", "dimension", "pooling", "normalize", "queryPrefix",
          "documentPrefix", "instructions", "paddingSide", "eosToken", "device", "description", "license",
          "source",
          // kind-specific sections, read by the encoders of those kinds
          "sparse", "multivector", "crossEncoder", "causalLm");

  public enum Engine {
    ONNX("OnnxRuntime"),
    PYTORCH("PyTorch");

    /** DJL's name for the engine. */
    final String djlName;

    Engine(String djlName) {
      this.djlName = djlName;
    }

    static Engine fromManifest(String value) {
      switch (value.toLowerCase(Locale.ROOT)) {
        case "onnx":
        case "onnxruntime":
          return ONNX;
        case "pytorch":
        case "torchscript":
          return PYTORCH;
        default:
          throw new IllegalArgumentException("unknown engine '" + value + "' (expected onnx or pytorch)");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public final String name;
  public final ModelKind kind;
  public final Engine engine;
  final String modelFile;
  public final String sha256;
  final String tokenizerFile;
  public final String tokenizerSha256;
  public final int maxLength;
  /**
   * The longest input the model itself reads ({@code maxPositions}: its config's {@code
   * max_position_embeddings}), or 0 when the manifest does not say; {@code maxLength} may be set up
   * to it and not beyond, where the position table ends or the model was never trained.
   */
  public final int maxPositions;
  final List<String> inputs;
  final String output;
  /** Size of the output's last axis, or 0 when the kind does not need it. */
  public final int dimension;
  final Pooling pooling;
  final boolean normalize;
  public final String queryPrefix;
  public final String documentPrefix;
  /** The prefixes and named instruction templates, per role. */
  final Instructions instructions;
  /** The side the graph expects padding on ({@code paddingSide}; right unless stated). */
  final PaddingSide paddingSide;
  /**
   * A token appended to every text after tokenising ({@code eosToken}), or null: decoder embedders
   * pool the end-of-sequence token's state, and many tokenizers do not add it.
   */
  final String eosToken;
  final DeviceRequest device;
  /** The {@code sparse} section of a sparse model, or null for other kinds. */
  final SparseSettings sparse;
  private final Map<String, Object> json;

  private ModelManifest(Map<String, Object> json) {
    this.json = json;
    this.name = requireString("name");
    this.kind = ModelKind.fromManifest(requireString("kind"));
    this.engine = Engine.fromManifest(requireString("engine"));
    this.modelFile = requireString("modelFile");
    this.sha256 = requireSha("sha256");
    this.tokenizerFile = requireString("tokenizerFile");
    this.tokenizerSha256 = requireSha("tokenizerSha256");
    this.maxLength = requireInt("maxLength", 2, 1 << 20);
    this.maxPositions = json.containsKey("maxPositions") ? requireInt("maxPositions", 2, 1 << 20) : 0;
    if (maxPositions > 0 && maxLength > maxPositions) {
      throw new IllegalArgumentException(
          "'maxLength' " + maxLength + " is above the model's own limit 'maxPositions' " + maxPositions
              + "; set 'maxLength' to at most " + maxPositions);
    }
    this.inputs = requireInputs();
    this.output = requireString("output");
    boolean needsDimension = kind == ModelKind.DENSE || kind == ModelKind.MULTIVECTOR;
    this.dimension = needsDimension || json.containsKey("dimension") ? requireInt("dimension", 1, 1 << 16) : 0;
    this.pooling = kind == ModelKind.DENSE ? Pooling.fromManifest(requireString("pooling")) : null;
    this.normalize = optionalBoolean("normalize", false);
    this.queryPrefix = optionalString("queryPrefix", "");
    this.documentPrefix = optionalString("documentPrefix", "");
    this.instructions = Instructions.parse(json.get("instructions"), queryPrefix, documentPrefix);
    this.paddingSide = PaddingSide.fromManifest(optionalString("paddingSide", "right"));
    if (paddingSide == PaddingSide.LEFT && !inputs.contains("attention_mask")) {
      // without a mask a left-padded row's real tokens would attend to the padding before them
      throw new IllegalArgumentException("'paddingSide' left needs 'attention_mask' in 'inputs'");
    }
    this.eosToken = json.containsKey("eosToken") ? requireString("eosToken") : null;
    if (eosToken != null && kind != ModelKind.DENSE) {
      throw new IllegalArgumentException("'eosToken' is for dense models (decoder embedders), not " + kind);
    }
    this.device = DeviceRequest.parse(optionalString("device", "auto"));
    this.sparse = kind == ModelKind.SPARSE ? SparseSettings.parse(section("sparse")) : null;
  }

  /**
   * Validates a manifest's JSON object.
   *
   * @param source where the manifest came from, for error messages
   */
  static ModelManifest parse(Object parsedJson, String source) {
    if (!(parsedJson instanceof Map)) {
      throw new ModelPackageException("manifest " + source + " is not a JSON object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> json = (Map<String, Object>) parsedJson;
    for (String key : json.keySet()) {
      if (!KNOWN_KEYS.contains(key)) {
        throw new ModelPackageException("manifest " + source + ": unknown key '" + key + "'");
      }
    }
    try {
      return new ModelManifest(json);
    } catch (IllegalArgumentException e) {
      throw new ModelPackageException("manifest " + source + ": " + e.getMessage(), e);
    }
  }

  /** A kind-specific section such as {@code "multivector": {...}}; empty when absent. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> section(String key) {
    Object value = json.get(key);
    if (value == null) {
      return Collections.emptyMap();
    }
    if (!(value instanceof Map)) {
      throw new ModelPackageException("manifest of '" + name + "': '" + key + "' must be an object");
    }
    return (Map<String, Object>) value;
  }

  private String requireString(String key) {
    Object value = json.get(key);
    if (!(value instanceof String) || ((String) value).isEmpty()) {
      throw new IllegalArgumentException("'" + key + "' must be a non-empty string");
    }
    return (String) value;
  }

  private String optionalString(String key, String defaultValue) {
    Object value = json.get(key);
    if (value == null) {
      return defaultValue;
    }
    if (!(value instanceof String)) {
      throw new IllegalArgumentException("'" + key + "' must be a string");
    }
    return (String) value;
  }

  private boolean optionalBoolean(String key, boolean defaultValue) {
    Object value = json.get(key);
    if (value == null) {
      return defaultValue;
    }
    if (!(value instanceof Boolean)) {
      throw new IllegalArgumentException("'" + key + "' must be true or false");
    }
    return (Boolean) value;
  }

  private int requireInt(String key, int min, int max) {
    Object value = json.get(key);
    if (!(value instanceof Number) || ((Number) value).doubleValue() != ((Number) value).intValue()) {
      throw new IllegalArgumentException("'" + key + "' must be an integer");
    }
    int v = ((Number) value).intValue();
    if (v < min || v > max) {
      throw new IllegalArgumentException("'" + key + "' must be in [" + min + ", " + max + "], got " + v);
    }
    return v;
  }

  private String requireSha(String key) {
    String value = requireString(key).toLowerCase(Locale.ROOT);
    if (!value.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("'" + key + "' must be 64 hex digits (SHA-256)");
    }
    return value;
  }

  private List<String> requireInputs() {
    Object value = json.get("inputs");
    if (!(value instanceof List) || ((List<?>) value).isEmpty()) {
      throw new IllegalArgumentException("'inputs' must be a non-empty list of input names");
    }
    List<String> names = new ArrayList<>();
    for (Object o : (List<?>) value) {
      if (!KNOWN_INPUTS.contains(o)) {
        throw new IllegalArgumentException(
            "'inputs' holds '" + o + "'; expected some of " + KNOWN_INPUTS);
      }
      names.add((String) o);
    }
    if (!names.contains("input_ids")) {
      throw new IllegalArgumentException("'inputs' must contain input_ids");
    }
    return Collections.unmodifiableList(names);
  }

  @Override
  public String toString() {
    return name + " (" + kind + ", " + engine + ")";
  }
}
