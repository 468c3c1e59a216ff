package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.VectorUtil;
import org.neuralsolr.codecs.VectorKernels;

/**
 * Exact late-interaction score of one query against documents: {@code MaxSim(Q, D) = Σ_i max_t
 * q_i·d_t}, the sum over query vectors of their largest dot product with any document vector.
 *
 * <p>On the Vector API the query is transposed once, at construction, so that its vectors are the
 * lanes of {@link VectorKernels#maxSimTransposed}: each document vector is broadcast against all
 * query vectors and the running maxima stay in registers, without a similarity matrix. Without
 * the Vector API a document is transposed into dimension-major rows so that all {@code |Q|·|D|}
 * dot products run through {@link VectorKernels#dotProductsTransposed}, which C2 vectorises. The
 * buffers are reused, so an instance does not allocate once it has seen its longest document. Not
 * thread-safe.
 */
public final class MaxSimScorer {

  private final float[] query; // row-major
  private final int numQueryVectors;
  private final int dim;
  private float[][] documentT; // [dim][capacity]
  private float[][] similarities; // [numQueryVectors][capacity]
  private int capacity;
  private float[] decoded; // reused by score(MultiVectorValues)
  // Vector API: the query dimension-major with a padded row length, the running maxima per query
  // vector, and the dot products when argmax is asked for; null / 0 otherwise
  private final float[] queryT;
  private final int stride;
  private final float[] maxima;
  private float[] dots = new float[0];

  /** @param query the query vectors, row-major ({@code numQueryVectors × dim}); not copied */
  MaxSimScorer(float[] query, int numQueryVectors, int dim) {
    if (numQueryVectors <= 0 || dim <= 0 || query.length < numQueryVectors * dim) {
      throw new IllegalArgumentException("bad query matrix");
    }
    this.query = query;
    this.numQueryVectors = numQueryVectors;
    this.dim = dim;
    this.documentT = new float[dim][0];
    this.similarities = new float[numQueryVectors][0];
    if (VectorKernels.VECTOR_API) {
      stride = VectorKernels.transposedStride(numQueryVectors);
      queryT = VectorKernels.transpose(query, 0, numQueryVectors, dim, stride);
      maxima = new float[stride];
    } else {
      stride = 0;
      queryT = null;
      maxima = null;
    }
  }

  /** A scorer for {@code query} (rows are query vectors), which is copied. */
  public MaxSimScorer(float[][] query) {
    this(QueryVectors.of("query", query).flat(), query.length, query[0].length);
  }

  /** Number of query vectors. */
  public int numQueryVectors() {
    return numQueryVectors;
  }

  /** MaxSim of the query against the document {@code values} is positioned on. */
  public float score(MultiVectorValues values) throws IOException {
    decoded = values.vectors(decoded);
    return score(decoded, values.tokenCount());
  }

  /** MaxSim of the query against the {@code tokens} row-major vectors in {@code document}. */
  public float score(float[] document, int tokens) {
    if (queryT != null) {
      checkDocument(document, tokens);
      Arrays.fill(maxima, Float.NEGATIVE_INFINITY);
      VectorKernels.maxSimTransposed(queryT, stride, document, tokens, dim, maxima, null);
      double sum = 0;
      for (int i = 0; i < numQueryVectors; i++) {
        sum += maxima[i];
      }
      return (float) sum;
    }
    computeSimilarities(document, tokens);
    double sum = 0; // in double, as explanations check "sum of:" details, so that both agree
    for (int i = 0; i < numQueryVectors; i++) {
      sum += VectorKernels.max(similarities[i], tokens);
    }
    return (float) sum;
  }

  /**
   * Like {@link #score} (and bit-for-bit equal to it) but also reports, per query vector {@code i}, the best document vector in
   * {@code argmax[i]} and its dot product in {@code max[i]}.
   */
  public float score(float[] document, int tokens, int[] argmax, float[] max) {
    if (queryT != null) {
      // the same dot products as score(document, tokens), bit for bit, kept per token
      checkDocument(document, tokens);
      dots = ArrayUtil.grow(dots, tokens * stride);
      VectorKernels.maxSimTransposed(queryT, stride, document, tokens, dim, null, dots);
      double sum = 0;
      for (int i = 0; i < numQueryVectors; i++) {
        int best = 0;
        for (int t = 1; t < tokens; t++) {
          if (dots[t * stride + i] > dots[best * stride + i]) {
            best = t;
          }
        }
        argmax[i] = best;
        max[i] = dots[best * stride + i];
        sum += max[i];
      }
      return (float) sum;
    }
    computeSimilarities(document, tokens);
    double sum = 0;
    for (int i = 0; i < numQueryVectors; i++) {
      float[] row = similarities[i];
      int best = 0;
      for (int t = 1; t < tokens; t++) {
        if (row[t] > row[best]) {
          best = t;
        }
      }
      argmax[i] = best;
      max[i] = row[best];
      sum += row[best];
    }
    return (float) sum;
  }

  private void checkDocument(float[] document, int tokens) {
    if (tokens <= 0 || document.length < tokens * dim) {
      throw new IllegalArgumentException("document needs " + tokens + " vectors of " + dim);
    }
  }

  private void computeSimilarities(float[] document, int tokens) {
    checkDocument(document, tokens);
    if (tokens > capacity) {
      capacity = ArrayUtil.oversize(tokens, Float.BYTES);
      documentT = new float[dim][capacity];
      similarities = new float[numQueryVectors][capacity];
    }
    for (int t = 0; t < tokens; t++) {
      int o = t * dim;
      for (int j = 0; j < dim; j++) {
        documentT[j][t] = document[o + j];
      }
    }
    VectorKernels.dotProductsTransposed(
        query, 0, numQueryVectors, dim, documentT, tokens, similarities);
  }

  /**
   * Maps a MaxSim value to a Lucene score, which must not be negative: {@code 1 + maxSim} when
   * {@code maxSim >= 0}, {@code 1 / (1 − maxSim)} otherwise (Lucene's convention for unbounded
   * inner products, {@link VectorUtil#scaleMaxInnerProductScore}). The order is preserved.
   */
  public static float toLuceneScore(float maxSim) {
    return VectorUtil.scaleMaxInnerProductScore(maxSim);
  }

  /** Inverse of {@link #toLuceneScore}. */
  public static float fromLuceneScore(float score) {
    return score >= 1 ? score - 1 : 1 - 1 / score;
  }
}
