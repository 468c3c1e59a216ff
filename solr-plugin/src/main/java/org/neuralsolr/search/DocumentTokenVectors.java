package org.neuralsolr.search;

import java.io.IOException;
import org.apache.lucene.search.IndexSearcher;

/**
 * Where {@code mode=multivector} gets the token vectors of the documents it re-ranks. Today: {@link
 * EncodedTokenVectors}, encoded from stored text at query time. Stored vectors plug in here: an
 * implementation over the ColBERT codec's multi-vector field (its per-segment {@code
 * MultiVectorValues}: advance to the document, decode its residual-compressed vectors) selected
 * when the request names such a field with {@code f}.
 */
interface DocumentTokenVectors {
  /** The token vectors of each document, in order. All or nothing. */
  TokenVectors[] read(IndexSearcher searcher, int[] docs) throws IOException;

  /** Where the vectors come from, for explanations. */
  String describe();
}
