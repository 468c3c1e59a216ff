package org.neuralsolr.codecs;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
}
