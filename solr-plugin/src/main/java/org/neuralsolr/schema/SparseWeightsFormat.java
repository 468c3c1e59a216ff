package org.neuralsolr.schema;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.solr.common.util.Utils;

/**
 * The text forms of a sparse vector (term &rarr; weight) that documents and queries carry:
 *
 * <ul>
 *   <li>a JSON object, {@code {"solar": 1.25, "##s": 0.3}};
 *   <li>pairs, {@code solar:1.25,##s:0.3}: a pair's weight follows its last colon, so terms may
 *       hold colons; a comma or backslash inside a term is escaped with a backslash.
 * </ul>
 *
 * <p>Documents send the vector as a string in either form: Solr's update formats read a bare JSON
 * object as an atomic update or a child document, never as a field value. Values that reach a
 * field type as a {@code Map} (an atomic {@code set}, SolrJ) are read too.
 *
 * <p>Parsing checks the form only (every weight a number, no term twice); whether weights are
 * finite and non-negative is checked where they are used, by the Lucene field and query, whose
 * messages name the term.
 */
public final class SparseWeightsFormat {
  private SparseWeightsFormat() {}

  /**
   * Reads a vector from a string in either form or a map.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static Map<String, Float> parse(Object value) {
    if (value instanceof Map) {
      return fromMap((Map<?, ?>) value);
    }
    if (!(value instanceof CharSequence)) {
      throw new IllegalArgumentException(
          "sparse weights must be a string, a JSON object text '{\"term\": 0.5}' or pairs 'term:0.5,other:0.2', got "
              + (value == null ? "null" : value.getClass().getSimpleName()));
    }
    String text = value.toString().strip();
    if (text.startsWith("{")) {
      Object parsed;
      try {
        parsed = Utils.fromJSONString(text);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("sparse weights are not valid JSON: " + e.getMessage(), e);
      }
      if (!(parsed instanceof Map)) {
        throw new IllegalArgumentException("sparse weights in JSON must be an object term -> weight");
      }
      return fromMap((Map<?, ?>) parsed);
    }
    return fromPairs(text);
  }

  private static Map<String, Float> fromMap(Map<?, ?> map) {
    Map<String, Float> weights = new LinkedHashMap<>(map.size() * 2);
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String term = String.valueOf(e.getKey());
      Object w = e.getValue();
      if (!(w instanceof Number)) {
        throw new IllegalArgumentException("the weight of term '" + term + "' is not a number: " + w);
      }
      weights.put(term, ((Number) w).floatValue());
    }
    return weights;
  }

  private static Map<String, Float> fromPairs(String text) {
    Map<String, Float> weights = new LinkedHashMap<>();
    if (text.isEmpty()) {
      return weights;
    }
    StringBuilder pair = new StringBuilder();
    int lastColon = -1; // in pair, the position of the last unescaped colon
    for (int i = 0; i <= text.length(); i++) {
      char c = i < text.length() ? text.charAt(i) : ',';
      if (c == '\\' && i + 1 < text.length()) {
        pair.append(text.charAt(++i));
      } else if (c == ',') {
        addPair(weights, pair, lastColon);
        pair.setLength(0);
        lastColon = -1;
      } else {
        if (c == ':') {
          lastColon = pair.length();
        }
        pair.append(c);
      }
    }
    return weights;
  }

  private static void addPair(Map<String, Float> weights, StringBuilder pair, int colon) {
    if (colon < 0) {
      throw new IllegalArgumentException("'" + pair + "' is not term:weight");
    }
    String term = pair.substring(0, colon).strip();
    String weight = pair.substring(colon + 1).strip();
    float w;
    try {
      w = Float.parseFloat(weight);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("the weight of term '" + term + "' is not a number: '" + weight + "'");
    }
    if (weights.put(term, w) != null) {
      throw new IllegalArgumentException("term '" + term + "' appears twice");
    }
  }

  /** The JSON object form, compact, weights as the shortest decimal that reads back the same float. */
  public static String toJson(Map<String, ? extends Number> weights) {
    StringBuilder sb = new StringBuilder(weights.size() * 16 + 2).append('{');
    for (Map.Entry<String, ? extends Number> e : weights.entrySet()) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      appendString(sb, e.getKey());
      sb.append(':').append(Float.toString(e.getValue().floatValue()));
    }
    return sb.append('}').toString();
  }

  private static void appendString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    sb.append('"');
  }
}
