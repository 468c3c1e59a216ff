package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.neuralsolr.model.SparseEncoder;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.schema.SparseVectorFieldType;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * Fills a {@link SparseVectorFieldType} field with a sparse model's document vectors, passed on as
 * compact JSON strings: a {@code Map} field value would read as an atomic update downstream.
 */
final class SparseFieldFiller implements NeuralFieldFiller {
  private final String fieldName;
  private final SparseVectorFieldType type;
  private final SparseEncoder encoder;

  SparseFieldFiller(String fieldName, SparseVectorFieldType type, SparseEncoder encoder) {
    this.fieldName = fieldName;
    this.type = type;
    this.encoder = encoder;
  }

  @Override
  public Object checkSupplied(Object value) {
    if (value instanceof Map) {
      // Solr's JSON loader turned a bare object into a child document or an atomic update
      throw new IllegalArgumentException(
          "the supplied value is a JSON object, which Solr reads as a child document or an atomic update;"
              + " send sparse weights as a string: '{\"term\": 0.5}' or 'term:0.5,other:0.2'");
    }
    try {
      type.toLuceneField(fieldName, value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the supplied sparse weights are invalid: " + e.getMessage(), e);
    }
    return value;
  }

  @Override
  public List<Object> encode(List<String> texts) {
    List<Map<String, Float>> vectors = encoder.encode(texts, TextRole.DOCUMENT);
    List<Object> values = new ArrayList<>(vectors.size());
    for (Map<String, Float> v : vectors) {
      if (v.size() > type.maxTerms()) {
        throw new IllegalStateException(
            "model '" + encoder.modelName() + "' produced " + v.size() + " terms, more than field '" + fieldName
                + "' allows (maxTerms=" + type.maxTerms() + "); set the model's documentTopK or raise maxTerms");
      }
      values.add(SparseWeightsFormat.toJson(v));
    }
    return values;
  }
}
