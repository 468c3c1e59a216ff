package org.neuralsolr.eval;

import java.util.Map;

/**
 * Published figures each (dataset, pipeline) is compared with. Sources are those listed in
 * {@code ../shared/datasets/README.md}; where nothing is published, an independent implementation's
 * measurement on the same data (quoted in the project's evaluation issue) stands in, and says so.
 */
final class References {
  record Reference(double ndcgAt10, Double recallAt100, String source) {}

  private static final Map<String, Reference> SCIFACT =
      Map.of(
          "bm25", new Reference(0.6789, 0.9253, "Anserini BEIR regressions, BM25 flat"),
          "dense", new Reference(0.7127, 0.9450, "MTEB results, bge-small-en-v1.5"),
          "dense-int8", new Reference(0.7111, null, "independent implementation (not published), bge-small-en-v1.5 int8"),
          "dense-e5", new Reference(0.6885, 0.9277, "MTEB results, e5-small-v2"),
          "dense-minilm", new Reference(0.6451, 0.9250, "MTEB results, all-MiniLM-L6-v2"),
          "sparse-bm25", new Reference(0.6789, 0.9253, "the bm25 pipeline's reference (Anserini BM25 flat): sparse-bm25 must be within 0.005"));

  private References() {}

  /** The reference of {@code pipeline} on {@code dataset}, or null. */
  static Reference of(String dataset, String pipeline) {
    return "scifact".equals(dataset) ? SCIFACT.get(pipeline) : null;
  }
}
