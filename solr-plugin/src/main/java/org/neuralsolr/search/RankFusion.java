package org.neuralsolr.search;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fuses the ranked lists of several queries into one score per document: reciprocal rank fusion
 * or a weighted sum of normalised scores. Both are a weighted sum of per-list values, so a hit's
 * explanation is the same table for both: rank, raw score, normalised value, contribution.
 *
 * <p>Pure arithmetic over the lists it is given: the coordinator and every shard run it on the same
 * global lists and therefore compute bit-identical scores.
 */
final class RankFusion {

  enum Method {
    /** Σ wᵢ / (k + rankᵢ), rank from 1. */
    RRF,
    /** Σ wᵢ · normᵢ(scoreᵢ). */
    LINEAR
  }

  enum Norm {
    /** (s − min) / (max − min) over the list; 1 when all scores are equal. */
    MINMAX,
    /** (s − mean) / standard deviation (population) over the list; 0 when all scores are equal. */
    ZSCORE,
    /** the raw score. */
    NONE
  }

  /** One query's hits over the whole collection, best first: uniqueKey values and their scores. */
  record RankedList(List<String> ids, float[] scores) {
    RankedList {
      if (ids.size() != scores.length) {
        throw new IllegalArgumentException(ids.size() + " ids but " + scores.length + " scores");
      }
    }

    int size() {
      return scores.length;
    }
  }

  /**
   * A document's fused score and, per list in the order of the queries, its rank (0: not in that
   * list), raw score, normalised value and contribution (both 0 where it is not in the list).
   */
  record FusedHit(String id, float score, int[] ranks, float[] rawScores, double[] normalised, double[] contributions) {}

  private final Method method;
  private final int k;
  private final Norm norm;
  private final double[] weights;

  RankFusion(Method method, int k, Norm norm, double[] weights) {
    this.method = method;
    this.k = k;
    this.norm = norm;
    this.weights = weights.clone();
  }

  Method method() {
    return method;
  }

  /** The documents of all lists, by fused score (descending), ties by id. */
  List<FusedHit> fuse(List<RankedList> lists) {
    if (lists.size() != weights.length) {
      throw new IllegalArgumentException(lists.size() + " lists for " + weights.length + " weights");
    }
    int n = lists.size();
    Map<String, FusedHitBuilder> byId = new LinkedHashMap<>();
    for (int q = 0; q < n; q++) {
      RankedList list = lists.get(q);
      double[] values = normalised(list);
      for (int r = 0; r < list.size(); r++) {
        FusedHitBuilder b = byId.computeIfAbsent(list.ids().get(r), id -> new FusedHitBuilder(id, n));
        if (b.ranks[q] != 0) {
          continue; // a key listed twice (a client's list): the better rank counts
        }
        b.ranks[q] = r + 1;
        b.rawScores[q] = list.scores()[r];
        b.normalised[q] = values[r];
        b.contributions[q] = weights[q] * values[r];
      }
    }
    List<FusedHit> hits = new ArrayList<>(byId.size());
    for (FusedHitBuilder b : byId.values()) {
      double sum = 0;
      for (double c : b.contributions) {
        sum += c; // in query order, so every node adds in the same order
      }
      hits.add(new FusedHit(b.id, (float) sum, b.ranks, b.rawScores, b.normalised, b.contributions));
    }
    hits.sort(Comparator.comparing(FusedHit::score).reversed().thenComparing(FusedHit::id));
    return hits;
  }

  private double[] normalised(RankedList list) {
    int size = list.size();
    double[] v = new double[size];
    float[] s = list.scores();
    if (method == Method.RRF) {
      for (int r = 0; r < size; r++) {
        v[r] = 1.0 / (k + r + 1);
      }
      return v;
    }
    switch (norm) {
      case NONE:
        for (int r = 0; r < size; r++) {
          v[r] = s[r];
        }
        break;
      case MINMAX: {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float x : s) {
          min = Math.min(min, x);
          max = Math.max(max, x);
        }
        for (int r = 0; r < size; r++) {
          v[r] = max > min ? (s[r] - min) / (max - min) : 1.0;
        }
        break;
      }
      case ZSCORE: {
        double mean = 0;
        for (float x : s) {
          mean += x;
        }
        mean /= Math.max(1, size);
        double var = 0;
        for (float x : s) {
          var += (x - mean) * (x - mean);
        }
        double sd = Math.sqrt(var / Math.max(1, size));
        for (int r = 0; r < size; r++) {
          v[r] = sd > 0 ? (s[r] - mean) / sd : 0.0;
        }
        break;
      }
    }
    return v;
  }

  /** For explanations: "rrf (k=60)" or "linear (norm=minmax)", with the weights. */
  String describe() {
    StringBuilder sb = new StringBuilder(method.name().toLowerCase(Locale.ROOT));
    sb.append(method == Method.RRF ? " (k=" + k : " (norm=" + norm.name().toLowerCase(Locale.ROOT));
    sb.append(", weights=");
    for (int i = 0; i < weights.length; i++) {
      sb.append(i == 0 ? "" : ",").append(weights[i]);
    }
    return sb.append(')').toString();
  }

  double weight(int query) {
    return weights[query];
  }

  private static final class FusedHitBuilder {
    final String id;
    final int[] ranks;
    final float[] rawScores;
    final double[] normalised;
    final double[] contributions;

    FusedHitBuilder(String id, int n) {
      this.id = id;
      ranks = new int[n];
      rawScores = new float[n];
      normalised = new double[n];
      contributions = new double[n];
    }
  }
}
