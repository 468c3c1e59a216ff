package org.neuralsolr.search;

/** One text's token vectors for MaxSim, row-major {@code count × dimension}. */
final class TokenVectors {
  final float[] vectors;
  final int count;
  final int dimension;

  TokenVectors(float[] vectors, int count, int dimension) {
    if (count < 1 || vectors.length < count * dimension) {
      throw new IllegalArgumentException("token vectors need at least one vector of " + dimension);
    }
    this.vectors = vectors;
    this.count = count;
    this.dimension = dimension;
  }

  /**
   * Late-interaction score {@code Σ_i max_t q_i · d_t}: for every query vector, its largest dot
   * product with a document vector (ColBERT's MaxSim). With unit vectors each term is a cosine.
   * The dot products are summed in double, as the codec's {@code MaxSimScorer} does.
   */
  static float maxSim(TokenVectors query, TokenVectors document) {
    if (query.dimension != document.dimension) {
      throw new IllegalArgumentException("query vectors have dimension " + query.dimension + ", document vectors " + document.dimension);
    }
    int dim = query.dimension;
    double sum = 0;
    for (int i = 0; i < query.count; i++) {
      int q = i * dim;
      float best = Float.NEGATIVE_INFINITY;
      for (int t = 0; t < document.count; t++) {
        int d = t * dim;
        float dot = 0;
        for (int j = 0; j < dim; j++) {
          dot += query.vectors[q + j] * document.vectors[d + j];
        }
        best = Math.max(best, dot);
      }
      sum += best;
    }
    return (float) sum;
  }
}
