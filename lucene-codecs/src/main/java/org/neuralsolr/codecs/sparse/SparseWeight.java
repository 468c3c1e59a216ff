package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.TermState;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.BulkScorer;
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
    SparseApproximation approximation = query.getApproximation();
    SparseFieldsProducer.SparseTerms forward =
        approximation.candidateTerms() > 0 ? forwardIndexTerms(context, terms) : null;
    if (forward != null) {
      Scorer scorer = forwardCandidates(context, forward, approximation);
      if (scorer != null) {
        return scorer;
      }
    }
    TermsEnum termsEnum = terms.iterator();
    BytesRef[] queryTerms = query.terms();
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
    double others = 0;
    double max = 0;
    for (int i = 0; i < clauses.size(); i++) {
      max += clauses.get(i).termMaxScore;
      if (generating[i] == false) {
        others += clauses.get(i).termMaxScore;
      }
    }
    return SparseCandidateScorer.create(
        this,
        generators(termsEnum, clauses, states, generating),
        clauses,
        null,
        others,
        max,
        approximation.candidates(),
        approximation.heapFactor(),
        context.reader().maxDoc(),
        context.reader().getLiveDocs());
  }

  /**
   * The segment's terms with their forward index, or null if it has none. Reader wrappers
   * (ExitableDirectoryReader, Lucene's test readers) wrap the terms too, which would hide the
   * forward index and silently change what candidatePostings means; a {@link FilterLeafReader}
   * keeps doc ids, so the terms beneath it serve candidate generation while live docs still come
   * from the wrapper.
   */
  private SparseFieldsProducer.SparseTerms forwardIndexTerms(LeafReaderContext context, Terms terms)
      throws IOException {
    if (terms instanceof SparseFieldsProducer.SparseTerms sparse) {
      return sparse;
    }
    LeafReader unwrapped = FilterLeafReader.unwrap(context.reader());
    if (unwrapped != context.reader()
        && unwrapped.terms(query.getField()) instanceof SparseFieldsProducer.SparseTerms sparse) {
      return sparse;
    }
    return null;
  }

  /**
   * Candidate generation over a segment with a forward index: postings are opened for the
   * generating terms only, every other term is known by its term metadata (ord, largest weight),
   * and candidates are scored from the forward index. Opening postings is most of the cost of a
   * term on a small segment, so this is what makes candidate generation cheaper than exact mode.
   * Null where the general path must run (no term matches, or every term would generate).
   */
  private Scorer forwardCandidates(
      LeafReaderContext context, SparseFieldsProducer.SparseTerms terms, SparseApproximation approximation)
      throws IOException {
    TermsEnum termsEnum = terms.iterator();
    BytesRef[] queryTerms = query.terms();
    int n = 0;
    int[] ordOfClause = new int[queryTerms.length]; // position in the query
    SparseTermState[] states = new SparseTermState[queryTerms.length];
    double[] bounds = new double[queryTerms.length];
    for (int i = 0; i < queryTerms.length; i++) {
      if (termsEnum.seekExact(queryTerms[i])) {
        if (termsEnum.termState() instanceof SparseTermState == false) {
          return null;
        }
        SparseTermState state = (SparseTermState) termsEnum.termState();
        ordOfClause[n] = i;
        states[n] = state;
        // as SparseTermClause.termMaxScore: the term's largest frequency is in its metadata
        bounds[n] = queryWeights[i] * SparseWeights.upperBound(state.maxFreq);
        n++;
      }
    }
    int m = approximation.candidateTerms();
    boolean heaviest = approximation.candidatePostings() > 0;
    if (n == 0 || (m >= n && heaviest == false)) {
      return null;
    }
    m = Math.min(m, n); // with only the heaviest postings read, every term may generate
    Integer[] order = new Integer[n];
    for (int j = 0; j < n; j++) {
      order[j] = j;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(bounds[b], bounds[a])); // stable
    boolean[] generating = new boolean[n];
    for (int j = 0; j < m; j++) {
      generating[order[j]] = true;
    }
    float fraction = approximation.postingWeightFraction();
    List<SparseTermClause> generators = new ArrayList<>();
    int[] ords = new int[n];
    float[] weights = new float[n];
    int[] cutoffs = new int[n];
    double others = 0;
    double max = 0;
    for (int j = 0; j < n; j++) {
      int i = ordOfClause[j];
      ords[j] = Math.toIntExact(states[j].ord); // query terms are in term order, so are ords
      weights[j] = queryWeights[i];
      cutoffs[j] = SparseTermClause.cutoff(states[j].maxFreq, fraction);
      max += bounds[j];
      if (generating[j] && heaviest == false) {
        termsEnum.seekExact(queryTerms[i], states[j]);
        generators.add(
            new SparseTermClause(i, queryWeights[i], termsEnum.impacts(PostingsEnum.FREQS), fraction));
      } else if (generating[j] == false) {
        others += bounds[j];
      }
    }
    SparseCandidateScorer.ForwardScorer forward =
        new SparseCandidateScorer.ForwardScorer(terms.forward.reader(), ords, weights, cutoffs);
    if (heaviest) {
      double[] residual = new double[n];
      SparseCandidateScorer.Candidates candidates =
          SparseCandidateScorer.selectFromHeaviest(
              forward,
              generating,
              approximation.candidatePostings(),
              approximation.candidates(),
              context.reader().getLiveDocs(),
              residual);
      for (double r : residual) {
        others += r; // what the unread postings of generating terms may still add
      }
      return SparseCandidateScorer.create(this, candidates, forward, others, max, approximation.heapFactor());
    }
    return SparseCandidateScorer.create(
        this,
        generators,
        null,
        forward,
        others,
        max,
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

  /**
   * A top-level search of exact or heap-factor mode scores windows term at a time ({@link
   * SparseBulkScorer}); candidate generation and anything the bulk scorer cannot serve keep the
   * scorer.
   */
  @Override
  public BulkScorer bulkScorer(LeafReaderContext context) throws IOException {
    Scorer scorer = scorer(context);
    if (scorer instanceof SparseScorer sparse && SparseBulkScorer.supports(sparse.clauses())) {
      return new SparseBulkScorer(sparse.clauses(), query.getApproximation().heapFactor(), context.reader().maxDoc());
    }
    return scorer == null ? null : new DefaultBulkScorer(scorer);
  }

  @Override
  public boolean isCacheable(LeafReaderContext ctx) {
    return true;
  }

  @Override
  public Explanation explain(LeafReaderContext context, int doc) throws IOException {
    Explanation explanation = explainTerms(context, doc);
    SparseApproximation approximation = query.getApproximation();
    if (explanation.isMatch() && approximation.candidateTerms() > 0) {
      // whether the document was a candidate: ask the scorer itself, which selects them as any
      // search does (forward index or postings, candidatePostings or not)
      Scorer scorer = scorer(context);
      if (scorer instanceof SparseCandidateScorer && scorer.iterator().advance(doc) != doc) {
        return Explanation.noMatch(
            "not among the "
                + approximation.candidates()
                + " candidates that the "
                + approximation.candidateTerms()
                + " heaviest query terms generated in this segment"
                + (approximation.candidatePostings() > 0
                    ? " from their " + approximation.candidatePostings() + " heaviest postings"
                    : ""),
            explanation);
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
