package org.neuralsolr.update;

import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.SchemaField;
import org.neuralsolr.model.MultiVectorEncoder;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.model.UnknownInstructionException;
import org.neuralsolr.schema.MultiVectorField;
import org.neuralsolr.schema.SparseVectorFieldType;

/** Picks the {@link NeuralFieldFiller} for a schema field from its field type. */
final class NeuralFieldFillers {
  private NeuralFieldFillers() {}

  /**
   * @throws IllegalArgumentException if the field's type is not a neural field type, or the model
   *     does not fit it (wrong kind, wrong dimension)
   */
  static NeuralFieldFiller forField(SchemaField field, NeuralModelRegistry registry, NeuralFieldMapping mapping) {
    String model = mapping.model;
    if (mapping.instruction != null && !(field.getType() instanceof DenseVectorField)) {
      throw new IllegalArgumentException(
          "field '" + field.getName() + "': 'instruction' is for dense vector fields (LLM embedders), not " + field.getType().getTypeName());
    }
    if (mapping.passages != null && !(field.getType() instanceof DenseVectorField)) {
      throw new IllegalArgumentException(
          "field '" + field.getName() + "': 'passages' is for dense vector fields, not " + field.getType().getTypeName());
    }
    if (field.getType() instanceof DenseVectorField) {
      DenseVectorField type = (DenseVectorField) field.getType();
      var encoder = registry.denseEncoder(model);
      if (type.getDimension() != encoder.dimension()) {
        throw new IllegalArgumentException(
            "field '" + field.getName() + "' has " + type.getDimension() + " dimensions but model '" + model
                + "' produces " + encoder.dimension());
      }
      try {
        encoder.checkInstruction(TextRole.DOCUMENT, mapping.instruction);
      } catch (UnknownInstructionException e) {
        // no cause: Solr reports a failed core by its root cause, which must name the setting
        throw new IllegalArgumentException("field '" + field.getName() + "': 'instruction': model '" + model + "': " + e.getMessage());
      }
      if (mapping.passages != null) {
        mapping.passages.checkModel(field.getName(), model, encoder);
      }
      return new DenseFieldFiller(type, encoder, mapping.instruction);
    }
    if (field.getType() instanceof MultiVectorField) {
      MultiVectorField type = (MultiVectorField) field.getType();
      MultiVectorEncoder encoder = registry.model(model).multiVectorEncoder();
      if (encoder == null) {
        throw new IllegalArgumentException(
            "field '" + field.getName() + "' needs a multivector (ColBERT) or dense model; model '" + model + "' is a "
                + registry.model(model).manifest().kind + " model");
      }
      if (type.getDimension() != encoder.dimension()) {
        throw new IllegalArgumentException(
            "field '" + field.getName() + "' has " + type.getDimension() + " dimensions but model '" + model
                + "' produces " + encoder.dimension());
      }
      return new MultiVectorFieldFiller(field.getName(), type, encoder);
    }
    if (field.getType() instanceof SparseVectorFieldType) {
      return new SparseFieldFiller(field.getName(), (SparseVectorFieldType) field.getType(), registry.sparseEncoder(model));
    }
    throw new IllegalArgumentException(
        "field '" + field.getName() + "' is a " + field.getType().getTypeName()
            + "; neural fields are DenseVectorField, MultiVectorField or SparseVectorFieldType");
  }
}
