package org.neuralsolr.search;

import java.io.IOException;
import org.apache.lucene.search.IndexSearcher;

/**
 * One {@code {!neural_rerank}} mode's scoring of a re-rank window: every document of the window in
 * one call, so that the model sees them in as few batches as possible. All or nothing: a failure
 * throws, it never leaves some scores unset.
 */
interface WindowScorer {
  /**
   * The model score of each document, in order.
   *
   * @param docs document ids of {@code searcher}'s top-level reader
   */
  float[] score(IndexSearcher searcher, int[] docs) throws IOException;

  /** What a score is, for explanations: model, mode and the settings that shape the score. */
  String describe();
}
