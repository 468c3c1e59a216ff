package org.neuralsolr.codecs.multivector;

import static org.neuralsolr.codecs.multivector.MultiVectorField.CENTROIDS_ATTRIBUTE;
import static org.neuralsolr.codecs.multivector.MultiVectorField.DIMENSION_ATTRIBUTE;
import static org.neuralsolr.codecs.multivector.MultiVectorField.NBITS_ATTRIBUTE;
import static org.neuralsolr.codecs.multivector.MultiVectorField.SIMILARITY_ATTRIBUTE;
import static org.neuralsolr.codecs.multivector.MultiVectorField.TRAINING_SAMPLE_ATTRIBUTE;
import static org.neuralsolr.codecs.multivector.MultiVectorField.TRAINING_THRESHOLD_ATTRIBUTE;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.VectorSimilarityFunction;

/** A multi-vector field's settings, as carried by FieldInfo attributes. */
record FieldSettings(
    int dimension,
    int nbits,
    VectorSimilarityFunction similarity,
    int numCentroids,
    int trainingSample,
    long trainingThreshold) {

  FieldSettings {
    if (dimension <= 0 || dimension > MultiVectorField.MAX_DIMENSION) {
      throw new IllegalArgumentException(
          "dimension must be in [1, " + MultiVectorField.MAX_DIMENSION + "], got " + dimension);
    }
    if (ResidualCodebook.isValidNbits(nbits) == false) {
      throw new IllegalArgumentException("nbits must be 0, 1, 2 or 4, got " + nbits);
    }
    if (similarity != VectorSimilarityFunction.DOT_PRODUCT
        && similarity != VectorSimilarityFunction.COSINE) {
      throw new IllegalArgumentException(
          "similarity must be DOT_PRODUCT or COSINE, got " + similarity);
    }
    if (numCentroids < 0) {
      throw new IllegalArgumentException("numCentroids must be >= 0, got " + numCentroids);
    }
    if (trainingSample < 0) {
      throw new IllegalArgumentException("trainingSample must be >= 0, got " + trainingSample);
    }
    if (trainingThreshold < 0) {
      throw new IllegalArgumentException(
          "trainingThreshold must be >= 0, got " + trainingThreshold);
    }
    if (trainingSample == 0) {
      trainingSample = MultiVectorField.DEFAULT_TRAINING_SAMPLE;
    }
  }

  /** Settings of a field, or null if it is not a multi-vector field. */
  static FieldSettings of(FieldInfo field) {
    return fromAttributes(field.name, field.attributes());
  }

  static FieldSettings fromAttributes(String field, Map<String, String> attributes) {
    if (attributes == null || attributes.containsKey(DIMENSION_ATTRIBUTE) == false) {
      return null;
    }
    try {
      return new FieldSettings(
          Integer.parseInt(attributes.get(DIMENSION_ATTRIBUTE)),
          Integer.parseInt(attributes.get(NBITS_ATTRIBUTE)),
          VectorSimilarityFunction.valueOf(attributes.get(SIMILARITY_ATTRIBUTE)),
          Integer.parseInt(attributes.getOrDefault(CENTROIDS_ATTRIBUTE, "0")),
          Integer.parseInt(attributes.getOrDefault(TRAINING_SAMPLE_ATTRIBUTE, "0")),
          // absent in indexes written before it existed, which trained at every flush
          Long.parseLong(attributes.getOrDefault(TRAINING_THRESHOLD_ATTRIBUTE, "0")));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "field \"" + field + "\" has invalid multi-vector attributes " + attributes, e);
    }
  }

  Map<String, String> toAttributes() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(DIMENSION_ATTRIBUTE, Integer.toString(dimension));
    m.put(NBITS_ATTRIBUTE, Integer.toString(nbits));
    m.put(SIMILARITY_ATTRIBUTE, similarity.name());
    m.put(CENTROIDS_ATTRIBUTE, Integer.toString(numCentroids));
    m.put(TRAINING_SAMPLE_ATTRIBUTE, Integer.toString(trainingSample));
    m.put(TRAINING_THRESHOLD_ATTRIBUTE, Long.toString(trainingThreshold));
    return m;
  }

  /**
   * Whether a codebook may be trained on {@code numVectors} raw token vectors: at least {@code
   * trainingThreshold} of them, or a forced merge (which trains on whatever it holds).
   */
  boolean canTrainOn(long numVectors, boolean forcedMerge) {
    return nbits == 0 || forcedMerge || numVectors >= trainingThreshold;
  }

  /**
   * The same field stored exactly: how segments hold its vectors until a codebook is trained
   * (see {@link MultiVectorField#TRAINING_THRESHOLD_ATTRIBUTE}).
   */
  FieldSettings untrained() {
    return new FieldSettings(dimension, 0, similarity, numCentroids, trainingSample, 0);
  }

  /** Centroids to train for {@code numVectors} vectors: configured, or 2^floor(log2(16·√n)). */
  int centroidsFor(long numVectors) {
    return ResidualCodebook.centroidsFor(numCentroids, numVectors);
  }
}
