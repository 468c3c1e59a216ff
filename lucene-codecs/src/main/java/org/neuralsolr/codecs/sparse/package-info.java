/**
 * Learned sparse retrieval (SPLADE-style term weights) in pure Lucene.
 *
 * <ul>
 *   <li>{@link org.neuralsolr.codecs.sparse.SparseVectorField}: one document's term &rarr; weight
 *       map, each weight quantised to a 16-bit code (relative error at most 2<sup>-9</sup>)
 *       carried as the term frequency.
 *   <li>{@link org.neuralsolr.codecs.sparse.SparsePostingsFormat} ({@code NeuralSparse}): doc ids
 *       and codes in blocks of 128 with per-block, per-group and per-term maxima (impacts).
 *   <li>{@link org.neuralsolr.codecs.sparse.SparseQuery}: the dot product with a query vector,
 *       exact through block-max MaxScore, or approximate with the knobs of {@link
 *       org.neuralsolr.codecs.sparse.SparseApproximation}.
 * </ul>
 */
package org.neuralsolr.codecs.sparse;
