package org.neuralsolr.model;

/**
 * A forward pass's output tensor in row-major order: {@code [batch, tokens, width]} for token-level
 * outputs, {@code [batch, width]} (tokens = 1) for sequence-level outputs such as a classifier's or
 * a sparse model that pools inside its graph.
 */
final class BatchOutput {
  final float[] data;
  final int batch;
  final int tokens;
  final int width;
  /** True for a [batch, tokens, width] tensor, false for [batch, width]. */
  final boolean perToken;

  BatchOutput(float[] data, int batch, int tokens, int width) {
    this(data, batch, tokens, width, true);
  }

  BatchOutput(float[] data, int batch, int tokens, int width, boolean perToken) {
    this.data = data;
    this.batch = batch;
    this.tokens = tokens;
    this.width = width;
    this.perToken = perToken;
  }

  /** Index in {@link #data} of row {@code item}'s first value. */
  int offset(int item) {
    return item * tokens * width;
  }
}
