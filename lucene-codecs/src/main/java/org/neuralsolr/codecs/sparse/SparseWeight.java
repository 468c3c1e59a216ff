package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.TermState;
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
    SparseApproximation approximation = query.getApproximation();
    float fraction = approximation.postingWeightFraction();
    List<SparseTermClause> clauses = new ArrayList<>();
    List<TermState> states = new ArrayList<>();
    for (int i = 0; i < queryTerms.length; i++) {
      if (termsEnum.seekExact(queryTerms[i])) {
        ImpactsEnum postings = termsEnum.impacts(PostingsEnum.FREQS);
        clauses.add(new SparseTermClause(i, queryWeights[i], postings, fraction));
        states.add(termsEnum.termState());
      }
    }
    if (clauses.isEmpty()) {
      return null;
    }
    boolean[] generating = generatingTerms(clauses, approximation);
    if (generating == null) {
      return new SparseScorer(this, clauses, approximation.heapFactor());
    }
    return SparseCandidateScorer.create(
        this,
        generators(termsEnum, clauses, states, generating),
        clauses,
        generating,
        approximation.candidates(),
        approximation.heapFactor(),
        context.reader().maxDoc(),
        context.reader().getLiveDocs());
  }

  /**
   * Which clauses generate candidates: the {@code candidateTerms} with the largest possible
   * contribution (ties by query order); null when candidate generation is off or would use every
   * term anyway (then plain block-max MaxScore is exact and cheaper).
   */
  private static boolean[] generatingTerms(List<SparseTermClause> clauses, SparseApproximation approximation) {
    int m = approximation.candidateTerms();
    if (m == 0 || m >= clauses.size()) {
      return null;
    }
    Integer[] order = new Integer[clauses.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(
        order, (a, b) -> Double.compare(clauses.get(b).termMaxScore, clauses.get(a).termMaxScore));
    boolean[] generating = new boolean[clauses.size()];
    for (int i = 0; i < m; i++) {
      generating[order[i]] = true;
    }
    return generating;
  }

  /** Fresh clauses of the generating terms (phase one consumes its postings). */
  private List<SparseTermClause> generators(
      TermsEnum termsEnum, List<SparseTermClause> clauses, List<TermState> states, boolean[] generating)
      throws IOException {
    float fraction = query.getApproximation().postingWeightFraction();
    List<SparseTermClause> generators = new ArrayList<>();
    for (int i = 0; i < clauses.size(); i++) {
      if (generating[i]) {
        SparseTermClause c = clauses.get(i);
        termsEnum.seekExact(query.terms()[c.ord], states.get(i));
        generators.add(new SparseTermClause(c.ord, c.queryWeight, termsEnum.impacts(PostingsEnum.FREQS), fraction));
      }
    }
    return generators;
  }

  @Override
  public boolean isCacheable(LeafReaderContext ctx) {
    return true;
  }

  @Override
  public Explanation explain(LeafReaderContext context, int doc) throws IOException {
    Explanation explanation = explainTerms(context, doc);
    if (explanation.isMatch() && query.getApproximation().candidateTerms() > 0) {
      // candidate generation: phase one again, to tell whether the document was a candidate
      Terms terms = terms(context);
      TermsEnum termsEnum = terms.iterator();
      List<SparseTermClause> clauses = new ArrayList<>();
      List<TermState> states = new ArrayList<>();
      BytesRef[] queryTerms = query.terms();
      float fraction = query.getApproximation().postingWeightFraction();
      for (int i = 0; i < queryTerms.length; i++) {
        if (termsEnum.seekExact(queryTerms[i])) {
          clauses.add(new SparseTermClause(i, queryWeights[i], termsEnum.impacts(PostingsEnum.FREQS), fraction));
          states.add(termsEnum.termState());
        }
      }
      boolean[] generating = generatingTerms(clauses, query.getApproximation());
      if (generating != null) {
        SparseCandidateScorer.Candidates candidates =
            SparseCandidateScorer.select(
                generators(termsEnum, clauses, states, generating),
                query.getApproximation().candidates(),
                context.reader().maxDoc(),
                context.reader().getLiveDocs());
        if (candidates.contains(doc) == false) {
          return Explanation.noMatch(
              "not among the "
                  + query.getApproximation().candidates()
                  + " candidates that the "
                  + query.getApproximation().candidateTerms()
                  + " heaviest query terms generated in this segment",
              explanation);
        }
      }
    }
    return explanation;
  }

  private Explanation explainTerms(LeafReaderContext context, int doc) throws IOException {
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
