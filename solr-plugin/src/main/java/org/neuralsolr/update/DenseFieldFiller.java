package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.util.vector.DenseVectorParser;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.TextRole;

/** Fills a {@link DenseVectorField} with a dense model's document vectors. */
final class DenseFieldFiller implements NeuralFieldFiller {
  /** How far from 1 a dot_product field's vector norm may be (float32 rounding of a unit vector). */
  private static final double UNIT_NORM_TOLERANCE = 1e-3;

  private final DenseVectorField type;
  private final DenseEncoder encoder;
  /** The document instruction template, or null for the manifest's default. */
  private final String instruction;

  DenseFieldFiller(DenseVectorField type, DenseEncoder encoder, String instruction) {
    this.type = type;
    this.encoder = encoder;
    this.instruction = instruction;
  }

  @Override
  public Object checkSupplied(Object value) {
    float[] vector;
    try {
      vector = type.getVectorBuilder(value, DenseVectorParser.BuilderPhase.INDEX).getFloatVector();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("the supplied vector is invalid: " + e.getMessage(), e);
    }
    double norm = 0;
    for (int i = 0; i < vector.length; i++) {
      if (!Float.isFinite(vector[i])) {
        throw new IllegalArgumentException("the supplied vector has a non-finite value (" + vector[i] + ") at position " + i);
      }
      norm += (double) vector[i] * vector[i];
    }
    // Lucene's dot_product similarity is only correct for unit vectors and does not check them
    if (type.getSimilarityFunction() == VectorSimilarityFunction.DOT_PRODUCT
        && Math.abs(Math.sqrt(norm) - 1) > UNIT_NORM_TOLERANCE) {
      throw new IllegalArgumentException(
          "the supplied vector has norm " + (float) Math.sqrt(norm) + "; a dot_product field needs unit-length vectors");
    }
    return value;
  }

  @Override
  public List<Object> encode(List<String> texts) {
    return values(encoder.encode(texts, TextRole.DOCUMENT, instruction));
  }

  DenseEncoder encoder() {
    return encoder;
  }

  static List<Object> values(float[][] vectors) {
    List<Object> values = new ArrayList<>(vectors.length);
    for (float[] v : vectors) {
      List<Float> list = new ArrayList<>(v.length);
      for (float x : v) {
        list.add(x);
      }
      values.add(list);
    }
    return values;
  }
}
