package org.neuralsolr.codecs.multivector;

import java.util.Arrays;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;

/** A validated query matrix, and the checks queries make against the index. */
record QueryVectors(float[] flat, int count, int dimension) {

  /** Validates and copies {@code vectors}; {@code parameter} names them in error messages. */
  static QueryVectors of(String parameter, float[][] vectors) {
    if (vectors == null || vectors.length == 0) {
      throw new IllegalArgumentException(parameter + " must hold at least one vector");
    }
    int dim = vectors[0] == null ? 0 : vectors[0].length;
    if (dim == 0) {
      throw new IllegalArgumentException(parameter + " vectors must not be empty");
    }
    float[] flat = new float[vectors.length * dim];
    for (int i = 0; i < vectors.length; i++) {
      if (vectors[i] == null || vectors[i].length != dim) {
        throw new IllegalArgumentException(
            parameter + " vectors must all have dimension " + dim + "; vector " + i + " does not");
      }
      for (int j = 0; j < dim; j++) {
        if (Float.isFinite(vectors[i][j]) == false) {
          throw new IllegalArgumentException(
              parameter + " vector " + i + " has a non-finite value " + vectors[i][j]);
        }
      }
      System.arraycopy(vectors[i], 0, flat, i * dim, dim);
    }
    return new QueryVectors(flat, vectors.length, dim);
  }

  /**
   * Checks {@code field} in every segment of {@code reader} and returns its similarity (null if no
   * segment has the field).
   *
   * @throws IllegalArgumentException if a segment has the field but not as a multi-vector field,
   *     or with another dimension
   */
  VectorSimilarityFunction checkField(IndexReader reader, String field) {
    VectorSimilarityFunction similarity = null;
    for (LeafReaderContext leaf : reader.leaves()) {
      FieldInfo info = leaf.reader().getFieldInfos().fieldInfo(field);
      if (info == null) {
        continue;
      }
      FieldSettings settings = FieldSettings.of(info);
      if (settings == null) {
        throw new IllegalArgumentException("field \"" + field + "\" is not a multi-vector field");
      }
      if (settings.dimension() != dimension) {
        throw new IllegalArgumentException(
            "query vectors have dimension "
                + dimension
                + " but field \""
                + field
                + "\" has dimension "
                + settings.dimension());
      }
      similarity = settings.similarity();
    }
    return similarity;
  }

  /** The vectors to score with: normalised for COSINE, as given otherwise. */
  float[] forSimilarity(VectorSimilarityFunction similarity) {
    if (similarity != VectorSimilarityFunction.COSINE) {
      return flat;
    }
    float[] normalized = flat.clone();
    for (int i = 0; i < count; i++) {
      KMeans.normalize(normalized, i * dimension, dimension);
    }
    return normalized;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof QueryVectors q && dimension == q.dimension && Arrays.equals(flat, q.flat);
  }

  @Override
  public int hashCode() {
    return 31 * dimension + Arrays.hashCode(flat);
  }

  @Override
  public String toString() {
    return count + "x" + dimension;
  }
}
