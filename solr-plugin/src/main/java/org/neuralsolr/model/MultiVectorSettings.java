package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The manifest's {@code multivector} section: ColBERT conventions for {@code multivector} models,
 * and how a {@code dense} model's token states are taken. See {@code docs/model-package.md}.
 */
final class MultiVectorSettings {
  /** ColBERT's skip-list: the single characters of Python's {@code string.punctuation}. */
  static final List<String> PUNCTUATION;

  static {
    List<String> p = new ArrayList<>();
    for (char c : "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".toCharArray()) {
      p.add(String.valueOf(c));
    }
    PUNCTUATION = List.copyOf(p);
  }

  private static final Set<String> COLBERT_KEYS =
      Set.of(
          "queryMarker", "documentMarker", "queryLength", "queryPadToken", "attendToMaskTokens",
          "skipList", "normalize", "similarity");
  private static final Set<String> TOKEN_STATES_KEYS =
      Set.of("queryPrefix", "documentPrefix", "skipList", "skipSpecialTokens");

  final String queryMarker;
  final String documentMarker;
  final int queryLength;
  final String queryPadToken;
  final boolean attendToMaskTokens;
  final List<String> skipList;
  final boolean normalize;
  /** Token-states mode: prefixes of their own (the dense prefixes when absent). */
  final String queryPrefix;
  final String documentPrefix;
  /** Token-states mode: drop the tokens the tokenizer adds ([CLS], [SEP]) from documents. */
  final boolean skipSpecialTokens;

  private MultiVectorSettings(ModelManifest manifest, Map<String, Object> section) {
    boolean colbert = manifest.kind == ModelKind.MULTIVECTOR;
    Set<String> known = colbert ? COLBERT_KEYS : TOKEN_STATES_KEYS;
    for (String key : section.keySet()) {
      if (!known.contains(key)) {
        throw new ModelPackageException(
            "manifest of '" + manifest.name + "': unknown key 'multivector." + key + "' for a " + manifest.kind
                + " model; expected some of " + known);
      }
    }
    this.queryMarker = string(manifest, section, "queryMarker", "[unused0]");
    this.documentMarker = string(manifest, section, "documentMarker", "[unused1]");
    this.queryLength = integer(manifest, section, "queryLength", 32);
    this.queryPadToken = string(manifest, section, "queryPadToken", "[MASK]");
    this.attendToMaskTokens = bool(manifest, section, "attendToMaskTokens", false);
    this.skipList = strings(manifest, section, "skipList", PUNCTUATION);
    this.normalize = bool(manifest, section, "normalize", true);
    this.queryPrefix = string(manifest, section, "queryPrefix", manifest.queryPrefix);
    this.documentPrefix = string(manifest, section, "documentPrefix", manifest.documentPrefix);
    this.skipSpecialTokens = bool(manifest, section, "skipSpecialTokens", true);
    Object similarity = section.get("similarity");
    if (similarity != null && !"maxsim".equals(similarity)) {
      throw new ModelPackageException("manifest of '" + manifest.name + "': multivector.similarity must be maxsim");
    }
    if (colbert && (queryLength < 4 || queryLength > manifest.maxLength)) {
      throw new ModelPackageException(
          "manifest of '" + manifest.name + "': multivector.queryLength must be in [4, maxLength], got " + queryLength);
    }
  }

  static MultiVectorSettings of(ModelManifest manifest) {
    return new MultiVectorSettings(manifest, manifest.section("multivector"));
  }

  private static String string(ModelManifest m, Map<String, Object> s, String key, String def) {
    Object v = s.get(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof String)) {
      throw new ModelPackageException("manifest of '" + m.name + "': multivector." + key + " must be a string");
    }
    return (String) v;
  }

  private static boolean bool(ModelManifest m, Map<String, Object> s, String key, boolean def) {
    Object v = s.get(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof Boolean)) {
      throw new ModelPackageException("manifest of '" + m.name + "': multivector." + key + " must be true or false");
    }
    return (Boolean) v;
  }

  private static int integer(ModelManifest m, Map<String, Object> s, String key, int def) {
    Object v = s.get(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof Number) || ((Number) v).doubleValue() != ((Number) v).intValue()) {
      throw new ModelPackageException("manifest of '" + m.name + "': multivector." + key + " must be an integer");
    }
    return ((Number) v).intValue();
  }

  private static List<String> strings(ModelManifest m, Map<String, Object> s, String key, List<String> def) {
    Object v = s.get(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof List)) {
      throw new ModelPackageException("manifest of '" + m.name + "': multivector." + key + " must be a list of tokens");
    }
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) v) {
      if (!(o instanceof String)) {
        throw new ModelPackageException("manifest of '" + m.name + "': multivector." + key + " must be a list of tokens");
      }
      out.add((String) o);
    }
    return List.copyOf(out);
  }
}
