/**
 * Dense (single-vector) retrieval over Lucene's own vector formats: {@link
 * org.neuralsolr.codecs.dense.RescoredKnnFloatVectorQuery} oversamples an HNSW search (typically over
 * scalar-quantised vectors) and re-scores its candidates exactly with the float32 vectors.
 */
package org.neuralsolr.codecs.dense;
