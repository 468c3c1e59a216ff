package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
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
  // residual codes on the Vector API: centroid ids of the document, centroids whose scores are
  // to be computed and their rows, and the scores per codebook (codebooks are shared instances)
  private int[] ids = new int[0];
  private int[] pending = new int[0];
  private float[] gathered = new float[0];
  private final Map<ResidualCodebook, CentroidScores> centroidScores = new IdentityHashMap<>();
  // 2-bit codes on the Vector API: the query dimension-major without padding, the document's
  // codes as ints, and the kernel's scratch space
  private final float[] queryJ;
  private final int queryRows;
  private int[] words = new int[0];
  private final float[] decodedBlocks;
  private final float[] scratch;

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
      // rounded up to a multiple of 4 with zero vectors (whose maxima are ignored): the kernel's
      // blocks of 8 and 4 query vectors run several times faster than its single ones
      queryRows = (numQueryVectors + 3) & ~3;
      queryJ = VectorKernels.transpose(query, 0, numQueryVectors, dim, queryRows);
      decodedBlocks = new float[VectorKernels.twoBitDecodedSize(dim)];
      scratch = new float[VectorKernels.twoBitScratchSize(queryRows)];
    } else {
      stride = 0;
      queryT = null;
      maxima = null;
      queryRows = 0;
      queryJ = null;
      decodedBlocks = null;
      scratch = null;
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

  /**
   * MaxSim of the query against the document {@code values} is positioned on.
   *
   * <p>On the Vector API, a document of residual codes is not decoded to its vectors: each dot
   * product is taken as {@code q·d = q·r + q·c} of its residual {@code r} and its centroid {@code c},
   * with {@code q·c} computed once per centroid and kept (for all the documents this scorer sees;
   * see {@link #useCentroidScores}). Decoding {@code c + r} read the centroid's whole row for every
   * document vector, a random read from a table of megabytes that cost as much as the dot products
   * themselves. The result equals MaxSim of the decoded vectors up to float rounding (the sum is
   * associated differently).
   */
  public float score(MultiVectorValues values) throws IOException {
    if (queryT == null || values.nbits() == 0) {
      decoded = values.vectors(decoded);
      return score(decoded, values.tokenCount());
    }
    int tokens = values.tokenCount();
    if (values.nbits() == 2 && values.hasResidualWords() && VectorKernels.twoBitVectorized()) {
      // 2 bits: decoded inside the kernel, document tokens in the lanes (query vectors padded to a
      // multiple of 4, not to the lane count)
      ids = values.centroidIds(ids);
      CentroidScores scores = centroidScores(values, tokens);
      words = values.residualWords(words);
      VectorKernels.maxSimTwoBit(
          queryJ, queryRows, dim, words, values.residualWordsPerToken(), tokens, scores.weights, scores.table, stride, ids, maxima, decodedBlocks, scratch);
      double sum = 0;
      for (int i = 0; i < numQueryVectors; i++) {
        sum += maxima[i];
      }
      return (float) sum;
    }
    float[] table = prepareResiduals(values, tokens);
    return transposedScore(decoded, tokens, table, ids);
  }

  /** MaxSim through the transposed kernel: each query vector's best document token, summed. */
  private float transposedScore(float[] document, int tokens, float[] table, int[] centroidIds) {
    Arrays.fill(maxima, Float.NEGATIVE_INFINITY);
    VectorKernels.maxSimTransposed(queryT, stride, document, tokens, dim, table, centroidIds, maxima, null);
    double sum = 0;
    for (int i = 0; i < numQueryVectors; i++) {
      sum += maxima[i];
    }
    return (float) sum;
  }

  /**
   * Like {@link #score(MultiVectorValues)} (and bit-for-bit equal to it) but also reports, per
   * query vector {@code i}, the best document vector in {@code argmax[i]} and its dot product in
   * {@code max[i]}.
   */
  public float score(MultiVectorValues values, int[] argmax, float[] max) throws IOException {
    int tokens = values.tokenCount();
    if (queryT == null || values.nbits() == 0) {
      decoded = values.vectors(decoded);
      return score(decoded, tokens, argmax, max);
    }
    float[] table = prepareResiduals(values, tokens);
    dots = ArrayUtil.grow(dots, tokens * stride);
    VectorKernels.maxSimTransposed(queryT, stride, decoded, tokens, dim, table, ids, null, dots);
    return argmaxSum(tokens, argmax, max);
  }

  /**
   * Row length of {@link #similarities}: the number of query vectors, rounded up to whole vector
   * registers on the Vector API (padding lanes hold the dot products of a zero query vector).
   */
  public int stride() {
    return queryT != null ? stride : numQueryVectors;
  }

  /**
   * Every query vector's dot product with every token vector of the document {@code values} is
   * positioned on, {@code out[t * stride() + i] = q_i·d_t}, into {@code out} if it is large enough
   * (it may be null), else into a new array; returns the array written. These are the very values
   * {@link #score(MultiVectorValues)} takes its maxima of (bit for bit, residual codes included), so
   * that a caller grouping the tokens (the highlighter's sentences) finds the scores the query gave:
   * a group holding every token has the document's MaxSim.
   */
  public float[] similarities(MultiVectorValues values, float[] out) throws IOException {
    int tokens = values.tokenCount();
    int n = tokens * stride();
    out = out == null ? new float[n] : ArrayUtil.grow(out, n);
    if (tokens == 0) {
      return out;
    }
    if (queryT == null) {
      decoded = values.vectors(decoded);
      computeSimilarities(decoded, tokens);
      for (int i = 0; i < numQueryVectors; i++) {
        float[] row = similarities[i];
        for (int t = 0; t < tokens; t++) {
          out[t * numQueryVectors + i] = row[t];
        }
      }
    } else if (values.nbits() == 0) {
      decoded = values.vectors(decoded);
      VectorKernels.maxSimTransposed(queryT, stride, decoded, tokens, dim, null, null, null, out);
    } else {
      float[] table = prepareResiduals(values, tokens);
      VectorKernels.maxSimTransposed(queryT, stride, decoded, tokens, dim, table, ids, null, out);
    }
    return out;
  }

  /**
   * Decodes the current document's residuals into {@code decoded} and its centroid ids into {@code
   * ids}; returns the centroid score table of its codebook, filled for those centroids.
   */
  private float[] prepareResiduals(MultiVectorValues values, int tokens) throws IOException {
    decoded = values.residuals(decoded);
    ids = values.centroidIds(ids);
    return centroidScores(values, tokens).table;
  }

  /**
   * The centroid scores of the current document's codebook, filled for the centroids in {@code
   * ids} (its first {@code tokens}).
   */
  private CentroidScores centroidScores(MultiVectorValues values, int tokens) {
    ResidualCodebook codebook = values.codebooks().get(values.codebookOrd());
    CentroidScores scores = centroidScores.get(codebook);
    if (scores == null) {
      scores = new CentroidScores(codebook.numCentroids(), stride);
      centroidScores.put(codebook, scores);
    }
    if (scores.weights == null) {
      scores.weights = codebook.weights();
    }
    int missing = 0;
    pending = ArrayUtil.grow(pending, tokens);
    for (int t = 0; t < tokens; t++) {
      if (scores.done[ids[t]] == false) {
        scores.done[ids[t]] = true;
        pending[missing++] = ids[t];
      }
    }
    if (missing > 0) {
      // the centroids as document vectors of the same kernel: the same bits as a whole table
      float[] centroids = codebook.centroidsArray();
      gathered = ArrayUtil.grow(gathered, missing * dim);
      for (int x = 0; x < missing; x++) {
        System.arraycopy(centroids, pending[x] * dim, gathered, x * dim, dim);
      }
      dots = ArrayUtil.grow(dots, missing * stride);
      VectorKernels.maxSimTransposed(queryT, stride, gathered, missing, dim, null, null, null, dots);
      for (int x = 0; x < missing; x++) {
        System.arraycopy(dots, x * stride, scores.table, pending[x] * stride, stride);
      }
    }
    return scores;
  }

  /**
   * Gives this scorer the query's scores against every centroid of {@code codebook}, as {@link
   * VectorKernels#maxSimTransposed} computes them with this scorer's query layout ({@code
   * table[c * stride + i]}, {@code stride} = {@link VectorKernels#transposedStride} of the query
   * vector count), so that it need not compute them again. Only on the Vector API.
   */
  void useCentroidScores(ResidualCodebook codebook, float[] table) {
    if (queryT == null || table.length != codebook.numCentroids() * stride) {
      throw new IllegalArgumentException("not a centroid score table of this query's layout");
    }
    CentroidScores scores = new CentroidScores(table, codebook.numCentroids());
    Arrays.fill(scores.done, true);
    centroidScores.put(codebook, scores);
  }

  /** Whether {@link #useCentroidScores} can be used: the scorer runs on the Vector API. */
  boolean usesCentroidScores() {
    return queryT != null;
  }

  /** Per codebook, {@code q_i · c} at {@code [c * stride + i]} for the centroids marked done. */
  private static final class CentroidScores {
    final float[] table;
    final boolean[] done;
    float[] weights; // the codebook's residual weights, fetched once

    CentroidScores(int k, int stride) {
      this(new float[k * stride], k);
    }

    CentroidScores(float[] table, int k) {
      this.table = table;
      this.done = new boolean[k];
    }
  }

  /** MaxSim of the query against the {@code tokens} row-major vectors in {@code document}. */
  public float score(float[] document, int tokens) {
    if (queryT != null) {
      checkDocument(document, tokens);
      return transposedScore(document, tokens, null, null);
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
      VectorKernels.maxSimTransposed(queryT, stride, document, tokens, dim, null, null, null, dots);
      return argmaxSum(tokens, argmax, max);
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

  /** The per-query-vector best of {@code dots} ({@code tokens} rows), and their sum. */
  private float argmaxSum(int tokens, int[] argmax, float[] max) {
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
