package org.neuralsolr.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The statistics of a learned sparse collection that {@link SparseCollectionGenerator} reproduces,
 * measured the same way on real vectors (to fit the generator) and on generated ones (to report the
 * fit): terms per document and per query, the document frequency of the term at each rank of the
 * vocabulary (terms sorted by decreasing document frequency), each document's weight level (its
 * median weight), the weights of document terms relative to their document's level and of query
 * terms, by the rank bucket of the term, and how queries meet their relevant document (the share of
 * a query's terms that the document holds, and the ranks of the query terms it does not hold).
 *
 * <p>Everything is a JSON-ready map of lists, so that the fit is a file in the repository
 * ({@code sparse-proxy-fit.json}) and the bench needs no model and no encoding to run.
 */
final class SparseCollectionStats {
  /** Upper bounds (exclusive) of the rank buckets of weights; the last bucket is every rank above. */
  static final int[] BUCKET_BOUNDS = {10, 100, 1000, 10000};
  /** Weight bucket of query terms that no document of the sample holds. */
  static final int UNSEEN_BUCKET = BUCKET_BOUNDS.length + 1;
  static final int QUANTILES = 101; // 0th to 100th percentile

  private SparseCollectionStats() {}

  static int bucket(int rank) {
    for (int b = 0; b < BUCKET_BOUNDS.length; b++) {
      if (rank < BUCKET_BOUNDS[b]) {
        return b;
      }
    }
    return BUCKET_BOUNDS.length;
  }

  /**
   * @param docs document vectors
   * @param queries query vectors
   * @param relevant for each query, one of its relevant documents' vectors, or null where none is
   *     in {@code docs}
   */
  static Map<String, Object> measure(
      List<Map<String, Float>> docs, List<Map<String, Float>> queries, List<Map<String, Float>> relevant) {
    Map<String, Integer> df = new HashMap<>();
    for (Map<String, Float> d : docs) {
      for (String t : d.keySet()) {
        df.merge(t, 1, Integer::sum);
      }
    }
    List<String> byDf = new ArrayList<>(df.keySet());
    byDf.sort((a, b) -> df.get(a).equals(df.get(b)) ? a.compareTo(b) : Integer.compare(df.get(b), df.get(a)));
    Map<String, Integer> rank = new HashMap<>();
    int[] dfs = new int[byDf.size()];
    for (int r = 0; r < byDf.size(); r++) {
      rank.put(byDf.get(r), r);
      dfs[r] = df.get(byDf.get(r));
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("documents", docs.size());
    s.put("queries", queries.size());
    s.put("observedTerms", dfs.length);
    s.put("singletonTerms", Arrays.stream(dfs).filter(x -> x == 1).count());
    s.put("docTerms", quantiles(docs.stream().mapToDouble(Map::size).toArray()));
    s.put("queryTerms", quantiles(queries.stream().mapToDouble(Map::size).toArray()));
    // the df curve at log-spaced ranks: a Zipf-like curve is a line in log-log space
    List<Integer> ranks = new ArrayList<>();
    List<Double> fractions = new ArrayList<>();
    for (int r = 0; r < dfs.length; r = Math.max(r + 1, (int) (r * 1.06))) {
      ranks.add(r);
      fractions.add(dfs[r] / (double) docs.size());
    }
    if (dfs.length > 0 && ranks.get(ranks.size() - 1) != dfs.length - 1) {
      ranks.add(dfs.length - 1);
      fractions.add(dfs[dfs.length - 1] / (double) docs.size());
    }
    s.put("dfRanks", ranks);
    s.put("dfFractions", round(fractions));
    List<List<Double>> docWeights = new ArrayList<>();
    List<List<Double>> queryWeights = new ArrayList<>();
    for (int b = 0; b <= UNSEEN_BUCKET; b++) {
      docWeights.add(new ArrayList<>());
      queryWeights.add(new ArrayList<>());
    }
    // a document's weights share a level (its median: long documents weigh more in every term),
    // so weights are kept relative to it and the levels apart
    List<Double> levels = new ArrayList<>();
    List<Double> absolute = new ArrayList<>();
    for (Map<String, Float> d : docs) {
      double[] w = d.values().stream().mapToDouble(Float::doubleValue).sorted().toArray();
      double level = w.length == 0 ? 1 : w[w.length / 2];
      levels.add(level);
      d.forEach((t, x) -> {
        docWeights.get(bucket(rank.get(t))).add(x / level);
        absolute.add((double) x);
      });
    }
    for (Map<String, Float> q : queries) {
      q.forEach((t, w) -> queryWeights.get(rank.containsKey(t) ? bucket(rank.get(t)) : UNSEEN_BUCKET).add((double) w));
    }
    s.put("docWeightsAll", quantiles(absolute.stream().mapToDouble(Double::doubleValue).toArray()));
    s.put("docLevels", quantiles(levels.stream().mapToDouble(Double::doubleValue).toArray()));
    s.put("queryWeightsAll", quantiles(queryWeights.stream().flatMap(List::stream).mapToDouble(Double::doubleValue).toArray()));
    s.put("docWeights", docWeights.stream().map(l -> quantiles(l.stream().mapToDouble(Double::doubleValue).toArray())).toList());
    s.put("queryWeights", queryWeights.stream().map(l -> quantiles(l.stream().mapToDouble(Double::doubleValue).toArray())).toList());
    double overlap = 0;
    int pairs = 0;
    int unseen = 0;
    List<Double> otherRanks = new ArrayList<>();
    for (int i = 0; i < queries.size(); i++) {
      Map<String, Float> d = relevant.get(i);
      Map<String, Float> q = queries.get(i);
      if (d == null || q.isEmpty()) {
        continue;
      }
      pairs++;
      int shared = 0;
      for (String t : q.keySet()) {
        if (d.containsKey(t)) {
          shared++;
        } else if (rank.containsKey(t)) {
          otherRanks.add((double) rank.get(t));
        } else {
          unseen++;
        }
      }
      overlap += shared / (double) q.size();
    }
    s.put("pairs", pairs);
    s.put("queryOverlap", pairs == 0 ? 0 : round(overlap / pairs));
    s.put("queryOtherUnseen", otherRanks.size() + unseen == 0 ? 0 : round(unseen / (double) (otherRanks.size() + unseen)));
    s.put("queryOtherRanks", quantiles(otherRanks.stream().mapToDouble(Double::doubleValue).toArray()));
    return s;
  }

  /** The {@link #QUANTILES} quantiles of {@code values} (linear interpolation), empty if none. */
  static List<Double> quantiles(double[] values) {
    if (values.length == 0) {
      return List.of();
    }
    double[] v = values.clone();
    Arrays.sort(v);
    List<Double> q = new ArrayList<>();
    for (int i = 0; i < QUANTILES; i++) {
      double pos = i / (double) (QUANTILES - 1) * (v.length - 1);
      int lo = (int) Math.floor(pos);
      int hi = Math.min(v.length - 1, lo + 1);
      q.add(round(v[lo] + (v[hi] - v[lo]) * (pos - lo)));
    }
    return q;
  }

  /** The value at {@code u} in [0, 1] of a quantile function given by its {@link #QUANTILES} points. */
  static double inverse(double[] quantiles, double u) {
    double pos = u * (quantiles.length - 1);
    int lo = Math.min(quantiles.length - 1, (int) pos);
    int hi = Math.min(quantiles.length - 1, lo + 1);
    return quantiles[lo] + (quantiles[hi] - quantiles[lo]) * (pos - lo);
  }

  static double[] doubles(Object list) {
    return ((List<?>) list).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
  }

  /** df/N at {@code rank} from the log-log curve of a measurement, 0 past its last observed rank. */
  static double dfAt(Map<String, Object> s, int rank) {
    double[] ranks = doubles(s.get("dfRanks"));
    double[] fr = doubles(s.get("dfFractions"));
    if (ranks.length == 0 || rank > ranks[ranks.length - 1]) {
      return 0;
    }
    int i = Arrays.binarySearch(ranks, rank);
    if (i >= 0) {
      return fr[i];
    }
    int hi = -1 - i;
    int lo = hi - 1;
    double t = (Math.log1p(rank) - Math.log1p(ranks[lo])) / (Math.log1p(ranks[hi]) - Math.log1p(ranks[lo]));
    return Math.exp(Math.log(fr[lo]) + t * (Math.log(fr[hi]) - Math.log(fr[lo])));
  }

  private static List<Double> round(List<Double> values) {
    return values.stream().map(SparseCollectionStats::round).toList();
  }

  static double round(double v) {
    return Math.round(v * 1e6) / 1e6;
  }

  /** Mean of a measurement's quantile list (the trapezoid over its percentiles). */
  static double mean(Object quantiles) {
    double[] q = doubles(quantiles);
    if (q.length == 0) {
      return Double.NaN;
    }
    double sum = 0;
    for (int i = 0; i + 1 < q.length; i++) {
      sum += (q[i] + q[i + 1]) / 2;
    }
    return q.length == 1 ? q[0] : sum / (q.length - 1);
  }

  /** The {@code p}th percentile of a quantile list. */
  static double percentile(Object quantiles, int p) {
    double[] q = doubles(quantiles);
    return q.length == 0 ? Double.NaN : q[p];
  }
}
