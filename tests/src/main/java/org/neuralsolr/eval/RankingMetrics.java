package org.neuralsolr.eval;

import java.util.Collection;

/**
 * The measures the evaluation tool reports, for one query or as a mean; each equals the trec_eval
 * 9.x measure named beside it.
 *
 * @param ndcgAt10 {@code ndcg_cut.10}
 * @param recallAt100 {@code recall.100}
 * @param averagePrecision {@code map}
 * @param precisionAt10 {@code P.10}
 * @param reciprocalRank {@code recip_rank}
 */
public record RankingMetrics(
    double ndcgAt10,
    double recallAt100,
    double averagePrecision,
    double precisionAt10,
    double reciprocalRank) {

  static RankingMetrics of(JudgedRanking ranking) {
    return new RankingMetrics(
        ranking.ndcg(10),
        ranking.recall(100),
        ranking.averagePrecision(),
        ranking.precision(10),
        ranking.reciprocalRank());
  }

  /** Sums the values and divides by {@code denominator}, as trec_eval averages. */
  static RankingMetrics mean(Collection<RankingMetrics> values, int denominator) {
    double ndcg = 0;
    double recall = 0;
    double map = 0;
    double precision = 0;
    double rr = 0;
    for (RankingMetrics v : values) {
      ndcg += v.ndcgAt10;
      recall += v.recallAt100;
      map += v.averagePrecision;
      precision += v.precisionAt10;
      rr += v.reciprocalRank;
    }
    return new RankingMetrics(
        ndcg / denominator,
        recall / denominator,
        map / denominator,
        precision / denominator,
        rr / denominator);
  }
}
