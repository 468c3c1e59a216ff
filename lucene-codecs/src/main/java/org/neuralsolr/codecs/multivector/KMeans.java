package org.neuralsolr.codecs.multivector;

import java.util.Arrays;
import java.util.Random;
import org.neuralsolr.codecs.VectorKernels;

/**
 * k-means for the centroids of a {@link ResidualCodebook}: k-means++ seeding, then a few Lloyd
 * iterations.
 *
 * <p>When every input vector has unit length (ColBERT's token vectors do), the k-means is
 * <em>spherical</em>: centroids are re-normalised after each update, so they stay on the sphere the
 * data lives on and "nearest" and "largest dot product" coincide.
 *
 * <p>Up to {@link #FLAT_MAX} centroids are trained directly. More are trained hierarchically, which
 * is what keeps training on a million vectors in seconds: about √k coarse centroids are trained on
 * a subsample, every vector is assigned to its coarse centroid, and each coarse cell then trains its
 * share of the k centroids (proportional to its size) on its own vectors. An iteration thus costs
 * about {@code n·2√k} instead of {@code n·k} dot products.
 */
final class KMeans {

  /** Lloyd iterations after seeding (ColBERTv2 uses 4 as well). */
  static final int DEFAULT_ITERATIONS = 4;

  /** Largest k trained without the hierarchy. */
  static final int FLAT_MAX = 256;

  /** Points per centroid used for k-means++ seeding and for the coarse level. */
  static final int SEED_POINTS_PER_CENTROID = 64;

  private KMeans() {}

  /**
   * Trains {@code min(k, n)} centroids on the {@code n} vectors of {@code data} (row-major) and
   * returns them row-major.
   */
  static float[] train(float[] data, int n, int dim, int k, int iterations, Random random) {
    k = Math.min(k, n);
    if (k <= FLAT_MAX) {
      return trainFlat(data, n, dim, k, iterations, random);
    }
    boolean spherical = isUnitLength(data, n, dim);
    int numCoarse = (int) Math.round(Math.sqrt(k));
    float[] coarseSample = subsample(data, n, dim, numCoarse * SEED_POINTS_PER_CENTROID, random);
    int coarseN = coarseSample.length / dim;
    float[] coarse = trainFlat(coarseSample, coarseN, dim, numCoarse, iterations, random);
    numCoarse = coarse.length / dim;

    int[] cellOf = new int[n];
    new CentroidIndex(coarse, numCoarse, dim, random.nextLong())
        .assignExact(data, 0, n, cellOf, new float[n]);
    int[] cellSize = new int[numCoarse];
    for (int i = 0; i < n; i++) {
      cellSize[cellOf[i]]++;
    }
    int[] share = allocate(k, cellSize, n);

    int[][] cellPoints = new int[numCoarse][];
    for (int c = 0; c < numCoarse; c++) {
      cellPoints[c] = new int[cellSize[c]];
    }
    int[] fill = new int[numCoarse];
    for (int i = 0; i < n; i++) {
      cellPoints[cellOf[i]][fill[cellOf[i]]++] = i;
    }

    float[] centroids = new float[k * dim];
    int produced = 0;
    for (int c = 0; c < numCoarse; c++) {
      if (share[c] == 0) {
        continue;
      }
      int[] points = cellPoints[c];
      float[] cellData = new float[points.length * dim];
      for (int i = 0; i < points.length; i++) {
        System.arraycopy(data, points[i] * dim, cellData, i * dim, dim);
      }
      float[] cellCentroids =
          trainFlat(cellData, points.length, dim, share[c], iterations, random, spherical);
      System.arraycopy(cellCentroids, 0, centroids, produced * dim, cellCentroids.length);
      produced += cellCentroids.length / dim;
    }
    return produced == k ? centroids : Arrays.copyOf(centroids, produced * dim);
  }

  /** Splits {@code k} centroids among cells proportionally to their sizes (largest remainder). */
  static int[] allocate(int k, int[] cellSize, int n) {
    int cells = cellSize.length;
    int[] share = new int[cells];
    double[] remainder = new double[cells];
    int given = 0;
    for (int c = 0; c < cells; c++) {
      double exact = (double) k * cellSize[c] / n;
      share[c] = Math.min(cellSize[c], (int) exact);
      remainder[c] = exact - share[c];
      given += share[c];
    }
    while (given < k) {
      int best = -1;
      for (int c = 0; c < cells; c++) {
        if (share[c] < cellSize[c] && (best < 0 || remainder[c] > remainder[best])) {
          best = c;
        }
      }
      if (best < 0) {
        break; // every cell has one centroid per point
      }
      share[best]++;
      remainder[best] -= 1;
      given++;
    }
    return share;
  }

  /** Trains {@code min(k, n)} centroids without the hierarchy. */
  static float[] trainFlat(float[] data, int n, int dim, int k, int iterations, Random random) {
    return trainFlat(data, n, dim, k, iterations, random, isUnitLength(data, n, dim));
  }

  private static float[] trainFlat(
      float[] data, int n, int dim, int k, int iterations, Random random, boolean spherical) {
    k = Math.min(k, n);
    float[] centroids = seed(data, n, dim, k, random);
    int[] assignment = new int[n];
    float[] scores = new float[n];
    int[] counts = new int[k];
    for (int it = 0; it < iterations; it++) {
      new CentroidIndex(centroids, k, dim, 0).assignExact(data, 0, n, assignment, scores);
      Arrays.fill(centroids, 0f);
      Arrays.fill(counts, 0);
      for (int i = 0; i < n; i++) {
        int c = assignment[i];
        counts[c]++;
        int co = c * dim, po = i * dim;
        for (int j = 0; j < dim; j++) {
          centroids[co + j] += data[po + j];
        }
      }
      for (int c = 0; c < k; c++) {
        int co = c * dim;
        if (counts[c] == 0) {
          // an empty cluster restarts at a random point rather than wasting a centroid
          System.arraycopy(data, random.nextInt(n) * dim, centroids, co, dim);
        } else {
          float inv = 1f / counts[c];
          for (int j = 0; j < dim; j++) {
            centroids[co + j] *= inv;
          }
        }
        if (spherical) {
          normalize(centroids, co, dim);
        }
      }
    }
    return centroids;
  }

  /** k-means++ seeding on a subsample of at most {@link #SEED_POINTS_PER_CENTROID}·k points. */
  private static float[] seed(float[] data, int n, int dim, int k, Random random) {
    float[] points = subsample(data, n, dim, k * SEED_POINTS_PER_CENTROID, random);
    int m = points.length / dim;
    float[] centroids = new float[k * dim];
    float[] minDist = new float[m];
    Arrays.fill(minDist, Float.POSITIVE_INFINITY);
    float[] squaredNorms = new float[m];
    for (int p = 0; p < m; p++) {
      squaredNorms[p] = VectorKernels.dot(points, p * dim, points, p * dim, dim);
    }
    int chosen = random.nextInt(m);
    for (int c = 0; c < k; c++) {
      System.arraycopy(points, chosen * dim, centroids, c * dim, dim);
      if (c == k - 1) {
        break;
      }
      double total = 0;
      float centroidNorm = squaredNorms[chosen];
      for (int p = 0; p < m; p++) {
        // |p − c|² = |p|² + |c|² − 2 p·c, with the unrolled dot product (the naive loop was slow)
        float d =
            Math.max(
                0,
                squaredNorms[p]
                    + centroidNorm
                    - 2 * VectorKernels.dot(points, p * dim, centroids, c * dim, dim));
        if (d < minDist[p]) {
          minDist[p] = d;
        }
        total += minDist[p];
      }
      if (total <= 0) {
        chosen = random.nextInt(m); // every point sits on a centroid already
        continue;
      }
      double target = random.nextDouble() * total;
      chosen = m - 1;
      for (int p = 0; p < m; p++) {
        target -= minDist[p];
        if (target < 0) {
          chosen = p;
          break;
        }
      }
    }
    return centroids;
  }

  /** At most {@code max} distinct vectors of {@code data} chosen uniformly (all if fewer). */
  static float[] subsample(float[] data, int n, int dim, int max, Random random) {
    if (n <= max) {
      return data.length == n * dim ? data : Arrays.copyOf(data, n * dim);
    }
    int[] picked = sampleIndexes(n, max, random);
    float[] out = new float[max * dim];
    for (int i = 0; i < max; i++) {
      System.arraycopy(data, picked[i] * dim, out, i * dim, dim);
    }
    return out;
  }

  /** {@code count} distinct integers of {@code [0, n)}, uniformly chosen, in increasing order. */
  static int[] sampleIndexes(long n, int count, Random random) {
    // selection sampling (Knuth's algorithm S): one pass, sorted output, no set needed
    int[] out = new int[count];
    int picked = 0;
    for (long i = 0; i < n && picked < count; i++) {
      if ((n - i) * random.nextDouble() < count - picked) {
        out[picked++] = (int) i;
      }
    }
    return out;
  }

  static boolean isUnitLength(float[] data, int n, int dim) {
    for (int i = 0; i < n; i++) {
      float sq = 0;
      for (int j = 0, o = i * dim; j < dim; j++) {
        sq += data[o + j] * data[o + j];
      }
      if (Math.abs(sq - 1f) > 1e-3f) {
        return false;
      }
    }
    return n > 0;
  }

  static void normalize(float[] v, int offset, int dim) {
    double sq = 0;
    for (int j = 0; j < dim; j++) {
      sq += (double) v[offset + j] * v[offset + j];
    }
    if (sq > 0) {
      float inv = (float) (1 / Math.sqrt(sq));
      for (int j = 0; j < dim; j++) {
        v[offset + j] *= inv;
      }
    }
  }
}
