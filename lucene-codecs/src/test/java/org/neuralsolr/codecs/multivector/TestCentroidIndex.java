package org.neuralsolr.codecs.multivector;

import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestCentroidIndex extends LuceneTestCase {

  private static float[] gaussian(int n, int dim, float scale) {
    float[] v = new float[n * dim];
    for (int i = 0; i < v.length; i++) {
      v[i] = scale * (float) random().nextGaussian();
    }
    return v;
  }

  private static int bruteForceNearest(float[] centroids, int k, int dim, float[] v, int vo) {
    int best = -1;
    double bestDistance = Double.POSITIVE_INFINITY;
    for (int c = 0; c < k; c++) {
      double d = distance(centroids, c * dim, v, vo, dim);
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    return best;
  }

  private static double distance(float[] a, int ao, float[] b, int bo, int dim) {
    double d = 0;
    for (int j = 0; j < dim; j++) {
      double x = a[ao + j] - b[bo + j];
      d += x * x;
    }
    return d;
  }

  public void testExactAssignmentAndDotProducts() {
    int dim = TestUtil.nextInt(random(), 1, 40);
    int k = TestUtil.nextInt(random(), 1, CentroidIndex.TWO_LEVEL_MIN_CENTROIDS);
    int n = TestUtil.nextInt(random(), 1, 300);
    float[] centroids = gaussian(k, dim, 1);
    float[] vectors = gaussian(n, dim, 1);
    CentroidIndex index = new CentroidIndex(centroids, k, dim, random().nextLong());
    int[] assigned = new int[n];
    index.assign(vectors, 0, n, assigned);
    for (int i = 0; i < n; i++) {
      int expected = bruteForceNearest(centroids, k, dim, vectors, i * dim);
      assertEquals(
          distance(centroids, expected * dim, vectors, i * dim, dim),
          distance(centroids, assigned[i] * dim, vectors, i * dim, dim),
          1e-4);
    }
    float[][] dots = new float[n][k];
    index.dotProducts(vectors, 0, n, dots);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < k; c++) {
        double dot = 0;
        for (int j = 0; j < dim; j++) {
          dot += (double) vectors[i * dim + j] * centroids[c * dim + j];
        }
        assertEquals(dot, dots[i][c], 1e-4 * dim);
      }
    }
  }

  /** Above the two-level threshold the search is approximate, but finds the nearest mostly. */
  public void testTwoLevelAssignment() {
    int dim = TestUtil.nextInt(random(), 4, 16);
    int k = TestUtil.nextInt(random(), CentroidIndex.TWO_LEVEL_MIN_CENTROIDS + 1, 2500);
    int n = 2000;
    float[] centroids = gaussian(k, dim, 1);
    float[] vectors = new float[n * dim];
    for (int i = 0; i < n; i++) { // near a random centroid, as real vectors are
      int c = random().nextInt(k);
      for (int j = 0; j < dim; j++) {
        vectors[i * dim + j] = centroids[c * dim + j] + 0.2f * (float) random().nextGaussian();
      }
    }
    int[] assigned = new int[n];
    new CentroidIndex(centroids, k, dim, random().nextLong()).assign(vectors, 0, n, assigned);
    int exact = 0;
    for (int i = 0; i < n; i++) {
      int nearest = bruteForceNearest(centroids, k, dim, vectors, i * dim);
      if (assigned[i] == nearest) {
        exact++;
      }
      assertTrue(assigned[i] >= 0 && assigned[i] < k);
    }
    assertTrue("found the nearest centroid for " + exact + " of " + n, exact >= 0.8 * n);
  }
}
