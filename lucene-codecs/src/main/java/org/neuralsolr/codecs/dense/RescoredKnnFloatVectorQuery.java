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
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
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
    return new RescoredDocsQuery(this, reader, Arrays.copyOf(hits, Math.min(k, hits.length)));
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

  /** The re-scored hits and their scores. */
  private static final class RescoredDocsQuery extends Query {
    private final RescoredKnnFloatVectorQuery source;
    private final int[] docs; // global doc ids, increasing
    private final float[] scores;
    private final int[] segmentStarts; // index in docs of each leaf's first hit; last = docs.length
    private final Object contextIdentity;

    RescoredDocsQuery(RescoredKnnFloatVectorQuery source, IndexReader reader, ScoreDoc[] hits) {
      this.source = source;
      ScoreDoc[] sorted = hits.clone();
      Arrays.sort(sorted, Comparator.comparingInt(h -> h.doc));
      docs = new int[sorted.length];
      scores = new float[sorted.length];
      for (int i = 0; i < sorted.length; i++) {
        docs[i] = sorted[i].doc;
        scores[i] = sorted[i].score;
      }
      List<LeafReaderContext> leaves = reader.leaves();
      segmentStarts = new int[leaves.size() + 1];
      for (int i = 0; i < leaves.size(); i++) {
        int found = Arrays.binarySearch(docs, leaves.get(i).docBase);
        segmentStarts[i] = found >= 0 ? found : -1 - found;
      }
      segmentStarts[leaves.size()] = docs.length;
      contextIdentity = reader.getContext().id();
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
      if (searcher.getIndexReader().getContext().id() != contextIdentity) {
        throw new IllegalStateException("this RescoredKnnFloatVectorQuery was rewritten against another reader");
      }
      return new Weight(this) {
        @Override
        public Explanation explain(LeafReaderContext context, int doc) {
          int found = Arrays.binarySearch(docs, context.docBase + doc);
          if (found < 0) {
            return Explanation.noMatch("not among the top " + source.k + " re-scored hits of " + source);
          }
          return Explanation.match(
              scores[found] * boost,
              "float32 similarity of '" + source.field + "', re-scored among the top " + source.oversample + " of its HNSW graph");
        }

        @Override
        public int count(LeafReaderContext context) {
          return segmentStarts[context.ord + 1] - segmentStarts[context.ord];
        }

        @Override
        public Scorer scorer(LeafReaderContext context) {
          int lower = segmentStarts[context.ord];
          int upper = segmentStarts[context.ord + 1];
          if (lower == upper) {
            return null;
          }
          float max = 0;
          for (int i = lower; i < upper; i++) {
            max = Math.max(max, scores[i]);
          }
          float maxScore = max;
          return new Scorer(this) {
            int index = -1;

            private int doc() {
              return index < 0 ? -1 : index >= upper ? DocIdSetIterator.NO_MORE_DOCS : docs[index] - context.docBase;
            }

            @Override
            public int docID() {
              return doc();
            }

            @Override
            public DocIdSetIterator iterator() {
              return new DocIdSetIterator() {
                @Override
                public int docID() {
                  return doc();
                }

                @Override
                public int nextDoc() {
                  index = index < 0 ? lower : index + 1;
                  return doc();
                }

                @Override
                public int advance(int target) throws IOException {
                  return slowAdvance(target);
                }

                @Override
                public long cost() {
                  return upper - lower;
                }
              };
            }

            @Override
            public float getMaxScore(int upTo) {
              return maxScore * boost;
            }

            @Override
            public float score() {
              return scores[index] * boost;
            }
          };
        }

        @Override
        public boolean isCacheable(LeafReaderContext ctx) {
          return true;
        }
      };
    }

    @Override
    public String toString(String field) {
      return "RescoredDocs(" + docs.length + " hits of " + source + ")";
    }

    @Override
    public void visit(QueryVisitor visitor) {
      visitor.visitLeaf(this);
    }

    @Override
    public boolean equals(Object other) {
      return sameClassAs(other)
          && contextIdentity == ((RescoredDocsQuery) other).contextIdentity
          && Arrays.equals(docs, ((RescoredDocsQuery) other).docs)
          && Arrays.equals(scores, ((RescoredDocsQuery) other).scores);
    }

    @Override
    public int hashCode() {
      return Objects.hash(classHash(), contextIdentity, Arrays.hashCode(docs), Arrays.hashCode(scores));
    }
  }
}
