package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.BytesRef;

/** Weight of a {@link SparseQuery}: query weights times the boost, one scorer per segment. */
final class SparseWeight extends Weight {

  private final SparseQuery query;
  private final float[] queryWeights;
  private final float boost;

  SparseWeight(SparseQuery query, IndexSearcher searcher, ScoreMode scoreMode, float boost) {
    super(query);
    this.query = query;
    this.boost = boost;
    float[] w = query.weights();
    this.queryWeights = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      queryWeights[i] = w[i] * boost;
    }
  }

  /** Terms of the field in this segment, or null; fails if the field has no frequencies. */
  private Terms terms(LeafReaderContext context) throws IOException {
    FieldInfo fieldInfo = context.reader().getFieldInfos().fieldInfo(query.getField());
    if (fieldInfo == null) {
      return null;
    }
    if (fieldInfo.getIndexOptions() != IndexOptions.DOCS_AND_FREQS) {
      throw new IllegalStateException(
          "field '"
              + query.getField()
              + "' is not a sparse vector field: it is indexed with "
              + fieldInfo.getIndexOptions()
              + " instead of DOCS_AND_FREQS");
    }
    return context.reader().terms(query.getField());
  }

  @Override
  public Scorer scorer(LeafReaderContext context) throws IOException {
    Terms terms = terms(context);
    if (terms == null) {
      return null;
    }
    TermsEnum termsEnum = terms.iterator();
    BytesRef[] queryTerms = query.terms();
    float fraction = query.getApproximation().postingWeightFraction();
    List<SparseTermClause> clauses = new ArrayList<>();
    for (int i = 0; i < queryTerms.length; i++) {
      if (termsEnum.seekExact(queryTerms[i])) {
        ImpactsEnum postings = termsEnum.impacts(PostingsEnum.FREQS);
        clauses.add(new SparseTermClause(i, queryWeights[i], postings, fraction));
      }
    }
    if (clauses.isEmpty()) {
      return null;
    }
    return new SparseScorer(this, clauses, query.getApproximation().heapFactor());
  }

  @Override
  public boolean isCacheable(LeafReaderContext ctx) {
    return true;
  }

  @Override
  public Explanation explain(LeafReaderContext context, int doc) throws IOException {
    Terms terms = terms(context);
    List<Explanation> details = new ArrayList<>();
    double sum = 0;
    if (terms != null) {
      TermsEnum termsEnum = terms.iterator();
      BytesRef[] queryTerms = query.terms();
      float fraction = query.getApproximation().postingWeightFraction();
      for (int i = 0; i < queryTerms.length; i++) {
        if (termsEnum.seekExact(queryTerms[i]) == false) {
          continue;
        }
        ImpactsEnum postings = termsEnum.impacts(PostingsEnum.FREQS);
        int cutoff = SparseTermClause.cutoff(SparseTermClause.termMaxFreq(postings), fraction);
        if (postings.advance(doc) != doc) {
          continue;
        }
        int code = postings.freq();
        float docWeight = SparseWeights.decode(code);
        double product = (double) queryWeights[i] * docWeight;
        String term =
            queryTerms[i].utf8ToString() + "'" + (query.isExpansion(queryTerms[i]) ? " (expansion term, not in the query text)" : "");
        Explanation qw =
            Explanation.match(
                queryWeights[i], boost == 1f ? "q_w, query weight" : "q_w, query weight * boost");
        Explanation dw = Explanation.match(docWeight, "d_w, stored document weight (code " + code + ")");
        if (code < cutoff) {
          details.add(
              Explanation.noMatch(
                  "term '" + term + ": posting pruned, d_w below postingWeightFraction of the term's maximum",
                  qw,
                  dw));
          continue;
        }
        sum += product;
        details.add(Explanation.match((float) product, "term '" + term + ": q_w * d_w, product of:", qw, dw));
      }
    }
    BytesRef[] pruned = query.prunedTerms();
    for (int i = 0; i < pruned.length; i++) {
      details.add(
          Explanation.noMatch(
              "query term '"
                  + pruned[i].utf8ToString()
                  + "' (q_w="
                  + query.prunedWeights()[i]
                  + ") dropped by query-term pruning"));
    }
    int matchedTerms = (int) details.stream().filter(Explanation::isMatch).count();
    if (matchedTerms == 0) {
      return Explanation.noMatch("no query term matches in field '" + query.getField() + "'", details);
    }
    return Explanation.match(
        (float) sum,
        "sparse dot product over " + matchedTerms + " shared terms of field '" + query.getField() + "', sum of:",
        details);
  }
}
