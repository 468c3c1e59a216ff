package org.neuralsolr.eval;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/** The lexical rules of trec_eval's whitespace-separated input files and of its printed numbers. */
final class TrecFormat {
  private TrecFormat() {}

  /**
   * Ids are whitespace-free tokens in TREC files; one with whitespace could be written but would be
   * read back as two fields, so it is refused up front.
   */
  static void checkId(String id, String what) {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException(what + " is empty");
    }
    for (int i = 0; i < id.length(); i++) {
      if (isCSpace(id.charAt(i))) {
        throw new IllegalArgumentException(what + " '" + id + "' contains whitespace");
      }
    }
  }

  /** C's isspace() in the "C" locale, which is what trec_eval splits its fields on. */
  static boolean isCSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u000B' || c == '\f';
  }

  /** Splits a line on runs of C whitespace; leading and trailing whitespace give no empty fields. */
  static List<String> fields(String line) {
    List<String> fields = new ArrayList<>(6);
    int i = 0;
    int n = line.length();
    while (i < n) {
      while (i < n && isCSpace(line.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && !isCSpace(line.charAt(i))) {
        i++;
      }
      if (i > start) {
        fields.add(line.substring(start, i));
      }
    }
    return fields;
  }

  /**
   * The value as trec_eval prints it ({@code %6.4f} without the padding): glibc rounds the exact
   * binary value half-to-even, whereas {@code String.format} rounds a shortened decimal half-up,
   * which differs on values such as 1/32 = 0.03125.
   */
  static String fourDecimals(double value) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException("not a finite value: " + value);
    }
    return new BigDecimal(value).setScale(4, RoundingMode.HALF_EVEN).toPlainString();
  }
}
