package org.neuralsolr.model;

import java.util.Locale;

/**
 * How a dense encoder turns one text's token states into one vector. Whichever side {@link
 * LoadedModel} padded, {@link BatchOutput#offset} points at a text's first real token, so its real
 * tokens are rows {@code 0..length-1} from there and padding never enters a pooled vector.
 */
public enum Pooling {
  /** The first token's state ([CLS] for BERT-style encoders such as bge). */
  CLS,
  /** The mean of the real tokens' states (sentence-transformers, e5). */
  MEAN,
  /** The last real token's state (decoder-only LLM embedders, whose last token saw everything). */
  LAST_TOKEN;

  static Pooling fromManifest(String value) {
    switch (value.toLowerCase(Locale.ROOT)) {
      case "cls":
        return CLS;
      case "mean":
        return MEAN;
      case "last-token":
      case "last_token":
      case "eos":
        return LAST_TOKEN;
      default:
        throw new IllegalArgumentException(
            "unknown pooling '" + value + "' (expected cls, mean or last-token)");
    }
  }

  /**
   * Pools rows of a [batch, tokens, dim] tensor.
   *
   * @param states the whole batch output, row-major
   * @param offset index in {@code states} of this text's first token state
   * @param length number of real (non-padding) tokens of this text, at least 1
   * @param dim size of one token state
   */
  float[] pool(float[] states, int offset, int length, int dim) {
    float[] out = new float[dim];
    switch (this) {
      case CLS:
        System.arraycopy(states, offset, out, 0, dim);
        break;
      case LAST_TOKEN:
        System.arraycopy(states, offset + (length - 1) * dim, out, 0, dim);
        break;
      case MEAN:
        for (int t = 0; t < length; t++) {
          int row = offset + t * dim;
          for (int d = 0; d < dim; d++) {
            out[d] += states[row + d];
          }
        }
        float inv = 1f / length;
        for (int d = 0; d < dim; d++) {
          out[d] *= inv;
        }
        break;
    }
    return out;
  }

  /** Scales {@code v} to unit L2 norm in place; a zero vector stays zero. */
  static void normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    if (sum > 0) {
      float inv = (float) (1.0 / Math.sqrt(sum));
      for (int i = 0; i < v.length; i++) {
        v[i] *= inv;
      }
    }
  }
}
