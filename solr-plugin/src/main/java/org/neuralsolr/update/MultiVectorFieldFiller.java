package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.List;
import org.apache.solr.common.SolrException;
import org.neuralsolr.model.MultiVectorEncoder;
import org.neuralsolr.schema.MultiVectorField;

/**
 * Fills a {@link MultiVectorField} with a model's document token vectors (ColBERT, or a dense
 * model's token states). Values are handed on as float32 bytes: one value for Solr, and compact in
 * the update log and between nodes.
 */
final class MultiVectorFieldFiller implements NeuralFieldFiller {
  private final String field;
  private final MultiVectorField type;
  private final MultiVectorEncoder encoder;

  MultiVectorFieldFiller(String field, MultiVectorField type, MultiVectorEncoder encoder) {
    this.field = field;
    this.type = type;
    this.encoder = encoder;
  }

  @Override
  public Object checkSupplied(Object value) {
    try {
      return MultiVectorField.toBytes(type.toMatrix(field, value));
    } catch (SolrException e) {
      // the processor names the document and the field itself
      throw new IllegalArgumentException(e.getMessage().replace("field '" + field + "': ", "the supplied token vectors: "), e);
    }
  }

  @Override
  public List<Object> encode(List<String> texts) {
    return values(encoder.encodeDocuments(texts));
  }

  /** True if this field and {@code dense}'s can be filled from one forward pass. */
  boolean sharesPassWith(NeuralFieldFiller dense) {
    return dense instanceof DenseFieldFiller && encoder.sharesDocumentPassWith(((DenseFieldFiller) dense).encoder());
  }

  /** Both fields' values, {dense values, token values}, from one pass. */
  List<List<Object>> encodeWith(DenseFieldFiller dense, List<String> texts) {
    MultiVectorEncoder.DocumentEncodings both = encoder.encodeDocumentsWithPooled(texts, dense.encoder());
    return List.of(DenseFieldFiller.values(both.pooled), values(both.tokens));
  }

  /**
   * Each text's {@link TokenSpans} bytes: the characters of each token vector {@link #encode} gives
   * for it (the tokenizer once more per text: a small fraction of the forward pass).
   */
  List<Object> spans(List<String> texts) {
    List<Object> out = new ArrayList<>(texts.size());
    for (String text : texts) {
      out.add(TokenSpans.encode(encoder.documentTokenSpans(text)));
    }
    return out;
  }

  private static List<Object> values(List<float[][]> matrices) {
    List<Object> values = new ArrayList<>(matrices.size());
    for (float[][] m : matrices) {
      values.add(MultiVectorField.toBytes(m));
    }
    return values;
  }
}
