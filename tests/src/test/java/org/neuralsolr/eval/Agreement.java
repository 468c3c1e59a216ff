package org.neuralsolr.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Our values next to trec_eval's, measure by measure, query by query and for the mean. */
final class Agreement {
  /** trec_eval prints 4 decimals, so an exact implementation is never further off than this. */
  static final double PRINTED_PRECISION = 5e-5 + 1e-12;

  record Difference(String measure, String queryId, double ours, double trecEval) {
    double size() {
      return Math.abs(ours - trecEval);
    }

    @Override
    public String toString() {
      return measure + " " + queryId + ": ours " + ours + ", trec_eval " + trecEval;
    }
  }

  final List<Difference> differences = new ArrayList<>();
  final MetricsReport report;
  /** Queries evaluated by us and by trec_eval, when they differ; empty when they agree. */
  final String querySetMismatch;

  private Agreement(MetricsReport report, String querySetMismatch) {
    this.report = report;
    this.querySetMismatch = querySetMismatch;
  }

  static Agreement compare(
      Qrels qrels, Run run, Comparator<ScoredDoc> order, TrecEvalOracle.Output trecEval,
      boolean averageOverAllQrelsQueries) {
    MetricsReport report = TrecEvaluator.evaluate(qrels, run, order);
    Map<String, JudgedRanking> rankings = new LinkedHashMap<>();
    for (String queryId : report.perQuery().keySet()) {
      rankings.put(
          queryId, JudgedRanking.of(qrels.judgments(queryId), TrecOrder.rank(run.docs(queryId), order)));
    }
    Set<String> theirQueries = new TreeSet<>(trecEval.valuesByMeasure().get("map").keySet());
    theirQueries.remove("all");
    String mismatch =
        theirQueries.equals(new TreeSet<>(rankings.keySet()))
            ? ""
            : "evaluated queries differ: ours " + new TreeSet<>(rankings.keySet())
                + ", trec_eval " + theirQueries;
    Agreement agreement = new Agreement(report, mismatch);
    RankingMetrics mean =
        averageOverAllQrelsQueries ? report.meanCountingMissingAsZero() : report.mean();
    int denominator = averageOverAllQrelsQueries ? qrels.queryIds().size() : rankings.size();

    trecEval.valuesByMeasure().forEach((measure, byQuery) -> {
      double sum = 0;
      for (Map.Entry<String, JudgedRanking> e : rankings.entrySet()) {
        double ours = value(measure, e.getValue());
        Double theirs = byQuery.get(e.getKey());
        if (theirs != null) {
          agreement.differences.add(new Difference(measure, e.getKey(), ours, theirs));
        }
        sum += ours;
      }
      double ourMean = headline(measure, mean);
      if (Double.isNaN(ourMean)) {
        ourMean = sum / denominator;
      }
      agreement.differences.add(new Difference(measure, "all", ourMean, byQuery.get("all")));
    });
    // the public per-query values must be the ones compared above
    report.perQuery().forEach((queryId, m) -> {
      JudgedRanking r = rankings.get(queryId);
      for (String measure : List.of("ndcg_cut_10", "recall_100", "map", "P_10", "recip_rank")) {
        agreement.differences.add(new Difference(
            measure + " (report)", queryId, headline(measure, m), value(measure, r)));
      }
    });
    return agreement;
  }

  /** The largest difference, to show a wrong variant would fail the test by a wide margin. */
  Difference largest() {
    return differences.stream().max(Comparator.comparingDouble(Difference::size)).orElseThrow();
  }

  List<Difference> beyond(double tolerance) {
    return differences.stream().filter(d -> !(d.size() <= tolerance)).toList();
  }

  private static double headline(String measure, RankingMetrics m) {
    switch (measure) {
      case "ndcg_cut_10": return m.ndcgAt10();
      case "recall_100": return m.recallAt100();
      case "map": return m.averagePrecision();
      case "P_10": return m.precisionAt10();
      case "recip_rank": return m.reciprocalRank();
      default: return Double.NaN;
    }
  }

  private static double value(String measure, JudgedRanking r) {
    if (measure.equals("map")) {
      return r.averagePrecision();
    }
    if (measure.equals("recip_rank")) {
      return r.reciprocalRank();
    }
    int cut = measure.lastIndexOf('_');
    int k = Integer.parseInt(measure.substring(cut + 1));
    switch (measure.substring(0, cut)) {
      case "ndcg_cut": return r.ndcg(k);
      case "recall": return r.recall(k);
      case "P": return r.precision(k);
      default: throw new IllegalArgumentException("measure not compared: " + measure);
    }
  }
}
