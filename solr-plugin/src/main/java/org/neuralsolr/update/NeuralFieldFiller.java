package org.neuralsolr.update;

import java.util.List;

/**
 * How the update processor fills one kind of neural field (dense vector, sparse weights, token
 * vectors): checks a value a client sent for the field, and encodes source texts into field
 * values. One implementation per kind; {@link NeuralFieldFillers} picks it from the schema.
 */
interface NeuralFieldFiller {
  /**
   * Checks a value the client supplied for the field.
   *
   * @return the value to index: {@code value} itself, or an equivalent form Solr can take as one
   *     value (a token matrix arrives as a list of lists, which Solr would take for many values)
   * @throws IllegalArgumentException saying what is wrong with it
   */
  Object checkSupplied(Object value);

  /**
   * Encodes document texts into field values, one per text, in order.
   *
   * @throws org.neuralsolr.model.TextRejectedException naming the first text the model refused
   * @throws org.neuralsolr.model.ModelOverloadedException if the model's queue stays full
   */
  List<Object> encode(List<String> texts);
}
