package org.neuralsolr.eval;

import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Scores a run against qrels exactly as trec_eval 9.x does with
 * {@code -m ndcg_cut.10 -m recall.100 -m map -m P.10 -m recip_rank}.
 *
 * <p>Which queries count: a query is evaluated when it is both in the run and in the qrels (with
 * judgments of any level, so a query judged only non-relevant is evaluated and scores 0). Queries
 * of the run without qrels are ignored. Queries of the qrels that the run lacks are left out of the
 * {@link MetricsReport#mean() mean}, as trec_eval does by default and as BEIR's pytrec_eval-based
 * evaluation does; {@link MetricsReport#meanCountingMissingAsZero()} is trec_eval {@code -c}, which
 * counts them as 0. Both report the missing queries so that a system that silently returns nothing
 * for some queries is visible.
 */
public final class TrecEvaluator {
  private TrecEvaluator() {}

  /**
   * @throws IllegalArgumentException when no query is both in the run and in the qrels, where
   *     trec_eval stops with "No queries with both results and relevance info"
   */
  public static MetricsReport evaluate(Qrels qrels, Run run) {
    return evaluate(qrels, run, TrecOrder.TREC_EVAL);
  }

  /** With another ranking order: only for proving that the tests can tell orders apart. */
  static MetricsReport evaluate(Qrels qrels, Run run, Comparator<ScoredDoc> order) {
    SortedMap<String, RankingMetrics> perQuery = new TreeMap<>(TrecOrder.UTF8_IDS);
    int runQueriesWithoutQrels = 0;
    for (String queryId : run.queryIds()) {
      if (!qrels.queryIds().contains(queryId)) {
        runQueriesWithoutQrels++;
        continue;
      }
      JudgedRanking ranking =
          JudgedRanking.of(qrels.judgments(queryId), TrecOrder.rank(run.docs(queryId), order));
      perQuery.put(queryId, RankingMetrics.of(ranking));
    }
    if (perQuery.isEmpty()) {
      throw new IllegalArgumentException("no query is both in the run and in the qrels");
    }
    Set<String> missingFromRun = new LinkedHashSet<>(qrels.queryIds());
    missingFromRun.removeAll(run.queryIds());
    return new MetricsReport(perQuery, missingFromRun, runQueriesWithoutQrels);
  }
}
