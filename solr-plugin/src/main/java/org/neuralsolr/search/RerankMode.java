package org.neuralsolr.search;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.neuralsolr.model.ModelKind;

/** How {@code {!neural_rerank}} scores a document, and which model kinds can do it. */
enum RerankMode {
  /** The logit of a cross-encoder over the (query, document text) pair. */
  CROSS_ENCODER("cross-encoder", EnumSet.of(ModelKind.CROSS_ENCODER)),
  /** Query likelihood under a causal LM prompted with the document (LLM-QL). */
  CAUSAL_LM("causal-lm", EnumSet.of(ModelKind.CAUSAL_LM)),
  /** Cosine of the query vector and the document vector of a dense bi-encoder. */
  DENSE("dense", EnumSet.of(ModelKind.DENSE)),
  /**
   * MaxSim of query and document token vectors. Today from a dense model's token states; a
   * ColBERT ({@code multivector}) model needs its own encoder, which this mode will accept once it
   * exists.
   */
  MULTIVECTOR("multivector", EnumSet.of(ModelKind.DENSE, ModelKind.MULTIVECTOR));

  final String paramValue;
  final Set<ModelKind> kinds;

  RerankMode(String paramValue, Set<ModelKind> kinds) {
    this.paramValue = paramValue;
    this.kinds = kinds;
  }

  /** The mode a model of {@code kind} gets when the request names none, or null. */
  static RerankMode defaultFor(ModelKind kind) {
    switch (kind) {
      case CROSS_ENCODER:
        return CROSS_ENCODER;
      case CAUSAL_LM:
        return CAUSAL_LM;
      case DENSE:
        return DENSE;
      case MULTIVECTOR:
        return MULTIVECTOR;
      default:
        return null;
    }
  }

  /** The mode named {@code value}, or null. */
  static RerankMode parse(String value) {
    for (RerankMode m : values()) {
      if (m.paramValue.equals(value.trim().toLowerCase(Locale.ROOT))) {
        return m;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return paramValue;
  }
}
