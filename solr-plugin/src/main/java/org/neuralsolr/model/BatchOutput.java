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
  /**
   * Per row, the padding positions before its first real token (left padding), or null when every
   * row starts at position 0 (right padding, or a sequence-level output).
   */
  private final int[] padBefore;

  BatchOutput(float[] data, int batch, int tokens, int width) {
    this(data, batch, tokens, width, true);
  }

  BatchOutput(float[] data, int batch, int tokens, int width, boolean perToken) {
    this(data, batch, tokens, width, perToken, null);
  }

  BatchOutput(float[] data, int batch, int tokens, int width, boolean perToken, int[] padBefore) {
    this.data = data;
    this.batch = batch;
    this.tokens = tokens;
    this.width = width;
    this.perToken = perToken;
    this.padBefore = perToken ? padBefore : null;
  }

  /**
   * Index in {@link #data} of row {@code item}'s first real token's values, so that readers find a
   * text's tokens at {@code offset + t * width} for {@code t < length} whichever side was padded.
   */
  int offset(int item) {
    int start = item * tokens * width;
    return padBefore == null ? start : start + padBefore[item] * width;
  }
}
