package org.neuralsolr.codecs;

/**
 * The float kernels every scoring path of this module runs on, kept in one place so that they can
 * be tuned (and checked for vectorisation) together.
 *
 * <p>Why these shapes: on Java 17 Lucene's Panama-based {@code VectorUtil} is not available, and
 * HotSpot's C2 never vectorises a float <em>reduction</em> (a dot product), because that would
 * reorder the additions. It does vectorise element-wise loops such as {@code y[i] += a * x[i]},
 * provided every array in the loop is indexed by the same expression (so that it needs no alias
 * check). Dot products of many vectors against many vectors are therefore computed "transposed":
 * one operand is laid out dimension-major ({@code bt[j][n]} = component {@code j} of vector {@code
 * n}) and each dimension contributes one {@link #axpy4 axpy} over a long row. Measured on this
 * project's build machines (AVX-512, C2) this runs 3-5x faster than an unrolled scalar dot product,
 * and it adds the products in the same order as a naive loop.
 */
public final class VectorKernels {

  /**
   * Whether {@link #dotProducts} runs on the JDK Vector API: the {@code jdk.incubator.vector}
   * module is present (Solr started with {@code --add-modules jdk.incubator.vector}) and {@code
   * -Dneuralsolr.vectorApi.disabled=true} is not set. Decided once, at class initialisation; the
   * class that uses the module is never loaded otherwise.
   */
  public static final boolean VECTOR_API =
      Boolean.getBoolean("neuralsolr.vectorApi.disabled") == false
          && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  private VectorKernels() {}

  /**
   * {@code out[r][c] = a[r] · b[c]} for {@code r < rows}, {@code c < columns}, both operands
   * row-major ({@code a[aOffset + r * dim + j]}, {@code b[c * dim + j]}), on the Vector API when
   * {@link #VECTOR_API}; else a plain loop (callers without the Vector API should prefer {@link
   * #dotProductsTransposed}, which C2 vectorises). Rows of {@code out} must be distinct arrays of
   * length at least {@code columns}.
   */
  public static void dotProducts(float[] a, int aOffset, int rows, float[] b, int columns, int dim, float[][] out) {
    if (VECTOR_API) {
      PanamaKernels.dotProducts(a, aOffset, rows, b, columns, dim, out);
    } else {
      dotProductsPlain(a, aOffset, rows, b, columns, dim, out);
    }
  }

  /** The plain-loop {@link #dotProducts}, the reference the Vector API kernel is tested against. */
  static void dotProductsPlain(float[] a, int aOffset, int rows, float[] b, int columns, int dim, float[][] out) {
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < columns; c++) {
        out[r][c] = dot(a, aOffset + r * dim, b, c * dim, dim);
      }
    }
  }

  /**
   * Dot product of {@code a[aOffset, aOffset+length)} and {@code b[bOffset, bOffset+length)}.
   * Eight independent accumulators give the CPU instruction-level parallelism where C2 cannot
   * vectorise; use it for single pairs, and {@link #dotProductsTransposed} for many.
   */
  public static float dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (int upper = length & ~7; i < upper; i += 8) {
      int ai = aOffset + i, bi = bOffset + i;
      s0 += a[ai] * b[bi];
      s1 += a[ai + 1] * b[bi + 1];
      s2 += a[ai + 2] * b[bi + 2];
      s3 += a[ai + 3] * b[bi + 3];
      s4 += a[ai + 4] * b[bi + 4];
      s5 += a[ai + 5] * b[bi + 5];
      s6 += a[ai + 6] * b[bi + 6];
      s7 += a[ai + 7] * b[bi + 7];
    }
    float sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    for (; i < length; i++) {
      sum += a[aOffset + i] * b[bOffset + i];
    }
    return sum;
  }

  /** {@code y[i] += a * x[i]} for {@code i < n}. */
  public static void axpy(float a, float[] x, float[] y, int n) {
    for (int i = 0; i < n; i++) {
      y[i] += a * x[i];
    }
  }

  /** Four {@link #axpy}s sharing the loads of {@code x}: {@code yk[i] += ak * x[i]}. */
  public static void axpy4(
      float a0,
      float a1,
      float a2,
      float a3,
      float[] x,
      float[] y0,
      float[] y1,
      float[] y2,
      float[] y3,
      int n) {
    for (int i = 0; i < n; i++) {
      float v = x[i];
      y0[i] += a0 * v;
      y1[i] += a1 * v;
      y2[i] += a2 * v;
      y3[i] += a3 * v;
    }
  }

  /**
   * {@code out[r][c] = a[r] · b[c]} for {@code r < rows}, {@code c < columns}, where {@code a} holds
   * {@code rows} vectors row-major from {@code aOffset} ({@code a[aOffset + r * dim + j]}) and
   * {@code bt} holds {@code columns} vectors dimension-major ({@code bt[j][c]}). Rows of {@code
   * out} must be distinct arrays of length at least {@code columns}.
   */
  public static void dotProductsTransposed(
      float[] a, int aOffset, int rows, int dim, float[][] bt, int columns, float[][] out) {
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      float[] o0 = out[r], o1 = out[r + 1], o2 = out[r + 2], o3 = out[r + 3];
      java.util.Arrays.fill(o0, 0, columns, 0f);
      java.util.Arrays.fill(o1, 0, columns, 0f);
      java.util.Arrays.fill(o2, 0, columns, 0f);
      java.util.Arrays.fill(o3, 0, columns, 0f);
      int p0 = aOffset + r * dim, p1 = p0 + dim, p2 = p1 + dim, p3 = p2 + dim;
      for (int j = 0; j < dim; j++) {
        axpy4(a[p0 + j], a[p1 + j], a[p2 + j], a[p3 + j], bt[j], o0, o1, o2, o3, columns);
      }
    }
    for (; r < rows; r++) {
      float[] o = out[r];
      java.util.Arrays.fill(o, 0, columns, 0f);
      int p = aOffset + r * dim;
      for (int j = 0; j < dim; j++) {
        axpy(a[p + j], bt[j], o, columns);
      }
    }
  }

  /** Largest of {@code x[0, n)}; negative infinity when {@code n == 0}. */
  public static float max(float[] x, int n) {
    float m0 = Float.NEGATIVE_INFINITY, m1 = m0, m2 = m0, m3 = m0;
    int i = 0;
    for (int upper = n & ~3; i < upper; i += 4) {
      m0 = Math.max(m0, x[i]);
      m1 = Math.max(m1, x[i + 1]);
      m2 = Math.max(m2, x[i + 2]);
      m3 = Math.max(m3, x[i + 3]);
    }
    for (; i < n; i++) {
      m0 = Math.max(m0, x[i]);
    }
    return Math.max(Math.max(m0, m1), Math.max(m2, m3));
  }

  /** {@code m[i] = max(m[i], x[i])} for {@code i < n}. */
  public static void maxInto(float[] x, int xOffset, float[] m, int n) {
    if (VECTOR_API && n % PanamaKernels.lanes() == 0) {
      PanamaKernels.maxInto(x, xOffset, m, n);
      return;
    }
    for (int i = 0; i < n; i++) {
      m[i] = Math.max(m[i], x[xOffset + i]);
    }
  }

  /**
   * Row length of a query matrix laid out for {@link #maxSimTransposed} with {@code rows} query
   * vectors: {@code rows} rounded up to whole vector registers on the Vector API, else {@code rows}.
   */
  public static int transposedStride(int rows) {
    if (VECTOR_API) {
      int lanes = PanamaKernels.lanes();
      return (rows + lanes - 1) / lanes * lanes;
    }
    return rows;
  }

  /**
   * {@code qT[j * stride + i] = a[aOffset + i * dim + j]} for the {@code rows} vectors of {@code
   * a}; padding lanes ({@code rows ≤ i < stride}) are 0.
   */
  public static float[] transpose(float[] a, int aOffset, int rows, int dim, int stride) {
    float[] qT = new float[dim * stride];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < dim; j++) {
        qT[j * stride + i] = a[aOffset + i * dim + j];
      }
    }
    return qT;
  }

  /**
   * MaxSim's inner loop, query-lane layout: with {@code qT} a query of {@code stride} lanes in
   * dimension-major order ({@link #transpose}) and {@code doc} holding {@code tokens} row-major
   * vectors, sets {@code max[i] = max(max[i], max_t s_ti)} for {@code i < stride}; or, when {@code
   * dots} is not null, {@code dots[t * stride + i] = s_ti} and leaves {@code max} alone. Here {@code
   * s_ti = q_i·d_t}, plus {@code base[rows[t] * stride + i]} when {@code base} is not null (a
   * precomputed part of the dot product, such as a centroid's score, when {@code doc} holds
   * residuals). Each dot product is {@code fma} chained over {@code j = 0 … dim−1} from 0 and then
   * the base added, on the Vector API ({@link #VECTOR_API}) and in the plain loop alike, so both
   * give the same bits and neither depends on which other vectors are in the call. No horizontal
   * sums and no similarity matrix: the query vectors are the lanes, and a document's best match per
   * query vector stays in a register. Use {@link #transposedStride} for {@code stride}.
   */
  public static void maxSimTransposed(
      float[] qT, int stride, float[] doc, int tokens, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    if (VECTOR_API && stride % PanamaKernels.lanes() == 0) {
      PanamaKernels.maxSimTransposed(qT, stride, doc, tokens, dim, base, rows, max, dots);
    } else {
      maxSimTransposedPlain(qT, stride, doc, tokens, dim, base, rows, max, dots);
    }
  }

  /** The plain-loop {@link #maxSimTransposed}, the reference the Vector API kernel is tested against. */
  static void maxSimTransposedPlain(
      float[] qT, int stride, float[] doc, int tokens, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    for (int t = 0; t < tokens; t++) {
      for (int i = 0; i < stride; i++) {
        float s = 0;
        for (int j = 0; j < dim; j++) {
          s = Math.fma(qT[j * stride + i], doc[t * dim + j], s);
        }
        if (base != null) {
          s += base[rows[t] * stride + i];
        }
        if (dots == null) {
          max[i] = Math.max(max[i], s);
        } else {
          dots[t * stride + i] = s;
        }
      }
    }
  }

  /**
   * Whether {@link #maxSimTwoBit} runs on the Vector API (up to 16 float lanes, AVX-512, the widest
   * Java 17 gives and the width it was measured and tested at); else it is the plain loop, slower
   * than decoding for the query-lane kernel.
   */
  public static boolean twoBitVectorized() {
    return VECTOR_API && PanamaKernels.lanes() <= 16;
  }

  /** Floats of {@link #maxSimTwoBit}'s {@code decoded} scratch space for {@code dim} dimensions. */
  public static int twoBitDecodedSize(int dim) {
    return 2 * dim * (VECTOR_API ? PanamaKernels.lanes() : 1);
  }

  /** Floats of {@link #maxSimTwoBit}'s {@code scratch} space for {@code rows} query vectors. */
  public static int twoBitScratchSize(int rows) {
    return (3 * rows + 16) * (VECTOR_API ? PanamaKernels.lanes() : 1);
  }

  /**
   * MaxSim's inner loop for a document of 2-bit residual codes, without decoding it to vectors
   * first: {@code max[i] = max_t s_ti} for {@code i < rows} (overwritten), where {@code s_ti} is
   * {@code fma} chained over {@code j = 0 … dim−1} from 0 of {@code q_ij · weights[bucket_tj]},
   * plus {@code base[ids[t] * baseStride + i]} (the query's score against token {@code t}'s
   * centroid) — the same bits as {@link #maxSimTransposed} gives for the decoded residuals.
   *
   * <p>{@code qJ} is the query dimension-major without padding ({@code qJ[j * rows + i]}, {@link
   * #transpose} with stride {@code rows}); {@code codes} holds each token's code as {@code
   * wordsPerToken} little-endian ints (dimension {@code j}'s bucket in bits {@code 2(j mod 16)} of
   * word {@code j / 16}). On the Vector API the document's tokens are the lanes: a block of tokens
   * is decoded dimension-major straight from the codes, and query values are broadcast against
   * it, so no lane carries padding for short queries (the query-lane kernel pads the ~23 vectors of
   * a query to 32 lanes). {@code decoded} and {@code scratch} hold at least {@link
   * #twoBitDecodedSize} and {@link #twoBitScratchSize} floats.
   */
  public static void maxSimTwoBit(
      float[] qJ,
      int rows,
      int dim,
      int[] codes,
      int wordsPerToken,
      int tokens,
      float[] weights,
      float[] base,
      int baseStride,
      int[] ids,
      float[] max,
      float[] decoded,
      float[] scratch) {
    if (twoBitVectorized()) {
      PanamaKernels.maxSimTwoBit(
          qJ, rows, dim, codes, wordsPerToken, tokens, weights, base, baseStride, ids, max, decoded, scratch);
    } else {
      maxSimTwoBitPlain(qJ, rows, dim, codes, wordsPerToken, tokens, weights, base, baseStride, ids, max);
    }
  }

  /** The plain-loop {@link #maxSimTwoBit}, the reference the Vector API kernel is tested against. */
  static void maxSimTwoBitPlain(
      float[] qJ,
      int rows,
      int dim,
      int[] codes,
      int wordsPerToken,
      int tokens,
      float[] weights,
      float[] base,
      int baseStride,
      int[] ids,
      float[] max) {
    java.util.Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
    for (int t = 0; t < tokens; t++) {
      for (int i = 0; i < rows; i++) {
        float s = 0;
        for (int j = 0; j < dim; j++) {
          int bucket = (codes[t * wordsPerToken + (j >> 4)] >>> (2 * (j & 15))) & 3;
          s = Math.fma(qJ[j * rows + i], weights[bucket], s);
        }
        s += base[ids[t] * baseStride + i];
        max[i] = Math.max(max[i], s);
      }
    }
  }

  /**
   * Decodes the leading dimensions of a 2-bit residual code ({@code ResidualCodebook}'s layout:
   * dimension {@code j}'s bucket in bits {@code 2j, 2j+1}, least significant first) as {@code
   * out[outOffset + j] = centroids[centroidOffset + j] + weights[bucket_j]}, or {@code
   * weights[bucket_j]} alone when {@code centroids} is null, on the Vector API, and
   * returns how many it decoded (a multiple of 4; 0 without the Vector API): the caller decodes
   * the rest.
   */
  public static int decodeTwoBit(
      float[] centroids, int centroidOffset, float[] weights, byte[] code, int codeOffset, float[] out, int outOffset, int dim) {
    if (VECTOR_API) {
      return PanamaKernels.decodeTwoBit(centroids, centroidOffset, weights, code, codeOffset, out, outOffset, dim);
    }
    return 0;
  }
}
