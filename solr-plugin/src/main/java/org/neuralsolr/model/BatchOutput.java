package org.neuralsolr.model;

/**
 * A forward pass's output tensor in row-major order: {@code [batch, tokens, width]} for token-level
 * outputs, {@code [batch, width]} (tokens = 1) for sequence-level outputs such as a classifier's.
 */
final class BatchOutput {
  final float[] data;
  final int batch;
  final int tokens;
  final int width;

  BatchOutput(float[] data, int batch, int tokens, int width) {
    this.data = data;
    this.batch = batch;
    this.tokens = tokens;
    this.width = width;
  }

  /** Index in {@link #data} of row {@code item}'s first value. */
  int offset(int item) {
    return item * tokens * width;
  }
}
