package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.tests.util.TestUtil;

/** Random multi-vector data and references shared by the tests. */
final class MultiVectorTestUtil {

  private MultiVectorTestUtil() {}

  static Codec codec(DocValuesFormat format) {
    return TestUtil.alwaysDocValuesFormat(format);
  }

  /**
   * Token vectors drawn around {@code clusters} random centres (Gaussian noise of {@code spread}),
   * like real token embeddings, which cluster by token identity.
   */
  static final class ClusteredVectors {
    final int dim;
    final float[][] centres;
    final float spread;
    final boolean unitLength;

    ClusteredVectors(Random random, int dim, int clusters, float spread, boolean unitLength) {
      this.dim = dim;
      this.spread = spread;
      this.unitLength = unitLength;
      centres = new float[clusters][dim];
      for (float[] c : centres) {
        for (int j = 0; j < dim; j++) {
          c[j] = (float) random.nextGaussian();
        }
        KMeans.normalize(c, 0, dim);
      }
    }

    /**
     * {@code clusters} distinct centres with four entries of ±½ and zeros elsewhere, no spread:
     * unit vectors whose values are exact in bfloat16 (as stored centroids are) and stay exact
     * through normalisation and k-means means, so centroid-only scores equal exact scores.
     */
    static ClusteredVectors exactInBfloat16(Random random, int dim, int clusters) {
      ClusteredVectors v = new ClusteredVectors(random, dim, clusters, 0f, true);
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (float[] c : v.centres) {
        do {
          java.util.Arrays.fill(c, 0f);
          for (int placed = 0; placed < 4; ) {
            int j = random.nextInt(dim);
            if (c[j] == 0f) {
              c[j] = random.nextBoolean() ? 0.5f : -0.5f;
              placed++;
            }
          }
        } while (seen.add(java.util.Arrays.toString(c)) == false);
      }
      return v;
    }

    float[] vector(Random random) {
      float[] c = centres[random.nextInt(centres.length)];
      float[] v = new float[dim];
      for (int j = 0; j < dim; j++) {
        v[j] = c[j] + spread * (float) random.nextGaussian() / (float) Math.sqrt(dim);
      }
      if (unitLength) {
        KMeans.normalize(v, 0, dim);
      }
      return v;
    }

    float[][] matrix(Random random, int tokens) {
      float[][] m = new float[tokens][];
      for (int t = 0; t < tokens; t++) {
        m[t] = vector(random);
      }
      return m;
    }
  }

  /** MaxSim computed the obvious way, in double precision. */
  static double naiveMaxSim(float[][] query, float[] doc, int tokens, int dim) {
    double sum = 0;
    for (float[] q : query) {
      double best = Double.NEGATIVE_INFINITY;
      for (int t = 0; t < tokens; t++) {
        double dot = 0;
        for (int j = 0; j < dim; j++) {
          dot += (double) q[j] * doc[t * dim + j];
        }
        best = Math.max(best, dot);
      }
      sum += best;
    }
    return sum;
  }

  /** What the field stores for {@code vectors}: a copy, normalised for cosine. */
  static float[][] asIndexed(float[][] vectors, boolean cosine) {
    float[][] out = new float[vectors.length][];
    for (int t = 0; t < vectors.length; t++) {
      out[t] = vectors[t].clone();
      if (cosine) {
        KMeans.normalize(out[t], 0, out[t].length);
      }
    }
    return out;
  }

  /** Decoded vectors of every document with vectors, keyed by the stored field "id". */
  static Map<String, float[]> decodedById(IndexReader reader, String field) throws IOException {
    return decodedById(reader.leaves(), field);
  }

  static Map<String, float[]> decodedById(List<LeafReaderContext> leaves, String field)
      throws IOException {
    Map<String, float[]> out = new HashMap<>();
    for (LeafReaderContext leaf : leaves) {
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
      if (values == null) {
        continue;
      }
      StoredFields stored = leaf.reader().storedFields();
      for (int doc = values.nextDoc();
          doc != DocIdSetIterator.NO_MORE_DOCS;
          doc = values.nextDoc()) {
        if (leaf.reader().getLiveDocs() != null && leaf.reader().getLiveDocs().get(doc) == false) {
          continue;
        }
        float[] v = values.vectors(null);
        int n = values.tokenCount() * values.dimension();
        out.put(stored.document(doc).get("id"), java.util.Arrays.copyOf(v, n));
      }
    }
    return out;
  }

  static float[] flatten(float[][] m) {
    int dim = m[0].length;
    float[] out = new float[m.length * dim];
    for (int i = 0; i < m.length; i++) {
      System.arraycopy(m[i], 0, out, i * dim, dim);
    }
    return out;
  }
}
