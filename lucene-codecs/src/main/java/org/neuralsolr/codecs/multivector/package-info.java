/**
 * ColBERT-style late interaction in pure Lucene: multi-vector storage with ColBERTv2 residual
 * compression, exact MaxSim scoring, and PLAID candidate generation.
 *
 * <h2>Indexing</h2>
 *
 * <p>A document's token vectors go into a {@link
 * org.neuralsolr.codecs.multivector.MultiVectorField}, a binary doc-values field whose FieldInfo
 * attributes carry its settings; the field must use {@link
 * org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat} (SPI name {@code
 * NeuralMultiVector}). At flush the format trains a {@link
 * org.neuralsolr.codecs.multivector.ResidualCodebook} (k-means centroids plus residual bucket
 * cut-offs and weights) on a sample of the segment's vectors, or takes one from a {@link
 * org.neuralsolr.codecs.multivector.CodebookSource}, and stores each vector as a centroid id plus
 * {@code nbits} per dimension. Merges copy codes and codebooks, never re-quantising.
 *
 * <h2>Searching</h2>
 *
 * <ul>
 *   <li>{@link org.neuralsolr.codecs.multivector.MultiVectorValues#get} gives a segment's vectors:
 *       token counts, decoded vectors, centroid ids, codebooks, centroid posting lists;
 *   <li>{@link org.neuralsolr.codecs.multivector.MaxSimScorer} computes exact MaxSim;
 *   <li>{@link org.neuralsolr.codecs.multivector.MaxSimQuery} scores every document exactly (a
 *       first stage for small indexes, or a re-ranking query);
 *   <li>{@link org.neuralsolr.codecs.multivector.PlaidQuery} finds the top k with PLAID candidate
 *       generation and rescores them exactly.
 * </ul>
 */
package org.neuralsolr.codecs.multivector;
