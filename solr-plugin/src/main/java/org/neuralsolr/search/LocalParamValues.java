package org.neuralsolr.search;

import java.util.function.Function;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.params.SolrParams;

/** Reading checked values of query parsers' local params; each parser words its own 400s. */
final class LocalParamValues {
  private LocalParamValues() {}

  /**
   * The integer local param {@code name} between {@code min} and {@code max}, or {@code
   * defaultValue} when absent.
   *
   * @param maxName what bounds it from above, for the message, or null when {@code max} is not worth naming
   * @param badRequest turns a message into the parser's HTTP 400
   */
  static int intParam(
      SolrParams localParams, String name, int defaultValue, int min, int max, String maxName, Function<String, SolrException> badRequest) {
    String value = localParams.get(name);
    if (value == null) {
      return defaultValue;
    }
    int v;
    try {
      v = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest.apply("param '" + name + "' must be an integer, got '" + value + "'");
    }
    if (v < min || v > max) {
      String range = max == Integer.MAX_VALUE ? "at least " + min : "between " + min + " and " + max + (maxName != null ? " (" + maxName + ")" : "");
      throw badRequest.apply("param '" + name + "' must be " + range + ", got " + v);
    }
    return v;
  }

  /**
   * Whether {@code text} holds a character a model can read: not only whitespace, control and
   * format characters (zero-width spaces and joiners, byte order marks, soft hyphens), which
   * tokenizers drop, leaving nothing to encode.
   */
  static boolean hasVisibleText(String text) {
    return text != null
        && text.codePoints()
            .anyMatch(c -> !Character.isWhitespace(c) && !Character.isSpaceChar(c) && !Character.isISOControl(c) && Character.getType(c) != Character.FORMAT);
  }
}
