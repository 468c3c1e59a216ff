package org.neuralsolr.codecs;

import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestVectorKernels extends LuceneTestCase {

  private static float[] randomVector(int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = random().nextFloat() * 2 - 1;
    }
    return v;
  }

  private static double naiveDot(float[] a, int ao, float[] b, int bo, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += (double) a[ao + i] * b[bo + i];
    }
    return s;
  }

  public void testDot() {
    for (int iter = 0; iter < 200; iter++) {
      int n = TestUtil.nextInt(random(), 0, 300);
      int ao = random().nextInt(5), bo = random().nextInt(5);
      float[] a = randomVector(n + ao), b = randomVector(n + bo);
      double expected = naiveDot(a, ao, b, bo, n);
      // float reassociation: error grows with the sum of |products|, bounded here by n
      assertEquals(expected, VectorKernels.dot(a, ao, b, bo, n), 1e-6 * (n + 1));
    }
  }

  public void testDotProductsTransposed() {
    for (int iter = 0; iter < 50; iter++) {
      int rows = TestUtil.nextInt(random(), 1, 11);
      int columns = TestUtil.nextInt(random(), 1, 70);
      int dim = TestUtil.nextInt(random(), 1, 50);
      int offset = random().nextInt(3) * dim;
      float[] a = randomVector(offset + rows * dim);
      float[][] b = new float[columns][];
      float[][] bt = new float[dim][columns + random().nextInt(3)];
      for (int c = 0; c < columns; c++) {
        b[c] = randomVector(dim);
        for (int j = 0; j < dim; j++) {
          bt[j][c] = b[c][j];
        }
      }
      float[][] out = new float[rows][columns + random().nextInt(3)];
      for (float[] row : out) {
        java.util.Arrays.fill(row, Float.NaN); // must be overwritten
      }
      VectorKernels.dotProductsTransposed(a, offset, rows, dim, bt, columns, out);
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < columns; c++) {
          // the products are added in dimension order, like a naive float loop: bitwise equal
          float naive = 0;
          for (int j = 0; j < dim; j++) {
            naive += a[offset + r * dim + j] * b[c][j];
          }
          assertEquals(Float.floatToIntBits(naive), Float.floatToIntBits(out[r][c]));
        }
      }
    }
  }

  public void testMax() {
    for (int iter = 0; iter < 100; iter++) {
      int n = TestUtil.nextInt(random(), 0, 40);
      float[] x = randomVector(n + 2);
      float expected = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        expected = Math.max(expected, x[i]);
      }
      assertEquals(expected, VectorKernels.max(x, n), 0f);
      float[] m = randomVector(n);
      float[] before = m.clone();
      int offset = random().nextInt(2);
      VectorKernels.maxInto(x, offset, m, n);
      for (int i = 0; i < n; i++) {
        assertEquals(Math.max(before[i], x[offset + i]), m[i], 0f);
      }
    }
  }

  public void testAxpy() {
    int n = TestUtil.nextInt(random(), 0, 100);
    float[] x = randomVector(n);
    float[][] y = {randomVector(n), randomVector(n), randomVector(n), randomVector(n)};
    float[][] expected = new float[4][n];
    float[] a = randomVector(4);
    for (int k = 0; k < 4; k++) {
      for (int i = 0; i < n; i++) {
        expected[k][i] = y[k][i] + a[k] * x[i];
      }
    }
    VectorKernels.axpy4(a[0], a[1], a[2], a[3], x, y[0], y[1], y[2], y[3], n);
    for (int k = 0; k < 4; k++) {
      assertArrayEquals(expected[k], y[k], 0f);
    }
    float[] z = y[0].clone();
    VectorKernels.axpy(a[1], x, z, n);
    for (int i = 0; i < n; i++) {
      assertEquals(y[0][i] + a[1] * x[i], z[i], 0f);
    }
  }

  /** The Vector API kernel (when the module is present, as under surefire) equals the plain loop. */
  public void testDotProductsEqualPlainLoops() {
    // surefire adds jdk.incubator.vector: without it this test would compare the plain loop to itself
    assertTrue("run with --add-modules jdk.incubator.vector", VectorKernels.VECTOR_API);
    for (int iter = 0; iter < 100; iter++) {
      int rows = TestUtil.nextInt(random(), 1, 11); // tails below and above the 4-row block
      int columns = TestUtil.nextInt(random(), 1, 70);
      int dim = TestUtil.nextInt(random(), 1, 420); // lane tails, and 384 itself
      if (random().nextBoolean()) {
        dim = 384;
      }
      int offset = random().nextInt(3) * dim;
      float[] a = randomVector(offset + rows * dim);
      float[] b = randomVector(columns * dim);
      float[][] fast = new float[rows][columns + 2];
      float[][] plain = new float[rows][columns + 2];
      VectorKernels.dotProducts(a, offset, rows, b, columns, dim, fast);
      VectorKernels.dotProductsPlain(a, offset, rows, b, columns, dim, plain);
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < columns; c++) {
          double exact = naiveDot(a, offset + r * dim, b, c * dim, dim);
          // both reassociate the sum differently: compare each to the exact value
          assertEquals(exact, fast[r][c], 1e-6 * (dim + 1));
          assertEquals(exact, plain[r][c], 1e-6 * (dim + 1));
        }
        assertEquals(0f, fast[r][columns], 0f); // nothing written past columns
      }
    }
  }

  /**
   * The query-lane MaxSim kernel on the Vector API gives the plain loop's bits, for any number of
   * query vectors (one or more lane groups, padding lanes), document vectors (tails of the 4-vector
   * block) and dimensions, in both its modes; and the plain loop is the exact MaxSim up to float
   * rounding.
   */
  public void testMaxSimTransposedEqualsPlainLoop() {
    assertTrue("run with --add-modules jdk.incubator.vector", VectorKernels.VECTOR_API);
    for (int iter = 0; iter < 100; iter++) {
      int queryRows = TestUtil.nextInt(random(), 1, 70);
      int tokens = TestUtil.nextInt(random(), 1, 23);
      int dim = random().nextBoolean() ? 384 : TestUtil.nextInt(random(), 1, 130);
      int stride = VectorKernels.transposedStride(queryRows);
      assertTrue(stride >= queryRows);
      int offset = random().nextInt(3) * dim;
      float[] a = randomVector(offset + queryRows * dim);
      float[] qT = VectorKernels.transpose(a, offset, queryRows, dim, stride);
      float[] doc = randomVector(tokens * dim + random().nextInt(4));
      float[] start = randomVector(stride); // running maxima carried in
      // half the time a base per document vector, from rows of a table (as centroid scores are)
      float[] base = random().nextBoolean() ? randomVector(5 * stride) : null;
      int[] rows = new int[tokens];
      for (int t = 0; t < tokens; t++) {
        rows[t] = random().nextInt(5);
      }
      float[] fast = start.clone(), plain = start.clone();
      VectorKernels.maxSimTransposed(qT, stride, doc, tokens, dim, base, rows, fast, null);
      VectorKernels.maxSimTransposedPlain(qT, stride, doc, tokens, dim, base, rows, plain, null);
      float[] fastDots = new float[tokens * stride + 1], plainDots = new float[tokens * stride + 1];
      fastDots[tokens * stride] = 7f; // nothing written past the last token's row
      VectorKernels.maxSimTransposed(qT, stride, doc, tokens, dim, base, rows, null, fastDots);
      VectorKernels.maxSimTransposedPlain(qT, stride, doc, tokens, dim, base, rows, null, plainDots);
      assertEquals(7f, fastDots[tokens * stride], 0f);
      for (int i = 0; i < stride; i++) {
        assertEquals("lane " + i, Float.floatToIntBits(plain[i]), Float.floatToIntBits(fast[i]));
        double best = start[i];
        for (int t = 0; t < tokens; t++) {
          int o = t * stride + i;
          assertEquals(Float.floatToIntBits(plainDots[o]), Float.floatToIntBits(fastDots[o]));
          double exact = i < queryRows ? naiveDot(a, offset + i * dim, doc, t * dim, dim) : 0;
          if (base != null) {
            exact += base[rows[t] * stride + i];
          }
          assertEquals(exact, plainDots[o], 1e-6 * (dim + 2));
          best = Math.max(best, plainDots[o]);
        }
        assertEquals(best, plain[i], 0);
      }
    }
  }

  /**
   * The 2-bit document-lane kernel on the Vector API gives the plain loop's bits for any query
   * length (8/4/1 blocks and their mixes), token count (odd lane blocks, a last block part empty)
   * and dimension (not a multiple of 16); and the plain loop gives the bits of the query-lane
   * kernel on the decoded residuals, so both scoring paths of a 2-bit document agree exactly.
   */
  public void testMaxSimTwoBitEqualsPlainLoop() {
    assertTrue("run with --add-modules jdk.incubator.vector", VectorKernels.VECTOR_API);
    assertTrue("the Vector API kernel runs, not the plain loop it is compared with", VectorKernels.twoBitVectorized());
    for (int iter = 0; iter < 60; iter++) {
      int rows = TestUtil.nextInt(random(), 1, 40);
      int tokens = TestUtil.nextInt(random(), 1, 75);
      int dim = random().nextBoolean() ? 384 : TestUtil.nextInt(random(), 1, 130);
      int words = (2 * dim + 31) / 32;
      float[] query = randomVector(rows * dim);
      float[] qJ = VectorKernels.transpose(query, 0, rows, dim, rows);
      int[] codes = new int[tokens * words + random().nextInt(3)];
      for (int x = 0; x < codes.length; x++) {
        codes[x] = random().nextInt();
      }
      float[] weights = randomVector(4);
      int centroids = TestUtil.nextInt(random(), 1, 9);
      int baseStride = rows + random().nextInt(20);
      float[] base = randomVector(centroids * baseStride);
      int[] ids = new int[tokens];
      for (int t = 0; t < tokens; t++) {
        ids[t] = random().nextInt(centroids);
      }
      float[] fast = randomVector(rows), plain = randomVector(rows); // overwritten, not carried in
      float[] decoded = new float[VectorKernels.twoBitDecodedSize(dim)];
      float[] scratch = new float[VectorKernels.twoBitScratchSize(rows)];
      VectorKernels.maxSimTwoBit(
          qJ, rows, dim, codes, words, tokens, weights, base, baseStride, ids, fast, decoded, scratch);
      VectorKernels.maxSimTwoBitPlain(qJ, rows, dim, codes, words, tokens, weights, base, baseStride, ids, plain);
      // the same residuals decoded row-major, through the query-lane kernel
      float[] residuals = new float[tokens * dim];
      for (int t = 0; t < tokens; t++) {
        for (int j = 0; j < dim; j++) {
          residuals[t * dim + j] = weights[(codes[t * words + (j >> 4)] >>> (2 * (j & 15))) & 3];
        }
      }
      int stride = VectorKernels.transposedStride(rows);
      float[] qT = VectorKernels.transpose(query, 0, rows, dim, stride);
      float[] paddedBase = new float[centroids * stride];
      for (int c = 0; c < centroids; c++) {
        System.arraycopy(base, c * baseStride, paddedBase, c * stride, rows);
      }
      float[] laneMax = new float[stride];
      java.util.Arrays.fill(laneMax, Float.NEGATIVE_INFINITY);
      VectorKernels.maxSimTransposed(qT, stride, residuals, tokens, dim, paddedBase, ids, laneMax, null);
      for (int i = 0; i < rows; i++) {
        assertEquals("query vector " + i, Float.floatToIntBits(plain[i]), Float.floatToIntBits(fast[i]));
        assertEquals("query vector " + i, Float.floatToIntBits(laneMax[i]), Float.floatToIntBits(plain[i]));
        double best = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < tokens; t++) {
          best =
              Math.max(best, naiveDot(query, i * dim, residuals, t * dim, dim) + base[ids[t] * baseStride + i]);
        }
        assertEquals(best, plain[i], 1e-6 * (dim + 2));
      }
    }
  }
}
