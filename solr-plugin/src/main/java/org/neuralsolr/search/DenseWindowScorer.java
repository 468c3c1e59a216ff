package org.neuralsolr.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.IndexSearcher;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.TextRole;

/**
 * {@code mode=dense}: the cosine of the query vector and each document's vector. A document's vector
 * is read from the {@code DenseVectorField} {@code f} when it has one there (what the update
 * processor stored, no model call), and otherwise encoded from its stored text; all documents that
 * need encoding go to the model in one call.
 */
final class DenseWindowScorer implements WindowScorer {
  private final DenseEncoder encoder;
  private final String modelName;
  private final float[] queryVector;
  /** The vector field, or null to encode every document from its text. */
  private final String field;
  private final DocumentTexts texts;

  DenseWindowScorer(DenseEncoder encoder, String modelName, float[] queryVector, String field, DocumentTexts texts) {
    this.encoder = encoder;
    this.modelName = modelName;
    this.queryVector = queryVector;
    this.field = field;
    this.texts = texts;
  }

  @Override
  public float[] score(IndexSearcher searcher, int[] docs) throws IOException {
    float[][] vectors = field == null ? new float[docs.length][] : storedVectors(searcher, docs);
    List<Integer> missing = new ArrayList<>();
    for (int i = 0; i < docs.length; i++) {
      if (vectors[i] == null) {
        missing.add(i);
      }
    }
    if (!missing.isEmpty()) {
      int[] toEncode = missing.stream().mapToInt(i -> docs[i]).toArray();
      float[][] encoded = encoder.encode(texts.read(searcher, toEncode), TextRole.DOCUMENT);
      for (int j = 0; j < encoded.length; j++) {
        vectors[missing.get(j)] = encoded[j];
      }
    }
    float[] scores = new float[docs.length];
    for (int i = 0; i < docs.length; i++) {
      scores[i] = cosine(queryVector, vectors[i]);
    }
    return scores;
  }

  /** The stored vectors of {@code docs} (null where a document has none), reading each segment in doc order. */
  private float[][] storedVectors(IndexSearcher searcher, int[] docs) throws IOException {
    float[][] vectors = new float[docs.length][];
    Integer[] order = new Integer[docs.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Integer.compare(docs[a], docs[b]));
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    FloatVectorValues values = null;
    int leafOrd = -1;
    for (int i : order) {
      int leaf = ReaderUtil.subIndex(docs[i], leaves);
      LeafReaderContext ctx = leaves.get(leaf);
      if (leaf != leafOrd) {
        leafOrd = leaf;
        values = ctx.reader().getFloatVectorValues(field);
      }
      if (values == null) {
        continue; // no document of this segment has a vector
      }
      int local = docs[i] - ctx.docBase;
      int current = values.docID();
      if (current < local) {
        current = values.advance(local);
      }
      if (current == local) {
        vectors[i] = values.vectorValue().clone();
      }
    }
    return vectors;
  }

  static float cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return na == 0 || nb == 0 ? 0 : (float) (dot / Math.sqrt(na * nb));
  }

  @Override
  public String describe() {
    String source = field == null ? "encoded from " + texts.fields() : "stored in '" + field + "' (encoded from " + texts.fields() + " where missing)";
    return "dense model '" + modelName + "' cosine of the query vector and the document vector " + source;
  }
}
