package org.neuralsolr.model;

import java.util.Locale;

/** What a model produces, as the manifest's {@code kind} names it. */
public enum ModelKind {
  DENSE("dense"),
  SPARSE("sparse"),
  MULTIVECTOR("multivector"),
  CROSS_ENCODER("cross-encoder"),
  CAUSAL_LM("causal-lm");

  private final String manifestName;

  ModelKind(String manifestName) {
    this.manifestName = manifestName;
  }

  public String manifestName() {
    return manifestName;
  }

  static ModelKind fromManifest(String value) {
    for (ModelKind kind : values()) {
      if (kind.manifestName.equals(value.toLowerCase(Locale.ROOT))) {
        return kind;
      }
    }
    throw new IllegalArgumentException(
        "unknown kind '" + value + "' (expected dense, sparse, multivector, cross-encoder or causal-lm)");
  }

  @Override
  public String toString() {
    return manifestName;
  }
}
