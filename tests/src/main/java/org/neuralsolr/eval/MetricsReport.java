package org.neuralsolr.eval;

import java.util.Collections;
import java.util.Set;
import java.util.SortedMap;

/**
 * The result of one evaluation: per-query values, means and which queries were counted. Its
 * {@link #toString()} is what the evaluation tool prints; the last line is {@link #summaryLine()}.
 */
public final class MetricsReport {
  private final SortedMap<String, RankingMetrics> perQuery;
  private final Set<String> missingFromRun;
  private final int runQueriesWithoutQrels;
  private final RankingMetrics mean;
  private final RankingMetrics meanCountingMissingAsZero;

  MetricsReport(
      SortedMap<String, RankingMetrics> perQuery,
      Set<String> missingFromRun,
      int runQueriesWithoutQrels) {
    this.perQuery = Collections.unmodifiableSortedMap(perQuery);
    this.missingFromRun = Collections.unmodifiableSet(missingFromRun);
    this.runQueriesWithoutQrels = runQueriesWithoutQrels;
    this.mean = RankingMetrics.mean(perQuery.values(), perQuery.size());
    this.meanCountingMissingAsZero =
        RankingMetrics.mean(perQuery.values(), perQuery.size() + missingFromRun.size());
  }

  /** Per evaluated query (in the run and in the qrels), ordered by id as trec_eval orders them. */
  public SortedMap<String, RankingMetrics> perQuery() {
    return perQuery;
  }

  /** Mean over the evaluated queries: trec_eval's default and BEIR's figure. */
  public RankingMetrics mean() {
    return mean;
  }

  /** Mean over every query in the qrels, missing ones counted as 0: trec_eval {@code -c}. */
  public RankingMetrics meanCountingMissingAsZero() {
    return meanCountingMissingAsZero;
  }

  /** Queries of the qrels for which the run retrieved nothing. */
  public Set<String> queriesMissingFromRun() {
    return missingFromRun;
  }

  /** Queries of the run that the qrels do not judge; they count nowhere. */
  public int runQueriesWithoutQrels() {
    return runQueriesWithoutQrels;
  }

  /** {@code ndcg@10=X.XXXX recall@100=Y.YYYY}, the means rounded as trec_eval prints them. */
  public String summaryLine() {
    return "ndcg@10=" + TrecFormat.fourDecimals(mean.ndcgAt10())
        + " recall@100=" + TrecFormat.fourDecimals(mean.recallAt100());
  }

  @Override
  public String toString() {
    StringBuilder out = new StringBuilder();
    out.append("queries: ").append(perQuery.size()).append(" evaluated");
    out.append(", ").append(missingFromRun.size()).append(" in qrels but absent from the run");
    if (!missingFromRun.isEmpty()) {
      out.append(" (left out of the mean, as trec_eval does without -c; counting them as 0: ")
          .append("ndcg@10=").append(TrecFormat.fourDecimals(meanCountingMissingAsZero.ndcgAt10()))
          .append(" recall@100=")
          .append(TrecFormat.fourDecimals(meanCountingMissingAsZero.recallAt100()))
          .append(')');
    }
    out.append(", ").append(runQueriesWithoutQrels).append(" in the run without qrels (ignored)\n");
    out.append("map=").append(TrecFormat.fourDecimals(mean.averagePrecision()))
        .append(" P@10=").append(TrecFormat.fourDecimals(mean.precisionAt10()))
        .append(" recip_rank=").append(TrecFormat.fourDecimals(mean.reciprocalRank()))
        .append('\n');
    out.append(summaryLine());
    return out.toString();
  }
}
