package org.neuralsolr.codecs.multivector;

import java.util.Map;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;

/**
 * A document's token vectors (a ColBERT-style multi-vector), indexed for {@link
 * MultiVectorDocValuesFormat}.
 *
 * <p>Lucene 9 has no multi-valued vectors, so the field is a {@link DocValuesType#BINARY binary}
 * doc-values field whose value is the token matrix as little-endian float32, row by row, and whose
 * {@link FieldType#putAttribute attributes} carry the settings: dimension, bits per dimension of
 * the compressed residuals, similarity and number of centroids. The attributes reach the format
 * through {@code FieldInfo}; the field must be routed to {@link MultiVectorDocValuesFormat} (for
 * example by a per-field codec, or Solr's {@code docValuesFormat="NeuralMultiVector"}).
 *
 * <p>With {@link VectorSimilarityFunction#COSINE} the vectors are normalised to unit length here,
 * and queries normalise their vectors too; {@link VectorSimilarityFunction#DOT_PRODUCT} keeps them
 * as given. Either way documents are scored by MaxSim over dot products.
 */
public final class MultiVectorField extends Field {

  /** FieldInfo attribute: vector dimension. */
  public static final String DIMENSION_ATTRIBUTE = "neuralsolr.multivector.dimension";

  /** FieldInfo attribute: bits per dimension of residual codes (0, 1, 2 or 4). */
  public static final String NBITS_ATTRIBUTE = "neuralsolr.multivector.nbits";

  /** FieldInfo attribute: {@code DOT_PRODUCT} or {@code COSINE}. */
  public static final String SIMILARITY_ATTRIBUTE = "neuralsolr.multivector.similarity";

  /** FieldInfo attribute: number of centroids to train, 0 for the default formula. */
  public static final String CENTROIDS_ATTRIBUTE = "neuralsolr.multivector.centroids";

  /** FieldInfo attribute: at most this many token vectors are sampled to train centroids. */
  public static final String TRAINING_SAMPLE_ATTRIBUTE = "neuralsolr.multivector.trainingSample";

  /**
   * FieldInfo attribute: token vectors a codebook is trained on at the least. A flush or merge that
   * holds fewer raw vectors (and no codebook to encode them with) stores them exactly, as float32
   * with nbits 0, and a later merge that holds enough, or any forced merge, trains the codebook on
   * a sample spread over all of them and encodes them. 0 trains at the first flush. A forced merge
   * only happens where the merge policy schedules one, and the usual policies take a lone segment
   * for merged already: wrap the policy in {@link TrainingMergePolicy} so that a forced merge also
   * rewrites the segments stored untrained (they say so in their {@code SegmentInfo}, see {@link
   * MultiVectorDocValuesFormat#UNTRAINED_ATTRIBUTE_PREFIX}).
   */
  public static final String TRAINING_THRESHOLD_ATTRIBUTE =
      "neuralsolr.multivector.trainingThreshold";

  /** Largest vector dimension accepted. */
  public static final int MAX_DIMENSION = 4096;

  /** Default bound of the k-means training sample (see {@link #createFieldType}). */
  public static final int DEFAULT_TRAINING_SAMPLE = 1 << 17;

  /**
   * Type of a multi-vector field.
   *
   * @param dimension dimension of each token vector
   * @param nbits bits per dimension of the stored residuals: 1, 2 or 4, or 0 to store exact
   *     float32
   * @param similarity {@link VectorSimilarityFunction#DOT_PRODUCT} or {@link
   *     VectorSimilarityFunction#COSINE}
   * @param numCentroids centroids per codebook, or 0 for {@code 2^floor(log2(16·√n))} for n token
   *     vectors (ColBERTv2's rule), capped by n either way
   * @param trainingSample at most this many token vectors are sampled to train a codebook (k-means
   *     costs grow with it), or 0 for {@link #DEFAULT_TRAINING_SAMPLE}
   * @param trainingThreshold the codebook is trained once a flush or merge holds this many token
   *     vectors (or at a forced merge); segments written before keep exact float32 vectors. 0
   *     trains at the first flush. See {@link #TRAINING_THRESHOLD_ATTRIBUTE}.
   */
  public static FieldType createFieldType(
      int dimension,
      int nbits,
      VectorSimilarityFunction similarity,
      int numCentroids,
      int trainingSample,
      long trainingThreshold) {
    FieldSettings settings =
        new FieldSettings(
            dimension, nbits, similarity, numCentroids, trainingSample, trainingThreshold);
    FieldType type = new FieldType();
    type.setDocValuesType(DocValuesType.BINARY);
    for (Map.Entry<String, String> e : settings.toAttributes().entrySet()) {
      type.putAttribute(e.getKey(), e.getValue());
    }
    type.freeze();
    return type;
  }

  /** Type whose codebook is trained at the first flush. */
  public static FieldType createFieldType(
      int dimension,
      int nbits,
      VectorSimilarityFunction similarity,
      int numCentroids,
      int trainingSample) {
    return createFieldType(dimension, nbits, similarity, numCentroids, trainingSample, 0);
  }

  /** Type with the default number of centroids and training sample. */
  public static FieldType createFieldType(
      int dimension, int nbits, VectorSimilarityFunction similarity) {
    return createFieldType(dimension, nbits, similarity, 0, 0);
  }

  /**
   * Creates a field holding {@code vectors} (one row per token).
   *
   * @throws IllegalArgumentException if the type was not made by {@link #createFieldType}, or the
   *     vectors are empty, of the wrong dimension, not finite, or (cosine) of zero length
   */
  public MultiVectorField(String name, float[][] vectors, FieldType type) {
    super(name, type);
    FieldSettings settings = FieldSettings.fromAttributes(name, type.getAttributes());
    if (settings == null) {
      throw new IllegalArgumentException(
          "field \"" + name + "\": type must come from MultiVectorField.createFieldType");
    }
    fieldsData = toBytes(name, vectors, settings);
  }

  static BytesRef toBytes(String name, float[][] vectors, FieldSettings settings) {
    if (vectors == null || vectors.length == 0) {
      throw new IllegalArgumentException("field \"" + name + "\": needs at least one vector");
    }
    int dim = settings.dimension();
    long length = (long) vectors.length * dim * Float.BYTES;
    if (length > Integer.MAX_VALUE - 64) {
      throw new IllegalArgumentException(
          "field \"" + name + "\": too many vectors (" + vectors.length + ")");
    }
    byte[] bytes = new byte[(int) length];
    float[] row = new float[dim];
    for (int t = 0; t < vectors.length; t++) {
      float[] v = vectors[t];
      if (v == null || v.length != dim) {
        throw new IllegalArgumentException(
            "field \""
                + name
                + "\": vector "
                + t
                + " has dimension "
                + (v == null ? "null" : v.length)
                + ", the field's dimension is "
                + dim);
      }
      double squared = 0;
      for (int j = 0; j < dim; j++) {
        if (Float.isFinite(v[j]) == false) {
          throw new IllegalArgumentException(
              "field \"" + name + "\": vector " + t + " has a non-finite value " + v[j]);
        }
        squared += (double) v[j] * v[j];
      }
      System.arraycopy(v, 0, row, 0, dim);
      if (settings.similarity() == VectorSimilarityFunction.COSINE) {
        if (squared == 0) {
          throw new IllegalArgumentException(
              "field \"" + name + "\": vector " + t + " has zero length; cosine needs a direction");
        }
        KMeans.normalize(row, 0, dim);
      }
      for (int j = 0; j < dim; j++) {
        BitUtil.VH_LE_FLOAT.set(bytes, (t * dim + j) * Float.BYTES, row[j]);
      }
    }
    return new BytesRef(bytes);
  }
}
