package org.neuralsolr.codecs.multivector;

import java.util.Random;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestKMeans extends LuceneTestCase {

  /**
   * n points around c centres at least {@code minDistance} apart, row-major; centres written to
   * {@code centres}.
   */
  private static float[] clustered(Random random, int n, int dim, float[] centres, float noise, double minDistance) {
    int c = centres.length / dim;
    for (int i = 0; i < c; i++) {
      boolean far;
      do {
        for (int j = 0; j < dim; j++) {
          centres[i * dim + j] = (float) random.nextGaussian() * 10;
        }
        far = true;
        for (int o = 0; o < i && far; o++) {
          double d = 0;
          for (int j = 0; j < dim; j++) {
            double x = centres[i * dim + j] - centres[o * dim + j];
            d += x * x;
          }
          far = Math.sqrt(d) >= minDistance;
        }
      } while (far == false);
    }
    float[] data = new float[n * dim];
    for (int i = 0; i < n; i++) {
      int from = random.nextInt(c);
      for (int j = 0; j < dim; j++) {
        data[i * dim + j] = centres[from * dim + j] + noise * (float) random.nextGaussian();
      }
    }
    return data;
  }

  private static double sse(float[] data, int n, int dim, float[] centroids) {
    int k = centroids.length / dim;
    double total = 0;
    for (int i = 0; i < n; i++) {
      double best = Double.POSITIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        double d = 0;
        for (int j = 0; j < dim; j++) {
          double x = data[i * dim + j] - centroids[c * dim + j];
          d += x * x;
        }
        best = Math.min(best, d);
      }
      total += best;
    }
    return total;
  }

  public void testFindsSeparatedClusters() {
    int dim = TestUtil.nextInt(random(), 2, 16);
    int c = TestUtil.nextInt(random(), 2, 12);
    float[] centres = new float[c * dim];
    int n = 2000;
    // well separated: centres 20 noise units apart at least (random Gaussian centres in 2
    // dimensions can nearly coincide, and then no partition is the "true" one)
    float[] data = clustered(random(), n, dim, centres, 0.5f, 10);
    // k-means++ seeding and 4 Lloyd iterations occasionally leave two clusters sharing a centroid
    // (a few percent of random data sets, even well separated ones), so the best of three
    // trainings must find them; each must still beat k random points (below)
    double truth = sse(data, n, dim, centres);
    double trained = Double.POSITIVE_INFINITY;
    for (int attempt = 0; attempt < 3; attempt++) {
      float[] centroids = KMeans.train(data, n, dim, c, KMeans.DEFAULT_ITERATIONS, random());
      assertEquals(c * dim, centroids.length);
      trained = Math.min(trained, sse(data, n, dim, centroids));
    }
    assertTrue(trained + " vs " + truth, trained <= 1.5 * truth);
    // and much better than k random points of the data
    float[] randomPoints = KMeans.subsample(data, n, dim, c, random());
    assertTrue(trained < sse(data, n, dim, randomPoints));
  }

  public void testHierarchicalTrainsKCentroids() {
    int dim = TestUtil.nextInt(random(), 2, 8);
    int n = TestUtil.nextInt(random(), 3000, 6000);
    int k = TestUtil.nextInt(random(), KMeans.FLAT_MAX + 1, 700);
    float[] centres = new float[40 * dim];
    float[] data = clustered(random(), n, dim, centres, 3f, 0);
    float[] centroids = KMeans.train(data, n, dim, k, 2, random());
    assertEquals(k * dim, centroids.length);
    // more centroids fit the data better than fewer
    float[] fewer = KMeans.train(data, n, dim, k / 8, 2, random());
    assertTrue(sse(data, n, dim, centroids) < sse(data, n, dim, fewer));
  }

  public void testNeverMoreCentroidsThanPoints() {
    int dim = 3;
    int n = TestUtil.nextInt(random(), 1, 20);
    float[] data = new float[n * dim];
    for (int i = 0; i < data.length; i++) {
      data[i] = random().nextFloat();
    }
    assertEquals(n * dim, KMeans.train(data, n, dim, n + 5, 3, random()).length);
    assertEquals(n * dim, KMeans.train(data, n, dim, 1000, 3, random()).length);
  }

  public void testSphericalForUnitVectors() {
    int dim = TestUtil.nextInt(random(), 2, 16);
    int n = 500;
    float[] data = new float[n * dim];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < dim; j++) {
        data[i * dim + j] = (float) random().nextGaussian();
      }
      KMeans.normalize(data, i * dim, dim);
    }
    assertTrue(KMeans.isUnitLength(data, n, dim));
    float[] centroids = KMeans.train(data, n, dim, TestUtil.nextInt(random(), 2, 300), 3, random());
    assertTrue(KMeans.isUnitLength(centroids, centroids.length / dim, dim));
  }

  public void testAllocate() {
    for (int iter = 0; iter < 100; iter++) {
      int cells = TestUtil.nextInt(random(), 1, 30);
      int[] sizes = new int[cells];
      int n = 0;
      for (int c = 0; c < cells; c++) {
        sizes[c] = random().nextInt(100);
        n += sizes[c];
      }
      if (n == 0) {
        continue;
      }
      int k = TestUtil.nextInt(random(), 1, n);
      int[] share = KMeans.allocate(k, sizes, n);
      int total = 0;
      for (int c = 0; c < cells; c++) {
        assertTrue(share[c] <= sizes[c]);
        // proportional, within one centroid of the exact share
        double exact = (double) k * sizes[c] / n;
        assertTrue(share[c] + " vs " + exact, Math.abs(share[c] - exact) < 1 + 1e-9 || share[c] == sizes[c]);
        total += share[c];
      }
      assertEquals(k, total);
    }
  }

  public void testSampleIndexes() {
    for (int iter = 0; iter < 50; iter++) {
      int n = TestUtil.nextInt(random(), 1, 5000);
      int count = TestUtil.nextInt(random(), 0, n);
      int[] picked = KMeans.sampleIndexes(n, count, random());
      assertEquals(count, picked.length);
      for (int i = 0; i < count; i++) {
        assertTrue(picked[i] >= 0 && picked[i] < n);
        if (i > 0) {
          assertTrue(picked[i] > picked[i - 1]);
        }
      }
    }
    // uniform: each index is picked with probability count/n
    int[] hits = new int[10];
    for (int iter = 0; iter < 2000; iter++) {
      for (int i : KMeans.sampleIndexes(10, 3, random())) {
        hits[i]++;
      }
    }
    for (int h : hits) {
      assertEquals(600, h, 120);
    }
  }
}
