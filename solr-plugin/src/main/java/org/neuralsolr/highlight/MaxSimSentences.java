package org.neuralsolr.highlight;

import java.util.ArrayList;
import java.util.BitSet;
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
   * @param query the query's token vectors
   * @param document the document's token vectors, {@code tokenCount × dimension}, row-major
   * @param spans each document token's character span in the encoded text ({@code -1}: none)
   * @param sentences each sentence's {@code [start, end)} in the encoded text
   */
  static Result score(float[][] query, float[] document, int dimension, int[][] spans, List<int[]> sentences) {
    int n = sentences.size();
    float[] scores = new float[n];
    int[] tokens = new int[n];
    List<List<int[]>> winners = new ArrayList<>(n);
    // which sentence holds each token (by where the token starts); -1: none
    int[] owner = new int[spans.length];
    for (int t = 0; t < spans.length; t++) {
      owner[t] = -1;
      if (spans[t][0] < 0) {
        continue;
      }
      for (int s = 0; s < n; s++) {
        if (spans[t][0] >= sentences.get(s)[0] && spans[t][0] < sentences.get(s)[1]) {
          owner[t] = s;
          tokens[s]++;
          break;
        }
      }
    }
    // every query token against every document token once, on the same kernel as {!colbert}'s
    // MaxSim; then each sentence takes, per query token, the best of its own tokens
    int q = query.length;
    float[][] sims = new float[q][spans.length];
    if (spans.length > 0 && q > 0) {
      float[] flat = new float[q * dimension];
      for (int i = 0; i < q; i++) {
        System.arraycopy(query[i], 0, flat, i * dimension, dimension);
      }
      VectorKernels.dotProducts(flat, 0, q, document, spans.length, dimension, sims);
    }
    double[] sums = new double[n];
    List<BitSet> won = new ArrayList<>(n);
    for (int s = 0; s < n; s++) {
      won.add(new BitSet(spans.length));
    }
    float[] best = new float[n];
    int[] arg = new int[n];
    for (int i = 0; i < q; i++) {
      java.util.Arrays.fill(best, Float.NEGATIVE_INFINITY);
      java.util.Arrays.fill(arg, -1);
      float[] row = sims[i];
      for (int t = 0; t < spans.length; t++) {
        int s = owner[t];
        if (s >= 0 && row[t] > best[s]) {
          best[s] = row[t];
          arg[s] = t;
        }
      }
      for (int s = 0; s < n; s++) {
        if (arg[s] >= 0) {
          sums[s] += best[s];
          won.get(s).set(arg[s]);
        }
      }
    }
    for (int s = 0; s < n; s++) {
      scores[s] = (float) sums[s];
      List<int[]> spansWon = new ArrayList<>();
      BitSet w = won.get(s);
      for (int t = w.nextSetBit(0); t >= 0; t = w.nextSetBit(t + 1)) {
        spansWon.add(spans[t]);
      }
      winners.add(merged(spansWon));
    }
    return new Result(scores, tokens, winners);
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
