package org.neuralsolr.codecs.sparse;

/**
 * Quantisation of sparse term weights into the 16-bit codes that {@link SparseVectorField} carries
 * through a posting's term frequency.
 *
 * <p>A code is the upper 16 bits of the IEEE-754 single-precision representation of a
 * non-negative weight, rounded to nearest (ties to even): 8 exponent bits and 8 explicit mantissa
 * bits (one more mantissa bit than bfloat16, because the sign bit is always zero and can be
 * dropped). This is the same code {@link org.apache.lucene.document.FeatureField} uses, except
 * that {@code FeatureField} truncates where we round, so that a weight indexed here and the same
 * quantised weight indexed as a {@code FeatureField} decode to the same float.
 *
 * <p>Error bound: for weights {@code w >= Float.MIN_NORMAL} (2<sup>-126</sup>) the stored weight
 * {@code q} satisfies {@code |q - w| <= 2^-9 * w} (relative error at most 0.1953125%, half a unit in
 * the 9th significant bit); below that the absolute error is at most 2<sup>-134</sup> (weights
 * that would round to zero are stored as the smallest code, 2<sup>-134</sup>, because a posting's
 * frequency must be at least 1).
 *
 * <p>Codes are at most {@link #MAX_CODE} {@code = 0xFEFF < 2^16}, which bounds the sum of a
 * document's frequencies by {@code 2^16 * terms}; Lucene requires that sum to fit in an {@code
 * int}, hence {@link SparseVectorField#HARD_MAX_TERMS} {@code = 2^15}.
 */
final class SparseWeights {

  /** Largest valid code: the largest finite weight, about 3.39e38. */
  static final int MAX_CODE = 0xFEFF;

  /** Maximum relative error of a stored weight for weights in the normal float range. */
  static final float MAX_RELATIVE_ERROR = 0x1p-9f;

  /** Maximum absolute error of a stored weight below {@link Float#MIN_NORMAL}. */
  static final float MAX_SUBNORMAL_ABSOLUTE_ERROR = 0x1p-134f;

  private SparseWeights() {}

  /**
   * Returns the code of a weight: 0 for a weight of zero (which is not indexed), otherwise a value
   * in {@code [1, MAX_CODE]}. The caller validates: the weight must be finite and non-negative, and
   * small enough not to round to infinity ({@link #isEncodable}).
   */
  static int encode(float weight) {
    if (weight == 0f) {
      return 0;
    }
    int bits = Float.floatToIntBits(weight);
    // round to nearest, ties to even, on bit 15
    int code = (bits + 0x3FFF + ((bits >>> 15) & 1)) >>> 15;
    return Math.max(1, code);
  }

  /** True if {@code weight} is finite, non-negative and does not round up to infinity. */
  static boolean isEncodable(float weight) {
    return weight >= 0f && Float.isFinite(weight) && encode(weight) <= MAX_CODE;
  }

  /** The weight a code stands for. Codes beyond {@link #MAX_CODE} are clamped to it. */
  static float decode(int code) {
    if (code <= 0) {
      return 0f;
    }
    return Float.intBitsToFloat(Math.min(code, MAX_CODE) << 15);
  }

  /**
   * An upper bound of the weight of any posting whose frequency is at most {@code freq}. Unlike
   * {@link #decode} this never clamps: a frequency beyond {@link #MAX_CODE} (which a field not
   * written by {@link SparseVectorField} may hold, or an {@code ImpactsEnum} may report when it has
   * no information) bounds nothing, so it gives infinity.
   */
  static double upperBound(int freq) {
    if (freq > MAX_CODE) {
      return Double.POSITIVE_INFINITY;
    }
    return decode(freq);
  }
}
