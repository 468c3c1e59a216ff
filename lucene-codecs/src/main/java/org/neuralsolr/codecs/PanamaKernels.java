package org.neuralsolr.codecs;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.apache.lucene.util.BitUtil;

/**
 * {@link VectorKernels}' many-against-many dot products on the JDK Vector API. This class refers
 * to {@code jdk.incubator.vector}, so it is only loaded when {@link VectorKernels#VECTOR_API} is
 * true (the module was added with {@code --add-modules jdk.incubator.vector}).
 *
 * <p>Row-major operands, 4 rows of {@code a} by 4 rows of {@code b} per pass: 16 independent
 * accumulators, and each of the 8 loads feeds 4 multiply-adds. No transposed copy is needed.
 */
final class PanamaKernels {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> INTS =
      VectorSpecies.of(int.class, SPECIES.vectorShape());
  private static final int LANES = SPECIES.length();
  /**
   * Lane {@code l} shifts left by {@code 31 − 2l} ({@code 30 − 2l}): the low (high) bit of the 2-bit
   * code of dimension {@code l} of a code word becomes the sign bit.
   */
  private static final IntVector LOW_BIT_TO_SIGN =
      IntVector.broadcast(INTS, 31).sub(IntVector.zero(INTS).addIndex(2));
  private static final IntVector HIGH_BIT_TO_SIGN =
      IntVector.broadcast(INTS, 30).sub(IntVector.zero(INTS).addIndex(2));

  private PanamaKernels() {}

  static void dotProducts(float[] a, int aOffset, int rows, float[] b, int columns, int dim, float[][] out) {
    int bound = SPECIES.loopBound(dim);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      int a0 = aOffset + r * dim, a1 = a0 + dim, a2 = a1 + dim, a3 = a2 + dim;
      int c = 0;
      for (; c + 4 <= columns; c += 4) {
        int b0 = c * dim, b1 = b0 + dim, b2 = b1 + dim, b3 = b2 + dim;
        FloatVector s00 = FloatVector.zero(SPECIES), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        for (int j = 0; j < bound; j += SPECIES.length()) {
          FloatVector y0 = FloatVector.fromArray(SPECIES, b, b0 + j);
          FloatVector y1 = FloatVector.fromArray(SPECIES, b, b1 + j);
          FloatVector y2 = FloatVector.fromArray(SPECIES, b, b2 + j);
          FloatVector y3 = FloatVector.fromArray(SPECIES, b, b3 + j);
          FloatVector x = FloatVector.fromArray(SPECIES, a, a0 + j);
          s00 = x.fma(y0, s00);
          s01 = x.fma(y1, s01);
          s02 = x.fma(y2, s02);
          s03 = x.fma(y3, s03);
          x = FloatVector.fromArray(SPECIES, a, a1 + j);
          s10 = x.fma(y0, s10);
          s11 = x.fma(y1, s11);
          s12 = x.fma(y2, s12);
          s13 = x.fma(y3, s13);
          x = FloatVector.fromArray(SPECIES, a, a2 + j);
          s20 = x.fma(y0, s20);
          s21 = x.fma(y1, s21);
          s22 = x.fma(y2, s22);
          s23 = x.fma(y3, s23);
          x = FloatVector.fromArray(SPECIES, a, a3 + j);
          s30 = x.fma(y0, s30);
          s31 = x.fma(y1, s31);
          s32 = x.fma(y2, s32);
          s33 = x.fma(y3, s33);
        }
        float[] o0 = out[r], o1 = out[r + 1], o2 = out[r + 2], o3 = out[r + 3];
        o0[c] = reduce(s00, a, a0, b, b0, bound, dim);
        o0[c + 1] = reduce(s01, a, a0, b, b1, bound, dim);
        o0[c + 2] = reduce(s02, a, a0, b, b2, bound, dim);
        o0[c + 3] = reduce(s03, a, a0, b, b3, bound, dim);
        o1[c] = reduce(s10, a, a1, b, b0, bound, dim);
        o1[c + 1] = reduce(s11, a, a1, b, b1, bound, dim);
        o1[c + 2] = reduce(s12, a, a1, b, b2, bound, dim);
        o1[c + 3] = reduce(s13, a, a1, b, b3, bound, dim);
        o2[c] = reduce(s20, a, a2, b, b0, bound, dim);
        o2[c + 1] = reduce(s21, a, a2, b, b1, bound, dim);
        o2[c + 2] = reduce(s22, a, a2, b, b2, bound, dim);
        o2[c + 3] = reduce(s23, a, a2, b, b3, bound, dim);
        o3[c] = reduce(s30, a, a3, b, b0, bound, dim);
        o3[c + 1] = reduce(s31, a, a3, b, b1, bound, dim);
        o3[c + 2] = reduce(s32, a, a3, b, b2, bound, dim);
        o3[c + 3] = reduce(s33, a, a3, b, b3, bound, dim);
      }
      for (; c < columns; c++) {
        out[r][c] = dot(a, a0, b, c * dim, bound, dim);
        out[r + 1][c] = dot(a, a1, b, c * dim, bound, dim);
        out[r + 2][c] = dot(a, a2, b, c * dim, bound, dim);
        out[r + 3][c] = dot(a, a3, b, c * dim, bound, dim);
      }
    }
    for (; r < rows; r++) {
      for (int c = 0; c < columns; c++) {
        out[r][c] = dot(a, aOffset + r * dim, b, c * dim, bound, dim);
      }
    }
  }

  private static float dot(float[] a, int ao, float[] b, int bo, int bound, int dim) {
    FloatVector s = FloatVector.zero(SPECIES);
    for (int j = 0; j < bound; j += SPECIES.length()) {
      s = FloatVector.fromArray(SPECIES, a, ao + j).fma(FloatVector.fromArray(SPECIES, b, bo + j), s);
    }
    return reduce(s, a, ao, b, bo, bound, dim);
  }

  /** The lanes' sum plus the scalar tail {@code [bound, dim)}. */
  private static float reduce(FloatVector s, float[] a, int ao, float[] b, int bo, int bound, int dim) {
    float sum = s.reduceLanes(VectorOperators.ADD);
    for (int j = bound; j < dim; j++) {
      sum += a[ao + j] * b[bo + j];
    }
    return sum;
  }

  static int lanes() {
    return LANES;
  }

  /**
   * {@link VectorKernels#maxSimTransposed}: the query is dimension-major ({@code qT[j * stride +
   * i]}, {@code stride} a multiple of {@link #lanes}), one lane per query vector, and each document
   * value is broadcast. Blocks of 2 lane groups × 4 document vectors keep 8 accumulators in
   * registers, so each query load feeds 4 multiply-adds and each broadcast 2; every dot product is
   * one multiply-add chain over {@code j = 0 … dim−1}, whatever block it falls in, so results do not
   * depend on the blocking. {@code max[i] = max(max[i], q_i·d_t)} over the documents, or with
   * {@code dots} not null {@code dots[t * stride + i] = q_i·d_t} instead; with {@code base} not
   * null, {@code base[rows[t] * stride + i]} is added to each chain's result.
   *
   * <p>Each block is a small method of its own: C2 must inline every Vector API call of a loop to
   * compile it to vector instructions, and one method holding all the blocks exceeded its inlining
   * budget (profiles showed the loops running the API's scalar fallback).
   */
  static void maxSimTransposed(
      float[] qT, int stride, float[] doc, int tokens, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    int g = 0;
    for (; g + 2 * LANES <= stride; g += 2 * LANES) {
      int t = 0;
      for (; t + 4 <= tokens; t += 4) {
        block2x4(qT, stride, g, doc, t, dim, base, rows, max, dots);
      }
      for (; t < tokens; t++) {
        block2x1(qT, stride, g, doc, t, dim, base, rows, max, dots);
      }
    }
    for (; g < stride; g += LANES) { // one lane group left
      int t = 0;
      for (; t + 4 <= tokens; t += 4) {
        block1x4(qT, stride, g, doc, t, dim, base, rows, max, dots);
      }
      for (; t < tokens; t++) {
        block1x1(qT, stride, g, doc, t, dim, base, rows, max, dots);
      }
    }
  }

  private static void block2x4(
      float[] qT, int stride, int g, float[] doc, int t, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    int d0 = t * dim, d1 = d0 + dim, d2 = d1 + dim, d3 = d2 + dim;
    FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (int j = 0; j < dim; j++) {
      int q = g + j * stride; // from j, so that C2 can drop the range checks of the loads
      FloatVector q0 = FloatVector.fromArray(SPECIES, qT, q);
      FloatVector q1 = FloatVector.fromArray(SPECIES, qT, q + LANES);
      FloatVector x = FloatVector.broadcast(SPECIES, doc[d0 + j]);
      a00 = q0.fma(x, a00);
      a10 = q1.fma(x, a10);
      x = FloatVector.broadcast(SPECIES, doc[d1 + j]);
      a01 = q0.fma(x, a01);
      a11 = q1.fma(x, a11);
      x = FloatVector.broadcast(SPECIES, doc[d2 + j]);
      a02 = q0.fma(x, a02);
      a12 = q1.fma(x, a12);
      x = FloatVector.broadcast(SPECIES, doc[d3 + j]);
      a03 = q0.fma(x, a03);
      a13 = q1.fma(x, a13);
    }
    if (base != null) { // + q_i·c_t, the centroid part of each dot product
      a00 = a00.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g));
      a10 = a10.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g + LANES));
      a01 = a01.add(FloatVector.fromArray(SPECIES, base, rows[t + 1] * stride + g));
      a11 = a11.add(FloatVector.fromArray(SPECIES, base, rows[t + 1] * stride + g + LANES));
      a02 = a02.add(FloatVector.fromArray(SPECIES, base, rows[t + 2] * stride + g));
      a12 = a12.add(FloatVector.fromArray(SPECIES, base, rows[t + 2] * stride + g + LANES));
      a03 = a03.add(FloatVector.fromArray(SPECIES, base, rows[t + 3] * stride + g));
      a13 = a13.add(FloatVector.fromArray(SPECIES, base, rows[t + 3] * stride + g + LANES));
    }
    if (dots == null) {
      FloatVector.fromArray(SPECIES, max, g).max(a00.max(a01).max(a02.max(a03))).intoArray(max, g);
      FloatVector.fromArray(SPECIES, max, g + LANES)
          .max(a10.max(a11).max(a12.max(a13)))
          .intoArray(max, g + LANES);
    } else {
      int o = t * stride + g;
      a00.intoArray(dots, o);
      a10.intoArray(dots, o + LANES);
      a01.intoArray(dots, o + stride);
      a11.intoArray(dots, o + stride + LANES);
      a02.intoArray(dots, o + 2 * stride);
      a12.intoArray(dots, o + 2 * stride + LANES);
      a03.intoArray(dots, o + 3 * stride);
      a13.intoArray(dots, o + 3 * stride + LANES);
    }
  }

  private static void block2x1(
      float[] qT, int stride, int g, float[] doc, int t, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    int d0 = t * dim;
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0;
    for (int j = 0; j < dim; j++) {
      int q = g + j * stride; // from j, so that C2 can drop the range checks of the loads
      FloatVector x = FloatVector.broadcast(SPECIES, doc[d0 + j]);
      a0 = FloatVector.fromArray(SPECIES, qT, q).fma(x, a0);
      a1 = FloatVector.fromArray(SPECIES, qT, q + LANES).fma(x, a1);
    }
    if (base != null) { // + q_i·c_t, the centroid part of each dot product
      a0 = a0.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g));
      a1 = a1.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g + LANES));
    }
    if (dots == null) {
      FloatVector.fromArray(SPECIES, max, g).max(a0).intoArray(max, g);
      FloatVector.fromArray(SPECIES, max, g + LANES).max(a1).intoArray(max, g + LANES);
    } else {
      a0.intoArray(dots, t * stride + g);
      a1.intoArray(dots, t * stride + g + LANES);
    }
  }

  private static void block1x4(
      float[] qT, int stride, int g, float[] doc, int t, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    int d0 = t * dim, d1 = d0 + dim, d2 = d1 + dim, d3 = d2 + dim;
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < dim; j++) {
      int q = g + j * stride; // from j, so that C2 can drop the range checks of the loads
      FloatVector q0 = FloatVector.fromArray(SPECIES, qT, q);
      a0 = q0.fma(FloatVector.broadcast(SPECIES, doc[d0 + j]), a0);
      a1 = q0.fma(FloatVector.broadcast(SPECIES, doc[d1 + j]), a1);
      a2 = q0.fma(FloatVector.broadcast(SPECIES, doc[d2 + j]), a2);
      a3 = q0.fma(FloatVector.broadcast(SPECIES, doc[d3 + j]), a3);
    }
    if (base != null) { // + q_i·c_t, the centroid part of each dot product
      a0 = a0.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g));
      a1 = a1.add(FloatVector.fromArray(SPECIES, base, rows[t + 1] * stride + g));
      a2 = a2.add(FloatVector.fromArray(SPECIES, base, rows[t + 2] * stride + g));
      a3 = a3.add(FloatVector.fromArray(SPECIES, base, rows[t + 3] * stride + g));
    }
    if (dots == null) {
      FloatVector.fromArray(SPECIES, max, g).max(a0.max(a1).max(a2.max(a3))).intoArray(max, g);
    } else {
      int o = t * stride + g;
      a0.intoArray(dots, o);
      a1.intoArray(dots, o + stride);
      a2.intoArray(dots, o + 2 * stride);
      a3.intoArray(dots, o + 3 * stride);
    }
  }

  private static void block1x1(
      float[] qT, int stride, int g, float[] doc, int t, int dim, float[] base, int[] rows, float[] max, float[] dots) {
    int d0 = t * dim;
    FloatVector a0 = FloatVector.zero(SPECIES);
    for (int j = 0; j < dim; j++) {
      int q = g + j * stride; // from j, so that C2 can drop the range checks of the loads
      a0 = FloatVector.fromArray(SPECIES, qT, q).fma(FloatVector.broadcast(SPECIES, doc[d0 + j]), a0);
    }
    if (base != null) { // + q_i·c_t, the centroid part of each dot product
      a0 = a0.add(FloatVector.fromArray(SPECIES, base, rows[t] * stride + g));
    }
    if (dots == null) {
      FloatVector.fromArray(SPECIES, max, g).max(a0).intoArray(max, g);
    } else {
      a0.intoArray(dots, t * stride + g);
    }
  }

  /**
   * {@link VectorKernels#maxSimTwoBit} with the document's tokens as lanes. Tokens go in pairs of
   * lane blocks: both blocks are decoded dimension-major into {@code scratch} (2 × dim × lanes
   * floats, which stays in the first-level cache), their centroid scores gathered beside them, and
   * then blocks of 8 (4, 1) query vectors × 2 token blocks keep 16 (8, 2) accumulators in
   * registers, so each decoded load feeds 8 multiply-adds and each broadcast query value 2. A
   * document's maxima stay lane-wise in {@code scratch} and are reduced once per query vector at
   * the end. Lanes past the last token get a base of −∞, so they never win a maximum.
   *
   * <p>{@code decoded} holds the two blocks ({@code [2][dim][lanes]}); {@code scratch} their
   * centroid scores {@code [2][rows][lanes]}, then the maxima {@code [rows][lanes]}, then 16 × lanes
   * slots where a block of query vectors stores its accumulators to fold them. (Kept apart:
   * with all three in one array C2 compiled the multiply-add loops to a third of their speed.)
   */
  static void maxSimTwoBit(
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
    int second = dim * LANES; // offset of the second token block's values
    int baseAt = 0;
    int maxAt = baseAt + 2 * rows * LANES;
    java.util.Arrays.fill(scratch, maxAt, maxAt + rows * LANES, Float.NEGATIVE_INFINITY);
    int[] gather = new int[LANES];
    for (int t0 = 0; t0 < tokens; t0 += 2 * LANES) {
      decodeTokenBlock(codes, wordsPerToken, tokens, t0, dim, weights, gather, decoded, 0);
      gatherBase(base, baseStride, ids, tokens, t0, rows, scratch, baseAt);
      int t1 = t0 + LANES;
      int o1 = 0; // without a second block the first is scored twice, its copy masked by −∞
      if (t1 < tokens) {
        decodeTokenBlock(codes, wordsPerToken, tokens, t1, dim, weights, gather, decoded, second);
        o1 = second;
      }
      gatherBase(base, baseStride, ids, tokens, t1, rows, scratch, baseAt + rows * LANES);
      int i = 0;
      for (; i + 8 <= rows; i += 8) {
        queries8(qJ, rows, i, dim, decoded, o1, scratch, baseAt, maxAt);
      }
      for (; i + 4 <= rows; i += 4) {
        queries4(qJ, rows, i, dim, decoded, o1, scratch, baseAt, maxAt);
      }
      for (; i < rows; i++) {
        queries1(qJ, rows, i, dim, decoded, o1, scratch, baseAt, maxAt);
      }
    }
    for (int i = 0; i < rows; i++) {
      max[i] = FloatVector.fromArray(SPECIES, scratch, maxAt + i * LANES).reduceLanes(VectorOperators.MAX);
    }
  }

  /**
   * Decodes the residuals of tokens {@code [t0, t0 + lanes)} dimension-major: {@code out[o + j *
   * lanes + l]} is token {@code t0 + l}'s weight in dimension {@code j}. Each code word of the block
   * is gathered once (one int per token) and yields 16 dimensions. A lane's weight is selected
   * bitwise from the weights' bits by all-ones/all-zeros masks of its bucket's 2 bits, made by
   * shifts: on Java 17 vector masks and shuffles made from vectors are not compiled to single
   * instructions, and measured 3x slower here. The code word is walked from its top dimension
   * down, shifting it left by 2 each step, so that the current bucket's bits are the top two.
   */
  private static void decodeTokenBlock(
      int[] codes, int wordsPerToken, int tokens, int t0, int dim, float[] weights, int[] gather, float[] out, int o) {
    for (int l = 0; l < LANES; l++) {
      gather[l] = Math.min(t0 + l, tokens - 1) * wordsPerToken;
    }
    IntVector w0 = IntVector.broadcast(INTS, Float.floatToRawIntBits(weights[0]));
    IntVector w1 = IntVector.broadcast(INTS, Float.floatToRawIntBits(weights[1]));
    IntVector w2 = IntVector.broadcast(INTS, Float.floatToRawIntBits(weights[2]));
    IntVector w3 = IntVector.broadcast(INTS, Float.floatToRawIntBits(weights[3]));
    IntVector w01 = w0.lanewise(VectorOperators.XOR, w1);
    IntVector w23 = w2.lanewise(VectorOperators.XOR, w3);
    IntVector one = IntVector.broadcast(INTS, 1);
    IntVector two = IntVector.broadcast(INTS, 2);
    IntVector top = IntVector.broadcast(INTS, 31);
    for (int k = 0; k < wordsPerToken; k++) {
      IntVector x = IntVector.fromArray(INTS, codes, k, gather, 0);
      int dims = Math.min(16, dim - 16 * k);
      int at = o + 16 * k * LANES;
      // dimension e's bits at the top: x << 2 (15 − e); dimensions past dim are skipped
      x = x.lanewise(VectorOperators.LSHL, IntVector.broadcast(INTS, 2 * (16 - dims)));
      for (int e = dims - 1; e >= 0; e--) {
        IntVector high = x.lanewise(VectorOperators.ASHR, top);
        IntVector odd = x.lanewise(VectorOperators.LSHL, one).lanewise(VectorOperators.ASHR, top);
        IntVector low = w0.lanewise(VectorOperators.XOR, w01.lanewise(VectorOperators.AND, odd));
        IntVector up = w2.lanewise(VectorOperators.XOR, w23.lanewise(VectorOperators.AND, odd));
        low.lanewise(VectorOperators.XOR, low.lanewise(VectorOperators.XOR, up).lanewise(VectorOperators.AND, high))
            .reinterpretAsFloats()
            .intoArray(out, at + e * LANES);
        x = x.lanewise(VectorOperators.LSHL, two);
      }
    }
  }

  /** {@code out[o + i * lanes + l]} = token {@code t0 + l}'s centroid score, −∞ past the last token. */
  private static void gatherBase(
      float[] base, int baseStride, int[] ids, int tokens, int t0, int rows, float[] out, int o) {
    for (int l = 0; l < LANES; l++) {
      int t = t0 + l;
      if (t < tokens) {
        int row = ids[t] * baseStride;
        for (int i = 0; i < rows; i++) {
          out[o + i * LANES + l] = base[row + i];
        }
      } else {
        for (int i = 0; i < rows; i++) {
          out[o + i * LANES + l] = Float.NEGATIVE_INFINITY;
        }
      }
    }
  }

  /**
   * Adds the centroid scores to {@code n} query vectors' stored accumulators of both token blocks
   * ({@code s[accAt + k * lanes]}, {@code s[accAt + (k + 8) * lanes]}) and folds them into their
   * maxima. Apart from the multiply-add loops: in the same method, C2 compiled those loops to a
   * third of their speed.
   */
  private static void fold(int n, int i0, int rows, float[] s, int baseAt, int maxAt, int accAt) {
    for (int k = 0; k < n; k++) {
      int i = i0 + k;
      FloatVector a = FloatVector.fromArray(SPECIES, s, accAt + k * LANES)
          .add(FloatVector.fromArray(SPECIES, s, baseAt + i * LANES));
      FloatVector c = FloatVector.fromArray(SPECIES, s, accAt + (k + 8) * LANES)
          .add(FloatVector.fromArray(SPECIES, s, baseAt + (rows + i) * LANES));
      int m = maxAt + i * LANES;
      FloatVector.fromArray(SPECIES, s, m).max(a.max(c)).intoArray(s, m);
    }
  }

  private static void queries8(
      float[] qJ, int rows, int i0, int dim, float[] d, int o1, float[] s, int baseAt, int maxAt) {
    int accAt = maxAt + rows * LANES; // 16 accumulators, folded after the loop
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;
    for (int j = 0; j < dim; j++) {
      FloatVector x = FloatVector.fromArray(SPECIES, d, j * LANES);
      FloatVector y = FloatVector.fromArray(SPECIES, d, o1 + j * LANES);
      int p = j * rows + i0;
      FloatVector w = FloatVector.broadcast(SPECIES, qJ[p]);
      a0 = x.fma(w, a0);
      c0 = y.fma(w, c0);
      w = FloatVector.broadcast(SPECIES, qJ[p + 1]);
      a1 = x.fma(w, a1);
      c1 = y.fma(w, c1);
      w = FloatVector.broadcast(SPECIES, qJ[p + 2]);
      a2 = x.fma(w, a2);
      c2 = y.fma(w, c2);
      w = FloatVector.broadcast(SPECIES, qJ[p + 3]);
      a3 = x.fma(w, a3);
      c3 = y.fma(w, c3);
      w = FloatVector.broadcast(SPECIES, qJ[p + 4]);
      a4 = x.fma(w, a4);
      c4 = y.fma(w, c4);
      w = FloatVector.broadcast(SPECIES, qJ[p + 5]);
      a5 = x.fma(w, a5);
      c5 = y.fma(w, c5);
      w = FloatVector.broadcast(SPECIES, qJ[p + 6]);
      a6 = x.fma(w, a6);
      c6 = y.fma(w, c6);
      w = FloatVector.broadcast(SPECIES, qJ[p + 7]);
      a7 = x.fma(w, a7);
      c7 = y.fma(w, c7);
    }
    a0.intoArray(s, accAt + 0 * LANES);
    c0.intoArray(s, accAt + (0 + 8) * LANES);
    a1.intoArray(s, accAt + 1 * LANES);
    c1.intoArray(s, accAt + (1 + 8) * LANES);
    a2.intoArray(s, accAt + 2 * LANES);
    c2.intoArray(s, accAt + (2 + 8) * LANES);
    a3.intoArray(s, accAt + 3 * LANES);
    c3.intoArray(s, accAt + (3 + 8) * LANES);
    a4.intoArray(s, accAt + 4 * LANES);
    c4.intoArray(s, accAt + (4 + 8) * LANES);
    a5.intoArray(s, accAt + 5 * LANES);
    c5.intoArray(s, accAt + (5 + 8) * LANES);
    a6.intoArray(s, accAt + 6 * LANES);
    c6.intoArray(s, accAt + (6 + 8) * LANES);
    a7.intoArray(s, accAt + 7 * LANES);
    c7.intoArray(s, accAt + (7 + 8) * LANES);
    fold(8, i0, rows, s, baseAt, maxAt, accAt);
  }

  private static void queries4(
      float[] qJ, int rows, int i0, int dim, float[] d, int o1, float[] s, int baseAt, int maxAt) {
    int accAt = maxAt + rows * LANES; // 8 of the 16 accumulator slots, folded after the loop
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
    FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    for (int j = 0; j < dim; j++) {
      FloatVector x = FloatVector.fromArray(SPECIES, d, j * LANES);
      FloatVector y = FloatVector.fromArray(SPECIES, d, o1 + j * LANES);
      int p = j * rows + i0;
      FloatVector w = FloatVector.broadcast(SPECIES, qJ[p]);
      a0 = x.fma(w, a0);
      c0 = y.fma(w, c0);
      w = FloatVector.broadcast(SPECIES, qJ[p + 1]);
      a1 = x.fma(w, a1);
      c1 = y.fma(w, c1);
      w = FloatVector.broadcast(SPECIES, qJ[p + 2]);
      a2 = x.fma(w, a2);
      c2 = y.fma(w, c2);
      w = FloatVector.broadcast(SPECIES, qJ[p + 3]);
      a3 = x.fma(w, a3);
      c3 = y.fma(w, c3);
    }
    a0.intoArray(s, accAt + 0 * LANES);
    c0.intoArray(s, accAt + (0 + 8) * LANES);
    a1.intoArray(s, accAt + 1 * LANES);
    c1.intoArray(s, accAt + (1 + 8) * LANES);
    a2.intoArray(s, accAt + 2 * LANES);
    c2.intoArray(s, accAt + (2 + 8) * LANES);
    a3.intoArray(s, accAt + 3 * LANES);
    c3.intoArray(s, accAt + (3 + 8) * LANES);
    fold(4, i0, rows, s, baseAt, maxAt, accAt);
  }

  private static void queries1(
      float[] qJ, int rows, int i0, int dim, float[] d, int o1, float[] s, int baseAt, int maxAt) {
    int accAt = maxAt + rows * LANES; // 2 of the 16 accumulator slots, folded after the loop
    FloatVector a0 = FloatVector.zero(SPECIES), c0 = a0;
    for (int j = 0; j < dim; j++) {
      FloatVector w = FloatVector.broadcast(SPECIES, qJ[j * rows + i0]);
      a0 = FloatVector.fromArray(SPECIES, d, j * LANES).fma(w, a0);
      c0 = FloatVector.fromArray(SPECIES, d, o1 + j * LANES).fma(w, c0);
    }
    a0.intoArray(s, accAt + 0 * LANES);
    c0.intoArray(s, accAt + (0 + 8) * LANES);
    fold(1, i0, rows, s, baseAt, maxAt, accAt);
  }

  /**
   * The vector part of {@link VectorKernels#decodeTwoBit}: whole lane groups of dimensions whose
   * code word (4 bytes, read little-endian) lies inside {@code code}; returns how many dimensions
   * it decoded. A lane's bucket is picked from the 4 weights by masks, so the result is exactly
   * {@code centroid + weight}, as the scalar decoder computes it.
   */
  static int decodeTwoBit(
      float[] centroids, int centroidOffset, float[] weights, byte[] code, int codeOffset, float[] out, int outOffset, int dim) {
    if (LANES > 16) {
      return 0; // a lane group's codes would not fit one int
    }
    FloatVector w0 = FloatVector.broadcast(SPECIES, weights[0]);
    FloatVector w1 = FloatVector.broadcast(SPECIES, weights[1]);
    FloatVector w2 = FloatVector.broadcast(SPECIES, weights[2]);
    FloatVector w3 = FloatVector.broadcast(SPECIES, weights[3]);
    int j = 0;
    for (; j + LANES <= dim && codeOffset + (j >> 2) + Integer.BYTES <= code.length; j += LANES) {
      int word = (int) BitUtil.VH_LE_INT.get(code, codeOffset + (j >> 2));
      IntVector bits = IntVector.broadcast(INTS, word);
      VectorMask<Float> odd =
          bits.lanewise(VectorOperators.LSHL, LOW_BIT_TO_SIGN).compare(VectorOperators.LT, 0).cast(SPECIES);
      VectorMask<Float> high =
          bits.lanewise(VectorOperators.LSHL, HIGH_BIT_TO_SIGN).compare(VectorOperators.LT, 0).cast(SPECIES);
      FloatVector residual = w0.blend(w1, odd).blend(w2.blend(w3, odd), high);
      if (centroids == null) {
        residual.intoArray(out, outOffset + j);
      } else {
        FloatVector.fromArray(SPECIES, centroids, centroidOffset + j)
            .add(residual)
            .intoArray(out, outOffset + j);
      }
    }
    return j;
  }

  /** {@code m[i] = max(m[i], x[xOffset + i])}, {@code n} a multiple of {@link #lanes}. */
  static void maxInto(float[] x, int xOffset, float[] m, int n) {
    for (int i = 0; i < n; i += LANES) {
      FloatVector.fromArray(SPECIES, m, i)
          .max(FloatVector.fromArray(SPECIES, x, xOffset + i))
          .intoArray(m, i);
    }
  }
}
