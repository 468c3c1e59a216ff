package org.neuralsolr.highlight;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.neuralsolr.codecs.VectorKernels;

/**
 * Late-interaction evidence inside one document: each stored token vector belongs to the sentence
 * whose character range holds its token, and a sentence scores the MaxSim of the query restricted
 * to its tokens, {@code Σ_q max_{d ∈ sentence} q·d}; the tokens that win a query token are the
 * evidence to mark.
 */
final class MaxSimSentences {
  /** Per sentence: its score, its number of token vectors, and the spans of its winning tokens. */
  record Result(float[] scores, int[] tokens, List<List<int[]>> winners) {}

  private MaxSimSentences() {}

  /**
   * Scores from the document's token vectors: every query token against every document token once
   * (the plain kernel, for vectors encoded at query time), then {@link #score(float[], int, int,
   * int[][], List)}.
   *
   * @param query the query's token vectors
   * @param document the document's token vectors, {@code tokenCount × dimension}, row-major
   * @param spans each document token's character span in the encoded text ({@code -1}: none)
   * @param sentences each sentence's {@code [start, end)} in the encoded text
   */
  static Result score(float[][] query, float[] document, int dimension, int[][] spans, List<int[]> sentences) {
    int q = query.length;
    int tokens = spans.length;
    float[] similarities = new float[tokens * q];
    if (tokens > 0 && q > 0) {
      float[] flat = new float[q * dimension];
      for (int i = 0; i < q; i++) {
        System.arraycopy(query[i], 0, flat, i * dimension, dimension);
      }
      float[][] rows = new float[q][tokens];
      VectorKernels.dotProducts(flat, 0, q, document, tokens, dimension, rows);
      for (int i = 0; i < q; i++) {
        for (int t = 0; t < tokens; t++) {
          similarities[t * q + i] = rows[i][t];
        }
      }
    }
    return score(similarities, q, q, spans, sentences);
  }

  /**
   * Scores from the query × document similarities, in one pass over the document's tokens: each
   * token updates, per query token, the running best of the sentence holding it.
   *
   * @param similarities {@code similarities[t * stride + i]} = query token {@code i} · document
   *     token {@code t} (the layout of {@code MaxSimScorer#similarities}), for {@code i < queryTokens}
   * @param spans each document token's character span in the encoded text ({@code -1}: none)
   * @param sentences each sentence's {@code [start, end)} in the encoded text
   */
  static Result score(float[] similarities, int stride, int queryTokens, int[][] spans, List<int[]> sentences) {
    int n = sentences.size();
    int tokens = spans.length;
    int[] count = new int[n];
    // which sentence holds each token (by where the token starts); -1: none
    int[] owner = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      owner[t] = -1;
      int start = spans[t][0];
      for (int s = 0; start >= 0 && s < n; s++) {
        if (start >= sentences.get(s)[0] && start < sentences.get(s)[1]) {
          owner[t] = s;
          count[s]++;
          break;
        }
      }
    }
    // per sentence and query token, the best similarity and the first token reaching it
    float[] best = new float[n * queryTokens];
    int[] arg = new int[n * queryTokens];
    Arrays.fill(best, Float.NEGATIVE_INFINITY);
    Arrays.fill(arg, -1);
    for (int t = 0; t < tokens; t++) {
      int s = owner[t];
      if (s < 0) {
        continue;
      }
      int row = t * stride;
      int b = s * queryTokens;
      for (int i = 0; i < queryTokens; i++) {
        float v = similarities[row + i];
        if (v > best[b + i]) {
          best[b + i] = v;
          arg[b + i] = t;
        }
      }
    }
    float[] scores = new float[n];
    List<List<int[]>> winners = new ArrayList<>(n);
    int[] won = new int[queryTokens];
    for (int s = 0; s < n; s++) {
      double sum = 0;
      int w = 0;
      int b = s * queryTokens;
      for (int i = 0; i < queryTokens; i++) {
        if (arg[b + i] >= 0) {
          sum += best[b + i];
          won[w++] = arg[b + i];
        }
      }
      scores[s] = (float) sum;
      Arrays.sort(won, 0, w);
      List<int[]> spansWon = new ArrayList<>(w);
      for (int k = 0; k < w; k++) {
        if (k == 0 || won[k] != won[k - 1]) {
          spansWon.add(spans[won[k]]);
        }
      }
      winners.add(merged(spansWon));
    }
    return new Result(scores, count, winners);
  }

  /** Adjacent or overlapping spans (the word pieces of one word) as one span, in text order. */
  static List<int[]> merged(List<int[]> spans) {
    List<int[]> sorted = new ArrayList<>(spans);
    sorted.sort((a, b) -> Integer.compare(a[0], b[0]));
    List<int[]> out = new ArrayList<>();
    for (int[] s : sorted) {
      int[] last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && s[0] <= last[1]) {
        last[1] = Math.max(last[1], s[1]);
      } else {
        out.add(new int[] {s[0], s[1]});
      }
    }
    return out;
  }
}
