package org.neuralsolr.eval;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One query's ranking seen through its judgments: the relevance level at each rank, plus the
 * levels of all judged documents, from which the measures are computed the way trec_eval 9.x's
 * m_ndcg_cut.c, m_recall.c, m_P.c, m_map.c and m_recip_rank.c compute them.
 *
 * <p>A retrieved document absent from the qrels counts as level 0: trec_eval marks it
 * "not in pool" (-1) but, like a judged 0 or negative level, it is neither relevant nor a gain.
 */
final class JudgedRanking {
  /** trec_eval's default relevance threshold ({@code -l 1}). */
  static final int RELEVANT_LEVEL = 1;

  private final int[] levelByRank;
  private final int[] idealGains;
  private final int relevantCount;

  private JudgedRanking(int[] levelByRank, int[] idealGains, int relevantCount) {
    this.levelByRank = levelByRank;
    this.idealGains = idealGains;
    this.relevantCount = relevantCount;
  }

  /** @param ranked the retrieved documents, already in rank order */
  static JudgedRanking of(Map<String, Integer> judgments, List<ScoredDoc> ranked) {
    int[] levelByRank = new int[ranked.size()];
    for (int i = 0; i < levelByRank.length; i++) {
      levelByRank[i] = judgments.getOrDefault(ranked.get(i).docId(), 0);
    }
    // The ideal ranking puts every judged document with a positive level first, highest level first,
    // whether or not the system retrieved it.
    int[] idealGains =
        judgments.values().stream().mapToInt(Integer::intValue).filter(l -> l > 0).sorted().toArray();
    reverse(idealGains);
    int relevantCount =
        (int) judgments.values().stream().filter(l -> l >= RELEVANT_LEVEL).count();
    return new JudgedRanking(levelByRank, idealGains, relevantCount);
  }

  /**
   * nDCG at k: gain = level, discount log2(rank + 1), ideal DCG from the judged levels cut at k.
   * A query without a positive judgment scores 0 (its DCG is necessarily 0 too).
   */
  double ndcg(int k) {
    checkCutoff(k);
    double dcg = 0;
    for (int i = 0; i < Math.min(k, levelByRank.length); i++) {
      if (levelByRank[i] > 0) {
        dcg += levelByRank[i] / log2(i + 2);
      }
    }
    double idealDcg = 0;
    for (int i = 0; i < Math.min(k, idealGains.length); i++) {
      idealDcg += idealGains[i] / log2(i + 2);
    }
    return idealDcg > 0 ? dcg / idealDcg : 0;
  }

  /** Relevant documents in the top k over all relevant documents; 0 when there are none. */
  double recall(int k) {
    checkCutoff(k);
    return relevantCount == 0 ? 0 : (double) relevantInTop(k) / relevantCount;
  }

  /** Relevant documents in the top k over k, even when fewer than k were retrieved. */
  double precision(int k) {
    checkCutoff(k);
    return (double) relevantInTop(k) / k;
  }

  /** Average precision over all relevant documents, retrieved or not. */
  double averagePrecision() {
    double sum = 0;
    int relevantSoFar = 0;
    for (int i = 0; i < levelByRank.length; i++) {
      if (levelByRank[i] >= RELEVANT_LEVEL) {
        relevantSoFar++;
        sum += (double) relevantSoFar / (i + 1);
      }
    }
    return relevantSoFar == 0 ? 0 : sum / relevantCount;
  }

  /** 1 / rank of the first relevant document; 0 when none was retrieved. */
  double reciprocalRank() {
    for (int i = 0; i < levelByRank.length; i++) {
      if (levelByRank[i] >= RELEVANT_LEVEL) {
        return 1.0 / (i + 1);
      }
    }
    return 0;
  }

  private int relevantInTop(int k) {
    int count = 0;
    for (int i = 0; i < Math.min(k, levelByRank.length); i++) {
      if (levelByRank[i] >= RELEVANT_LEVEL) {
        count++;
      }
    }
    return count;
  }

  private static double log2(int x) {
    return Math.log(x) / Math.log(2);
  }

  private static void checkCutoff(int k) {
    if (k <= 0) {
      throw new IllegalArgumentException("cutoff must be positive: " + k);
    }
  }

  private static void reverse(int[] values) {
    for (int i = 0, j = values.length - 1; i < j; i++, j--) {
      int t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }

  @Override
  public String toString() {
    return "levels " + Arrays.toString(levelByRank) + ", ideal " + Arrays.toString(idealGains);
  }
}
