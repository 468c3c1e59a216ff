package org.neuralsolr.codecs.multivector;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Lets the vectors of later flushes be encoded with a codebook trained earlier, so that an index
 * normally holds one codebook per field and merges are pure copies.
 *
 * <p>Given to {@link MultiVectorDocValuesFormat#MultiVectorDocValuesFormat(CodebookSource)}. The
 * writer asks {@link #codebook} before encoding raw vectors of a field (at a flush, or at a merge
 * of vectors that came without a usable codebook); if it gets null it trains a codebook on those
 * vectors and reports it to {@link #trained}. Flushes of different threads call concurrently, so
 * implementations must be thread-safe. Reading an index never needs a source.
 */
public interface CodebookSource {

  /**
   * The codebook to encode new vectors of {@code field} with, or null to train one. A codebook
   * whose dimension or nbits differ from the field's is ignored (and a new one trained).
   */
  ResidualCodebook codebook(String field, int dimension, int nbits);

  /** Called with each codebook the writer trained for {@code field}. */
  void trained(String field, ResidualCodebook codebook);

  /**
   * Whether this source alone decides {@code field}'s codebook (e.g. one codebook per SolrCloud
   * collection, trained once elsewhere): the writer then never trains a codebook of the field's
   * nbits itself, keeping vectors exact (nbits 0, as below {@code trainingThreshold}) while {@link
   * #codebook} returns null, and a merge re-encodes every document whose codebook is not the one
   * {@link #codebook} returns (from its exact value if it was kept exact, else from its decoded
   * value), so that the merged segment uses that codebook alone. The default, false, is the
   * per-index behaviour: train when there is none, copy codes of any codebook verbatim.
   */
  default boolean authoritative(String field) {
    return false;
  }

  /**
   * An in-memory source that keeps the first codebook trained for each field and hands it out from
   * then on. Its state is lost on restart; seed a new one from an index with {@link
   * MultiVectorValues#codebooks()} if that matters.
   */
  static CodebookSource reuseFirstTrained() {
    return new CodebookSource() {
      private final ConcurrentHashMap<String, ResidualCodebook> codebooks =
          new ConcurrentHashMap<>();

      @Override
      public ResidualCodebook codebook(String field, int dimension, int nbits) {
        return codebooks.get(field);
      }

      @Override
      public void trained(String field, ResidualCodebook codebook) {
        codebooks.putIfAbsent(field, codebook);
      }
    };
  }
}
