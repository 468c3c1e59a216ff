package org.neuralsolr.codecs;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * What a query that computes its hits at rewrite time (PLAID, a re-scored kNN search) rewrites to:
 * those hits and their scores, bound to the reader they were computed on, as Lucene's kNN queries
 * do. Explanations come from the query that computed them.
 */
public final class ScoredDocsQuery extends Query {

  /** Explains one hit's score, which the caller computed. */
  @FunctionalInterface
  public interface HitExplainer {
    /**
     * @param score the hit's score, boost applied
     */
    Explanation explain(LeafReaderContext leaf, int doc, float score, float boost) throws IOException;
  }

  private final Query source;
  private final String notAHit;
  private final HitExplainer explainer;
  private final int[] docs; // global doc ids, increasing
  private final float[] scores;
  private final int[] segmentStarts; // index in docs of each leaf's first hit; last = docs.length
  private final Object contextIdentity;

  /**
   * @param source the query whose hits these are (named in messages and {@link #toString})
   * @param hits global doc ids and their scores, in any order
   * @param notAHit the explanation of a document that is not among the hits
   */
  public ScoredDocsQuery(Query source, IndexReader reader, ScoreDoc[] hits, String notAHit, HitExplainer explainer) {
    this.source = Objects.requireNonNull(source, "source");
    this.notAHit = notAHit;
    this.explainer = explainer;
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
      throw new IllegalStateException("this " + source + " was rewritten against another reader");
    }
    return new Weight(this) {
      @Override
      public Explanation explain(LeafReaderContext context, int doc) throws IOException {
        int found = Arrays.binarySearch(docs, context.docBase + doc);
        if (found < 0) {
          return Explanation.noMatch(notAHit);
        }
        return explainer.explain(context, doc, scores[found] * boost, boost);
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
          int index = -1; // current hit, in [lower, upper) once positioned

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
    return "ScoredDocs(" + docs.length + " hits of " + source + ")";
  }

  @Override
  public void visit(QueryVisitor visitor) {
    visitor.visitLeaf(this);
  }

  @Override
  public boolean equals(Object other) {
    return sameClassAs(other)
        && contextIdentity == ((ScoredDocsQuery) other).contextIdentity
        && source.equals(((ScoredDocsQuery) other).source)
        && Arrays.equals(docs, ((ScoredDocsQuery) other).docs)
        && Arrays.equals(scores, ((ScoredDocsQuery) other).scores);
  }

  @Override
  public int hashCode() {
    return Objects.hash(classHash(), contextIdentity, source, Arrays.hashCode(docs), Arrays.hashCode(scores));
  }
}
