package org.neuralsolr.search;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.IndexSearcher;
import org.neuralsolr.codecs.multivector.MultiVectorValues;

/**
 * Document token vectors read from a {@link org.neuralsolr.schema.MultiVectorField}: decoded
 * (decompressed) from the index, so re-ranking costs no model call for the documents. A document
 * without vectors gets one zero vector, so its MaxSim is 0.
 */
final class StoredTokenVectors implements DocumentTokenVectors {
  private final String field;
  private final int dimension;

  StoredTokenVectors(String field, int dimension) {
    this.field = field;
    this.dimension = dimension;
  }

  @Override
  public TokenVectors[] read(IndexSearcher searcher, int[] docs) throws IOException {
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    TokenVectors[] out = new TokenVectors[docs.length];
    // each document's own MultiVectorValues: the window is not sorted by id, and iterators only go forward
    for (int i = 0; i < docs.length; i++) {
      LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(docs[i], leaves));
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
      if (values != null && values.advanceExact(docs[i] - leaf.docBase)) {
        out[i] = new TokenVectors(values.vectors(null), values.tokenCount(), dimension);
      } else {
        out[i] = new TokenVectors(new float[dimension], 1, dimension);
      }
    }
    return out;
  }

  @Override
  public String describe() {
    return "the token vectors stored in '" + field + "'";
  }
}
