package org.neuralsolr.codecs.dense;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.Weight;

/**
 * The top {@code k} of a {@link KnnFloatVectorQuery} for the top {@code oversample} candidates,
 * re-scored exactly with the field's float32 vectors.
 *
 * <p>Lucene's scalar-quantised HNSW format searches its graph with int7 or int4 scores but keeps the
 * float32 vectors beside them, and {@code LeafReader#getFloatVectorValues} reads those. Quantisation
 * errors mostly reorder near neighbours, so taking more candidates than needed and re-scoring them
 * exactly recovers most of the float32 ranking at the quantised graph's cost (Lucene 10 has this as
 * {@code RescoreTopNQuery}; Lucene 9.12 does not). On a float32 field the re-scored scores equal the
 * graph's, so the query is then an HNSW search with a wider beam.
 *
 * <p>Scores are the field's {@code VectorSimilarityFunction} of the query and the stored vector,
 * exactly as {@link KnnFloatVectorQuery} scores them. Like Lucene's kNN queries it rewrites to its
 * hits, bound to the reader it was rewritten against.
 */
public final class RescoredKnnFloatVectorQuery extends Query {
  private final String field;
  private final float[] target;
  private final int k;
  private final int oversample;
  private final Query filter;

  /**
   * @param k hits returned
   * @param oversample candidates taken from the graph and re-scored; at least {@code k}
   * @param filter pre-filter as {@link KnnFloatVectorQuery}'s, or null
   */
  public RescoredKnnFloatVectorQuery(String field, float[] target, int k, int oversample, Query filter) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be at least 1, got " + k);
    }
    if (oversample < k) {
      throw new IllegalArgumentException("oversample must be at least k (" + k + "), got " + oversample);
    }
    this.field = Objects.requireNonNull(field, "field");
    this.target = target.clone();
    this.k = k;
    this.oversample = oversample;
    this.filter = filter;
  }

  public String getField() {
    return field;
  }

  public int getK() {
    return k;
  }

  public int getOversample() {
    return oversample;
  }

  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    IndexReader reader = searcher.getIndexReader();
    TopDocs candidates = searcher.search(new KnnFloatVectorQuery(field, target, oversample, filter), oversample);
    ScoreDoc[] hits = candidates.scoreDocs.clone();
    Arrays.sort(hits, Comparator.comparingInt(h -> h.doc)); // vector values only move forward
    List<LeafReaderContext> leaves = reader.leaves();
    FloatVectorValues values = null;
    FieldInfo info = null;
    int leaf = -1;
    for (ScoreDoc hit : hits) {
      int l = ReaderUtil.subIndex(hit.doc, leaves);
      if (l != leaf) {
        leaf = l;
        values = leaves.get(l).reader().getFloatVectorValues(field);
        info = leaves.get(l).reader().getFieldInfos().fieldInfo(field);
      }
      int doc = hit.doc - leaves.get(l).docBase;
      if (values == null || values.advance(doc) != doc) {
        throw new IllegalStateException("document " + hit.doc + " matched the graph of '" + field + "' but has no vector");
      }
      hit.score = info.getVectorSimilarityFunction().compare(target, values.vectorValue());
    }
    // best first, ties by doc id as Lucene's TopDocs
    Arrays.sort(hits, (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.doc, b.doc));
    return new org.neuralsolr.codecs.ScoredDocsQuery(
        this, reader, Arrays.copyOf(hits, Math.min(k, hits.length)), "not among the top " + k + " re-scored hits of " + this,
        (hitLeaf, doc, score, boost) ->
            Explanation.match(score, "float32 similarity of '" + field + "', re-scored among the top " + oversample + " of its HNSW graph"));
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
    throw new IllegalStateException("RescoredKnnFloatVectorQuery must be rewritten first");
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field)) {
      visitor.visitLeaf(this);
    }
  }

  @Override
  public String toString(String f) {
    return "RescoredKnnFloatVectorQuery[" + field + "][k=" + k + ",oversample=" + oversample + "]" + (filter == null ? "" : "[" + filter + "]");
  }

  @Override
  public boolean equals(Object o) {
    if (!sameClassAs(o)) {
      return false;
    }
    RescoredKnnFloatVectorQuery other = (RescoredKnnFloatVectorQuery) o;
    return field.equals(other.field)
        && k == other.k
        && oversample == other.oversample
        && Arrays.equals(target, other.target)
        && Objects.equals(filter, other.filter);
  }

  @Override
  public int hashCode() {
    return Objects.hash(classHash(), field, k, oversample, Arrays.hashCode(target), filter);
  }
}
