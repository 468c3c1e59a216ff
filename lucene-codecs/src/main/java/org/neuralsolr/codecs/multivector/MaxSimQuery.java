package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * Matches every document with vectors in a multi-vector field and scores it by exact MaxSim
 * against the query vectors, on the decoded (decompressed) document vectors.
 *
 * <p>Exhaustive, so it is the reference for {@link PlaidQuery} and a re-ranking query: a scorer
 * decodes and scores a document only when asked for its score, and advancing costs a doc-values
 * skip, so {@code QueryRescorer} (Solr's {@code {!rerank}}) pays only for its candidates. The
 * score is {@link MaxSimScorer#toLuceneScore} of the MaxSim, because Lucene scores must not be
 * negative; {@link #explain} shows the MaxSim itself and each query vector's best match.
 */
public final class MaxSimQuery extends Query {

  private final String field;
  private final QueryVectors query;

  /**
   * @param field a multi-vector field ({@link MultiVectorField})
   * @param query the query vectors, one row each (copied)
   * @throws IllegalArgumentException if the vectors are empty, ragged or not finite
   */
  public MaxSimQuery(String field, float[][] query) {
    this.field = Objects.requireNonNull(field, "field");
    this.query = QueryVectors.of("query", query);
  }

  /** The field searched. */
  public String getField() {
    return field;
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost)
      throws IOException {
    VectorSimilarityFunction similarity = query.checkField(searcher.getIndexReader(), field);
    float[] vectors = query.forSimilarity(similarity);
    return new Weight(this) {
      @Override
      public Scorer scorer(LeafReaderContext context) throws IOException {
        MultiVectorValues values = MultiVectorValues.get(context.reader(), field);
        if (values == null) {
          return null;
        }
        MaxSimScorer maxSim = new MaxSimScorer(vectors, query.count(), query.dimension());
        return new Scorer(this) {
          @Override
          public int docID() {
            return values.docID();
          }

          @Override
          public DocIdSetIterator iterator() {
            return values;
          }

          @Override
          public float getMaxScore(int upTo) {
            return Float.MAX_VALUE;
          }

          @Override
          public float score() throws IOException {
            return boost * MaxSimScorer.toLuceneScore(maxSim.score(values));
          }
        };
      }

      @Override
      public Explanation explain(LeafReaderContext context, int doc) throws IOException {
        MultiVectorValues values = MultiVectorValues.get(context.reader(), field);
        if (values == null || values.advanceExact(doc) == false) {
          return Explanation.noMatch("no vectors in field " + field);
        }
        return explainMaxSim(
            values, new MaxSimScorer(vectors, query.count(), query.dimension()), boost, field);
      }

      @Override
      public boolean isCacheable(LeafReaderContext ctx) {
        return true;
      }
    };
  }

  /** Explains the exact MaxSim of the document {@code values} is positioned on. */
  static Explanation explainMaxSim(
      MultiVectorValues values, MaxSimScorer maxSim, float boost, String field)
      throws IOException {
    int tokens = values.tokenCount();
    int n = maxSim.numQueryVectors();
    int[] argmax = new int[n];
    float[] max = new float[n];
    float sum = maxSim.score(values, argmax, max); // as the query scored it
    List<Explanation> details = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      details.add(
          Explanation.match(
              max[i], "query vector " + i + ": best dot product, with document vector " + argmax[i]));
    }
    Explanation maxSimExplanation =
        Explanation.match(
            sum,
            "MaxSim over "
                + tokens
                + " document vectors"
                + (values.nbits() > 0 ? " (decoded from " + values.nbits() + "-bit residuals)" : "")
                + ", sum of:",
            details);
    float score = MaxSimScorer.toLuceneScore(sum);
    Explanation mapped =
        Explanation.match(
            score,
            "score of field "
                + field
                + ", computed as "
                + (sum >= 0 ? "1 + MaxSim" : "1 / (1 - MaxSim)")
                + " (Lucene scores are never negative) from:",
            maxSimExplanation);
    if (boost == 1f) {
      return mapped;
    }
    return Explanation.match(
        boost * score, "product of:", Explanation.match(boost, "boost"), mapped);
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field)) {
      visitor.visitLeaf(this);
    }
  }

  @Override
  public String toString(String defaultField) {
    return "MaxSimQuery(" + field + ", " + query + ")";
  }

  @Override
  public boolean equals(Object other) {
    return sameClassAs(other)
        && field.equals(((MaxSimQuery) other).field)
        && query.equals(((MaxSimQuery) other).query);
  }

  @Override
  public int hashCode() {
    return Objects.hash(classHash(), field, query);
  }
}
