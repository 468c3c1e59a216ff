package org.neuralsolr.codecs.multivector;

import java.util.Arrays;
import java.util.Random;
import org.neuralsolr.codecs.VectorKernels;

/**
 * Dot products with, and nearest-centroid search over, a fixed set of centroids.
 *
 * <p>Centroids are kept dimension-major in blocks of {@link #BLOCK} so that batches of vectors are
 * scored with {@link VectorKernels#dotProductsTransposed} while a block stays in cache. Nearest
 * means smallest Euclidean distance, i.e. largest {@code v·c − |c|²/2}; for unit-length centroids
 * that is the largest dot product.
 *
 * <p>With more than {@link #TWO_LEVEL_MIN_CENTROIDS} centroids an exact search costs too much to
 * encode millions of vectors (1.4M vectors × 16384 centroids × 384 dimensions is ~10^13 flops), so
 * {@link #assign} then searches two levels: the centroids are grouped by k-means into about
 * √k groups, and each vector is compared with every group centre and then with the members of its
 * {@link #PROBES} best groups. The answer is then the exact nearest centroid for most vectors and a
 * near one otherwise; either is a valid code (the residual absorbs the difference).
 */
final class CentroidIndex {

  /** Centroids per dimension-major block. */
  static final int BLOCK = 256;

  /** Vectors scored together against one block. */
  static final int BATCH = 64;

  /** Above this many centroids, {@link #assign} searches groups instead of every centroid. */
  static final int TWO_LEVEL_MIN_CENTROIDS = 1024;

  /** Groups searched per vector by the two-level {@link #assign}. */
  static final int PROBES = 3;

  private final int k;
  private final int dim;
  private final float[] centroids; // row-major, shared with the caller, never modified
  private final float[][][] blocks; // [block][dimension][centroid in block]
  private final float[] halfSquaredNorms;
  private final long seed;
  private volatile Groups groups; // built on first two-level assign

  /** Indexes {@code k} centroids stored row-major in {@code centroids}. */
  CentroidIndex(float[] centroids, int k, int dim, long seed) {
    this.k = k;
    this.dim = dim;
    this.centroids = centroids;
    this.seed = seed;
    int numBlocks = (k + BLOCK - 1) / BLOCK;
    blocks = new float[numBlocks][][];
    halfSquaredNorms = new float[k];
    for (int b = 0; b < numBlocks; b++) {
      int start = b * BLOCK;
      int width = Math.min(BLOCK, k - start);
      float[][] block = new float[dim][width];
      for (int c = 0; c < width; c++) {
        int o = (start + c) * dim;
        for (int j = 0; j < dim; j++) {
          block[j][c] = centroids[o + j];
        }
      }
      blocks[b] = block;
    }
    for (int c = 0; c < k; c++) {
      halfSquaredNorms[c] = VectorKernels.dot(centroids, c * dim, centroids, c * dim, dim) / 2;
    }
  }

  int size() {
    return k;
  }

  /** {@code out[r][c] = v_r · centroid_c} for the {@code count} vectors at {@code offset}. */
  void dotProducts(float[] vectors, int offset, int count, float[][] out) {
    float[][] tmp = new float[Math.min(BATCH, count)][BLOCK];
    for (int r0 = 0; r0 < count; r0 += BATCH) {
      int rows = Math.min(BATCH, count - r0);
      for (int b = 0; b < blocks.length; b++) {
        int width = blocks[b][0].length;
        VectorKernels.dotProductsTransposed(
            vectors, offset + r0 * dim, rows, dim, blocks[b], width, tmp);
        for (int r = 0; r < rows; r++) {
          System.arraycopy(tmp[r], 0, out[r0 + r], b * BLOCK, width);
        }
      }
    }
  }

  /** Writes the (approximately, see class doc) nearest centroid of each of the vectors. */
  void assign(float[] vectors, int offset, int count, int[] out) {
    if (k <= TWO_LEVEL_MIN_CENTROIDS) {
      assignExact(vectors, offset, count, out, new float[count]);
    } else {
      groups().assign(vectors, offset, count, out);
    }
  }

  /** Exact nearest centroid and its score {@code v·c − |c|²/2} for each vector. */
  void assignExact(float[] vectors, int offset, int count, int[] ids, float[] scores) {
    float[][] tmp = new float[Math.min(BATCH, count)][BLOCK];
    for (int r0 = 0; r0 < count; r0 += BATCH) {
      int rows = Math.min(BATCH, count - r0);
      Arrays.fill(scores, r0, r0 + rows, Float.NEGATIVE_INFINITY);
      Arrays.fill(ids, r0, r0 + rows, 0);
      for (int b = 0; b < blocks.length; b++) {
        int width = blocks[b][0].length;
        int start = b * BLOCK;
        VectorKernels.dotProductsTransposed(
            vectors, offset + r0 * dim, rows, dim, blocks[b], width, tmp);
        for (int r = 0; r < rows; r++) {
          float[] row = tmp[r];
          float best = scores[r0 + r];
          int arg = ids[r0 + r];
          for (int c = 0; c < width; c++) {
            float s = row[c] - halfSquaredNorms[start + c];
            if (s > best) {
              best = s;
              arg = start + c;
            }
          }
          scores[r0 + r] = best;
          ids[r0 + r] = arg;
        }
      }
    }
  }

  private Groups groups() {
    Groups g = groups;
    if (g == null) {
      synchronized (this) {
        g = groups;
        if (g == null) {
          groups = g = new Groups();
        }
      }
    }
    return g;
  }

  /** The second level: centroids grouped around about √k group centres. */
  private final class Groups {
    final CentroidIndex centres;
    final int[][] members; // global centroid ids per group
    final CentroidIndex[] memberIndexes;

    Groups() {
      float[] all = centroids;
      int numGroups = Math.max(2, (int) Math.round(Math.sqrt(k)));
      float[] centreVectors = KMeans.trainFlat(all, k, dim, numGroups, 4, new Random(seed));
      int g = centreVectors.length / dim;
      centres = new CentroidIndex(centreVectors, g, dim, seed);
      int[] groupOf = new int[k];
      centres.assignExact(all, 0, k, groupOf, new float[k]);
      int[] sizes = new int[g];
      for (int c = 0; c < k; c++) {
        sizes[groupOf[c]]++;
      }
      members = new int[g][];
      for (int i = 0; i < g; i++) {
        members[i] = new int[sizes[i]];
      }
      Arrays.fill(sizes, 0);
      for (int c = 0; c < k; c++) {
        members[groupOf[c]][sizes[groupOf[c]]++] = c;
      }
      memberIndexes = new CentroidIndex[g];
      for (int i = 0; i < g; i++) {
        float[] m = new float[members[i].length * dim];
        for (int x = 0; x < members[i].length; x++) {
          System.arraycopy(all, members[i][x] * dim, m, x * dim, dim);
        }
        memberIndexes[i] = new CentroidIndex(m, members[i].length, dim, seed);
      }
    }

    void assign(float[] vectors, int offset, int count, int[] out) {
      int g = members.length;
      int probes = Math.min(PROBES, g);
      // 1. the best `probes` groups of every vector
      float[][] centreScores = new float[count][g];
      centres.dotProducts(vectors, offset, count, centreScores);
      int[] probed = new int[count * probes];
      int[] groupSizes = new int[g];
      for (int r = 0; r < count; r++) {
        float[] s = centreScores[r];
        for (int c = 0; c < g; c++) {
          s[c] -= centres.halfSquaredNorms[c];
        }
        for (int p = 0; p < probes; p++) {
          int arg = 0;
          for (int c = 1; c < g; c++) {
            if (s[c] > s[arg]) {
              arg = c;
            }
          }
          probed[r * probes + p] = arg;
          groupSizes[arg]++;
          s[arg] = Float.NEGATIVE_INFINITY;
        }
      }
      // 2. per group, the vectors probing it, scored together against the group's members
      int[][] byGroup = new int[g][];
      for (int i = 0; i < g; i++) {
        byGroup[i] = new int[groupSizes[i]];
      }
      Arrays.fill(groupSizes, 0);
      for (int x = 0; x < probed.length; x++) {
        int grp = probed[x];
        byGroup[grp][groupSizes[grp]++] = x / probes;
      }
      float[] best = new float[count];
      Arrays.fill(best, Float.NEGATIVE_INFINITY);
      float[] gathered = new float[0];
      int[] ids = new int[0];
      float[] scores = new float[0];
      for (int i = 0; i < g; i++) {
        int n = byGroup[i].length;
        if (n == 0) {
          continue;
        }
        if (gathered.length < n * dim) {
          gathered = new float[n * dim];
          ids = new int[n];
          scores = new float[n];
        }
        for (int x = 0; x < n; x++) {
          System.arraycopy(vectors, offset + byGroup[i][x] * dim, gathered, x * dim, dim);
        }
        memberIndexes[i].assignExact(gathered, 0, n, ids, scores);
        for (int x = 0; x < n; x++) {
          int r = byGroup[i][x];
          if (scores[x] > best[r]) {
            best[r] = scores[x];
            out[r] = members[i][ids[x]];
          }
        }
      }
    }
  }
}
