package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.BytesRef;

/**
 * Ranks documents of a {@link SparseVectorField} by the dot product {@code sum q_w * d_w} over the
 * terms they share with the query, where {@code d_w} is the stored (quantised) weight.
 *
 * <p><b>Exact mode</b> (the default, or {@link SparseApproximation#EXACT}): block-max MaxScore
 * dynamic pruning over the per-block maxima of the postings (impacts). The scorer implements
 * {@code setMinCompetitiveScore}, {@code getMaxScore} and {@code advanceShallow}, so it returns
 * exactly the exhaustive top k through {@code IndexSearcher.search(query, n)} and composes with
 * filters ({@code BooleanQuery} FILTER clauses), {@code searchAfter} and any collector. It works on
 * any postings format; {@link SparsePostingsFormat} makes skipping cheaper. When the query is the
 * whole search, windows of doc ids are scored term at a time ({@code SparseBulkScorer}), without a
 * per-document heap: learned sparse queries have tens of terms with flat weights, whose postings all
 * cross every window.
 *
 * <p><b>Approximate mode</b> ({@link SparseApproximation}): query-term pruning, posting pruning by
 * weight, and a heap factor on block summaries; see there for the knobs and defaults.
 *
 * <p>Scores are computed as a double sum of {@code (double) q_w * d_w} in the order of the terms'
 * UTF-8 bytes, rounded to float once; the same document always gets the same score, whatever the
 * pruning did. Query weights must be finite and non-negative; zero weights are dropped. A boost
 * multiplies every query weight.
 *
 * <p>{@code explain} lists each query term that matched with {@code q_w}, {@code d_w} and their
 * product (labelled as an expansion term when {@link #withTextTerms} says the query text does not
 * contain it), and the query terms the approximation dropped.
 */
public final class SparseQuery extends Query {

  private final String field;
  private final BytesRef[] terms; // kept terms, sorted: the order in which scores are summed
  private final float[] weights;
  private final BytesRef[] prunedTerms; // dropped by query-term pruning, sorted
  private final float[] prunedWeights;
  private final SparseApproximation approximation;
  /** The tokens of the text the query vector was encoded from, or null when unknown. */
  private final Set<BytesRef> textTerms;

  /** Exact mode. */
  public SparseQuery(String field, Map<String, ? extends Number> queryWeights) {
    this(field, queryWeights, SparseApproximation.EXACT);
  }

  /**
   * @param field the {@link SparseVectorField}'s name
   * @param queryWeights term &rarr; weight (finite, non-negative; zeros are dropped)
   * @param approximation {@link SparseApproximation#EXACT} for exact results
   */
  public SparseQuery(
      String field, Map<String, ? extends Number> queryWeights, SparseApproximation approximation) {
    this.field = Objects.requireNonNull(field, "field");
    this.approximation = Objects.requireNonNull(approximation, "approximation");
    List<Object[]> entries = new ArrayList<>();
    float maxWeight = 0f;
    for (Map.Entry<String, ? extends Number> e : queryWeights.entrySet()) {
      SparseVectorField.checkTerm(field, e.getKey());
      Number value = e.getValue();
      float w = value == null ? Float.NaN : value.floatValue();
      if (!(w >= 0f) || Float.isInfinite(w)) {
        throw new IllegalArgumentException(
            "field '"
                + field
                + "': query term '"
                + e.getKey()
                + "' has an invalid weight "
                + value
                + " (weights must be finite and non-negative)");
      }
      if (w > 0f) {
        entries.add(new Object[] {new BytesRef(e.getKey()), w});
        maxWeight = Math.max(maxWeight, w);
      }
    }
    // query-term pruning: by decreasing weight, ties by term so the choice is deterministic
    entries.sort(
        Comparator.comparing((Object[] o) -> -(Float) o[1])
            .thenComparing(o -> (BytesRef) o[0]));
    float minWeight = approximation.queryWeightFraction() * maxWeight;
    int keep = 0;
    while (keep < entries.size()
        && keep < approximation.maxQueryTerms()
        && (Float) entries.get(keep)[1] >= minWeight) {
      keep++;
    }
    List<Object[]> kept = new ArrayList<>(entries.subList(0, keep));
    List<Object[]> pruned = new ArrayList<>(entries.subList(keep, entries.size()));
    Comparator<Object[]> byTerm = Comparator.comparing(o -> (BytesRef) o[0]);
    kept.sort(byTerm);
    pruned.sort(byTerm);
    this.terms = kept.stream().map(o -> (BytesRef) o[0]).toArray(BytesRef[]::new);
    this.weights = new float[kept.size()];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (Float) kept.get(i)[1];
    }
    this.prunedTerms = pruned.stream().map(o -> (BytesRef) o[0]).toArray(BytesRef[]::new);
    this.prunedWeights = new float[pruned.size()];
    for (int i = 0; i < prunedWeights.length; i++) {
      prunedWeights[i] = (Float) pruned.get(i)[1];
    }
    this.textTerms = null;
  }

  private SparseQuery(SparseQuery other, Set<BytesRef> textTerms) {
    this.field = other.field;
    this.terms = other.terms;
    this.weights = other.weights;
    this.prunedTerms = other.prunedTerms;
    this.prunedWeights = other.prunedWeights;
    this.approximation = other.approximation;
    this.textTerms = textTerms;
  }

  /**
   * Returns this query with the tokens of the text its vector was encoded from, so that {@code
   * explain} labels the query terms that are not among them as expansion terms (a learned sparse
   * encoder adds terms the text does not contain). Scores do not change.
   */
  public SparseQuery withTextTerms(Collection<String> textTokens) {
    Set<BytesRef> set = new HashSet<>();
    for (String t : textTokens) {
      set.add(new BytesRef(t));
    }
    return new SparseQuery(this, Collections.unmodifiableSet(set));
  }

  /** True if the text's tokens are known and {@code term} is not one of them. */
  boolean isExpansion(BytesRef term) {
    return textTerms != null && textTerms.contains(term) == false;
  }

  public String getField() {
    return field;
  }

  public SparseApproximation getApproximation() {
    return approximation;
  }

  /** Number of query terms that are scored (after query-term pruning). */
  public int numTerms() {
    return terms.length;
  }

  BytesRef[] terms() {
    return terms;
  }

  float[] weights() {
    return weights;
  }

  BytesRef[] prunedTerms() {
    return prunedTerms;
  }

  float[] prunedWeights() {
    return prunedWeights;
  }

  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    if (terms.length == 0) {
      return new MatchNoDocsQuery("sparse query without terms");
    }
    return this;
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost)
      throws IOException {
    return new SparseWeight(this, searcher, scoreMode, boost);
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field) == false) {
      return;
    }
    Term[] t = new Term[terms.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = new Term(field, terms[i]);
    }
    visitor.consumeTerms(this, t);
  }

  @Override
  public String toString(String defaultField) {
    StringBuilder sb = new StringBuilder("SparseQuery(");
    if (field.equals(defaultField) == false) {
      sb.append(field).append(':');
    }
    for (int i = 0; i < terms.length; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(terms[i].utf8ToString()).append('^').append(weights[i]);
    }
    if (approximation.isExact() == false) {
      sb.append(", ").append(approximation);
    }
    return sb.append(')').toString();
  }

  @Override
  public boolean equals(Object other) {
    if (sameClassAs(other) == false) {
      return false;
    }
    SparseQuery o = (SparseQuery) other;
    return field.equals(o.field)
        && Arrays.equals(terms, o.terms)
        && Arrays.equals(weights, o.weights)
        && Arrays.equals(prunedTerms, o.prunedTerms)
        && approximation.equals(o.approximation)
        && Objects.equals(textTerms, o.textTerms);
  }

  @Override
  public int hashCode() {
    int h = classHash();
    h = 31 * h + field.hashCode();
    h = 31 * h + Arrays.hashCode(terms);
    h = 31 * h + Arrays.hashCode(weights);
    h = 31 * h + Arrays.hashCode(prunedTerms);
    h = 31 * h + Objects.hashCode(textTerms);
    return 31 * h + approximation.hashCode();
  }
}
