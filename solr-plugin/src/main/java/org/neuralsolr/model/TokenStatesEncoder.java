package org.neuralsolr.model;

import java.util.List;

/**
 * Texts to their token states: one L2-normalised vector per real token (special tokens included,
 * padding excluded) of a dense bi-encoder's token-level output, for late-interaction (MaxSim)
 * scoring with a model that was not trained for it. The reducer copies only the text's own rows
 * out of the batch on the scheduler's worker, so the padded batch output is never kept.
 */
public final class TokenStatesEncoder {
  /** One text's token vectors, row-major {@code count × dimension}. */
  public static final class TokenStates {
    public final float[] vectors;
    public final int count;
    public final int dimension;

    TokenStates(float[] vectors, int count, int dimension) {
      this.vectors = vectors;
      this.count = count;
      this.dimension = dimension;
    }
  }

  private final ServedModel served;

  TokenStatesEncoder(ServedModel served) {
    this.served = served;
  }

  public int dimension() {
    return served.model.manifest.dimension;
  }

  /**
   * The token states of every text (prefixed for {@code role}), in order.
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public TokenStates[] encode(List<String> texts, TextRole role) {
    List<TokenizedText> tokens = served.tokenize(texts, role);
    return served.scheduler.run(tokens, TokenStatesEncoder::states, BatchScheduler.Lane.of(role)).toArray(new TokenStates[0]);
  }

  private static TokenStates states(BatchOutput out, int row, TokenizedText text) {
    if (out.tokens < text.length()) {
      throw new IllegalStateException("the model's output is not token-level (" + out.tokens + " rows for " + text.length() + " tokens)");
    }
    int dim = out.width;
    float[] vectors = new float[text.length() * dim];
    System.arraycopy(out.data, out.offset(row), vectors, 0, vectors.length);
    float[] one = new float[dim];
    for (int t = 0; t < text.length(); t++) {
      System.arraycopy(vectors, t * dim, one, 0, dim);
      Pooling.normalize(one);
      System.arraycopy(one, 0, vectors, t * dim, dim);
    }
    return new TokenStates(vectors, text.length(), dim);
  }
}
