package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * (query, document) pairs to relevance scores with a {@code cross-encoder} model: the pair goes
 * through the tokenizer's pair template truncated longest-first, one batched forward pass per
 * scheduler batch, and the score is column {@code labelIndex} of the [batch, labels] output,
 * optionally through a sigmoid (manifest section {@code crossEncoder}).
 */
public final class CrossEncoder {
  enum Activation {
    NONE,
    SIGMOID
  }

  private final ServedModel served;
  private final int labelIndex;
  private final Activation activation;

  CrossEncoder(ServedModel served) {
    this.served = served;
    Map<String, Object> section = served.model.manifest.section("crossEncoder");
    for (String key : section.keySet()) {
      if (!key.equals("labelIndex") && !key.equals("activation")) {
        throw sectionError("unknown key '" + key + "'");
      }
    }
    Object label = section.getOrDefault("labelIndex", 0);
    if (!(label instanceof Number) || ((Number) label).intValue() < 0 || ((Number) label).doubleValue() != ((Number) label).intValue()) {
      throw sectionError("'labelIndex' must be a non-negative integer");
    }
    this.labelIndex = ((Number) label).intValue();
    Object act = section.getOrDefault("activation", "none");
    try {
      this.activation = Activation.valueOf(String.valueOf(act).toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw sectionError("'activation' must be none or sigmoid, got '" + act + "'");
    }
  }

  private ModelPackageException sectionError(String message) {
    return new ModelPackageException("manifest of '" + served.model.manifest.name + "', section crossEncoder: " + message);
  }

  /**
   * The score of every (query, document) pair, in order, in as few forward passes as the scheduler
   * allows. The query gets the manifest's query prefix, documents its document prefix.
   *
   * @throws TextRejectedException naming the first document whose pair the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public float[] score(String query, List<String> documents) {
    ModelManifest m = served.model.manifest;
    String q = m.queryPrefix + query;
    List<TokenizedText> pairs = new ArrayList<>(documents.size());
    for (int i = 0; i < documents.size(); i++) {
      try {
        pairs.add(served.model.tokenizePair(q, m.documentPrefix + documents.get(i)));
      } catch (IllegalArgumentException e) {
        throw new TextRejectedException(i, e.getMessage(), e);
      }
    }
    List<Float> scores = served.scheduler.run(pairs, this::score);
    float[] out = new float[scores.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = scores.get(i);
    }
    return out;
  }

  private float score(BatchOutput out, int row, TokenizedText pair) {
    // [batch, labels] arrives as tokens = 1; a [batch, tokens, labels] output would be a
    // token-classification head, which is not a cross-encoder
    if (out.tokens != 1) {
      throw new IllegalStateException(
          "model '" + served.model.manifest.name + "': a cross-encoder's output must be [batch, labels], got [" + out.batch + ", " + out.tokens + ", " + out.width + "]");
    }
    if (labelIndex >= out.width) {
      throw new IllegalStateException(
          "model '" + served.model.manifest.name + "': labelIndex " + labelIndex + " but the output has " + out.width + " labels");
    }
    float logit = out.data[out.offset(row) + labelIndex];
    return activation == Activation.SIGMOID ? (float) (1 / (1 + Math.exp(-logit))) : logit;
  }
}
