package org.neuralsolr.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The order in which trec_eval 9.x ranks a query's retrieved documents (form_res_rels.c,
 * comp_sim_docno): score descending, ties broken by doc id in descending {@code strcmp} order.
 *
 * <p>Two details make ties where a double comparison sees none. trec_eval 9.x keeps scores as C
 * {@code float} (TEXT_RESULTS.sim), so scores equal after rounding to float tie; trec_eval 10 keeps
 * double, which only differs for scores that are not floats to begin with (Solr's and Lucene's
 * are). And C compares with {@code >}/{@code <}, so -0.0 and 0.0 tie, unlike {@link Float#compare}.
 */
final class TrecOrder {
  private TrecOrder() {}

  static final Comparator<ScoredDoc> TREC_EVAL = TrecOrder::compareTrecEval;

  /** Query ids in the order trec_eval processes and prints them. */
  static final Comparator<String> UTF8_IDS = TrecOrder::compareAsUtf8;

  private static int compareTrecEval(ScoredDoc a, ScoredDoc b) {
    float sa = (float) a.score();
    float sb = (float) b.score();
    if (sa > sb) {
      return -1;
    }
    if (sa < sb) {
      return 1;
    }
    return compareAsUtf8(b.docId(), a.docId());
  }

  /** The documents in trec_eval's rank order; the input is left as it was. */
  static List<ScoredDoc> rank(List<ScoredDoc> docs, Comparator<ScoredDoc> order) {
    List<ScoredDoc> ranked = new ArrayList<>(docs);
    ranked.sort(order);
    return ranked;
  }

  /**
   * {@code strcmp} on the UTF-8 bytes (glibc compares bytes unsigned). Code point order is UTF-8
   * byte order; {@link String#compareTo} compares UTF-16 units, which puts U+E000..U+FFFF after
   * supplementary characters and so disagrees with trec_eval on such ids.
   */
  static int compareAsUtf8(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }
}
