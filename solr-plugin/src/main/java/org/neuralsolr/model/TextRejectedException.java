package org.neuralsolr.model;

/** The tokenizer refused one of several texts; {@link #index} says which. */
public class TextRejectedException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public final int index;

  TextRejectedException(int index, String message, Throwable cause) {
    super(message, cause);
    this.index = index;
  }
}
