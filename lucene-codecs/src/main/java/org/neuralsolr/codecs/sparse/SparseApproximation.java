package org.neuralsolr.codecs.sparse;

import java.util.Objects;

/**
 * Knobs of the approximate mode of {@link SparseQuery}. {@link #DEFAULT} targets a recall@10 of at
 * least 0.98 of the exact top 10; {@link #EXACT} turns every knob off and gives exact results.
 *
 * <p>The defaults were chosen with {@code SparseBench} (lucene-codecs tests, package {@code
 * bench}) on synthetic Zipf data and on BM25 impacts of SciFact: only query-term pruning kept a
 * recall@10 of at least 0.98 on both (0.995 to 1.0) while saving time. The posting cut-off and the
 * heap factor are off by default: on doc-id blocks they lost more recall than they saved time
 * (heap factor 0.9: recall 0.90 to 0.91 for a speed-up of about 1.05; posting fraction 0.05:
 * recall 0.95 on synthetic data). They are there for collections where they pay, and to be
 * measured again on real learned sparse vectors.
 *
 * <ul>
 *   <li>{@code maxQueryTerms} (query-term pruning): only the {@code maxQueryTerms} query terms with
 *       the largest weights are kept. Default {@value #DEFAULT_MAX_QUERY_TERMS}.
 *   <li>{@code queryWeightFraction} (query-term pruning): query terms whose weight is below this
 *       fraction of the largest query weight are dropped. Default {@value
 *       #DEFAULT_QUERY_WEIGHT_FRACTION}.
 *   <li>{@code postingWeightFraction} (static posting pruning, applied at query time): a posting
 *       whose weight is below this fraction of its term's largest weight in the segment is ignored;
 *       whole blocks whose maximum is below the cut-off are skipped without being decoded, so this
 *       keeps only each posting list's top postings by weight. Default {@value
 *       #DEFAULT_POSTING_WEIGHT_FRACTION}.
 *   <li>{@code heapFactor} (block summaries, in the spirit of SEISMIC): a block of documents is
 *       evaluated only if the dot product of the query with the block's summary (the per-term
 *       block maxima, an upper bound of any document's score in the block) reaches the current
 *       k-th score divided by {@code heapFactor}; likewise a document is fully scored only if its
 *       upper bound does. 1 is exact; smaller values skip more. Default {@value
 *       #DEFAULT_HEAP_FACTOR}.
 *   <li>{@code candidateTerms} and {@code candidates} (candidate generation, see {@code
 *       SparseCandidateScorer}): in each segment the {@code candidateTerms} query terms with the
 *       largest possible contribution (query weight times the term's largest stored weight) find
 *       the {@code candidates} best documents by their partial score; every query term then scores
 *       those exactly. Scores are exact, the approximation is which documents are scored. Off
 *       ({@code candidateTerms} 0) by default; {@code candidates} defaults to {@value
 *       #DEFAULT_CANDIDATES}.
 *   <li>{@code candidatePostings} (static pruning of posting lists, as SEISMIC's first step): with
 *       candidate generation on a {@link SparsePostingsFormat} segment, only each generating
 *       term's {@code candidatePostings} heaviest postings (a prefix of its impact-ordered list
 *       in the forward index) add to the partial scores, so that every query term may generate
 *       ({@code candidateTerms} may reach the number of query terms) at a bounded cost.
 *       Candidates are still scored exactly, from the forward index. 0 (all postings) by default.
 * </ul>
 *
 * <p>Unlike SEISMIC, blocks are ranges of doc ids rather than clusters of similar documents:
 * Lucene postings are in doc-id order, so a block's summary is looser than a cluster's, and the
 * heap factor buys less than in SEISMIC.
 */
public final class SparseApproximation {

  public static final int DEFAULT_MAX_QUERY_TERMS = 32;
  public static final float DEFAULT_QUERY_WEIGHT_FRACTION = 0.05f;
  public static final float DEFAULT_POSTING_WEIGHT_FRACTION = 0f;
  public static final float DEFAULT_HEAP_FACTOR = 1f;
  public static final int DEFAULT_CANDIDATE_TERMS = 0;
  public static final int DEFAULT_CANDIDATES = 200;

  /** The defaults. */
  public static final SparseApproximation DEFAULT =
      new SparseApproximation(
          DEFAULT_MAX_QUERY_TERMS,
          DEFAULT_QUERY_WEIGHT_FRACTION,
          DEFAULT_POSTING_WEIGHT_FRACTION,
          DEFAULT_HEAP_FACTOR,
          DEFAULT_CANDIDATE_TERMS,
          DEFAULT_CANDIDATES);

  /** No approximation at all. */
  public static final SparseApproximation EXACT =
      new SparseApproximation(Integer.MAX_VALUE, 0f, 0f, 1f, 0, DEFAULT_CANDIDATES);

  private final int maxQueryTerms;
  private final float queryWeightFraction;
  private final float postingWeightFraction;
  private final float heapFactor;
  private final int candidateTerms;
  private final int candidates;
  private final int candidatePostings;

  /**
   * @param maxQueryTerms at least 1
   * @param queryWeightFraction in [0, 1]
   * @param postingWeightFraction in [0, 1]
   * @param heapFactor in (0, 1]
   */
  public SparseApproximation(
      int maxQueryTerms, float queryWeightFraction, float postingWeightFraction, float heapFactor) {
    this(maxQueryTerms, queryWeightFraction, postingWeightFraction, heapFactor, 0, DEFAULT_CANDIDATES);
  }

  /**
   * @param maxQueryTerms at least 1
   * @param queryWeightFraction in [0, 1]
   * @param postingWeightFraction in [0, 1]
   * @param heapFactor in (0, 1]
   * @param candidateTerms 0 (off) or at least 1
   * @param candidates at least 1
   */
  public SparseApproximation(
      int maxQueryTerms,
      float queryWeightFraction,
      float postingWeightFraction,
      float heapFactor,
      int candidateTerms,
      int candidates) {
    this(maxQueryTerms, queryWeightFraction, postingWeightFraction, heapFactor, candidateTerms, candidates, 0);
  }

  private SparseApproximation(
      int maxQueryTerms,
      float queryWeightFraction,
      float postingWeightFraction,
      float heapFactor,
      int candidateTerms,
      int candidates,
      int candidatePostings) {
    if (candidatePostings < 0) {
      throw new IllegalArgumentException("candidatePostings must be >= 0, got " + candidatePostings);
    }
    this.candidatePostings = candidatePostings;
    if (candidateTerms < 0) {
      throw new IllegalArgumentException("candidateTerms must be >= 0, got " + candidateTerms);
    }
    if (candidates < 1) {
      throw new IllegalArgumentException("candidates must be >= 1, got " + candidates);
    }
    if (maxQueryTerms < 1) {
      throw new IllegalArgumentException("maxQueryTerms must be >= 1, got " + maxQueryTerms);
    }
    if (!(queryWeightFraction >= 0f && queryWeightFraction <= 1f)) {
      throw new IllegalArgumentException(
          "queryWeightFraction must be in [0, 1], got " + queryWeightFraction);
    }
    if (!(postingWeightFraction >= 0f && postingWeightFraction <= 1f)) {
      throw new IllegalArgumentException(
          "postingWeightFraction must be in [0, 1], got " + postingWeightFraction);
    }
    if (!(heapFactor > 0f && heapFactor <= 1f)) {
      throw new IllegalArgumentException("heapFactor must be in (0, 1], got " + heapFactor);
    }
    this.maxQueryTerms = maxQueryTerms;
    this.queryWeightFraction = queryWeightFraction;
    this.postingWeightFraction = postingWeightFraction;
    this.heapFactor = heapFactor;
    this.candidateTerms = candidateTerms;
    this.candidates = candidates;
  }

  public int maxQueryTerms() {
    return maxQueryTerms;
  }

  public float queryWeightFraction() {
    return queryWeightFraction;
  }

  public float postingWeightFraction() {
    return postingWeightFraction;
  }

  public float heapFactor() {
    return heapFactor;
  }

  /** Candidate generation: how many query terms generate candidates; 0 when off. */
  public int candidateTerms() {
    return candidateTerms;
  }

  /** Candidate generation: how many candidates a segment keeps. */
  public int candidates() {
    return candidates;
  }

  /** True if these knobs change nothing. */
  public boolean isExact() {
    return maxQueryTerms == Integer.MAX_VALUE
        && queryWeightFraction == 0f
        && postingWeightFraction == 0f
        && heapFactor == 1f
        && candidateTerms == 0;
  }

  /** Returns a copy with another {@code maxQueryTerms}. */
  public SparseApproximation withMaxQueryTerms(int value) {
    return new SparseApproximation(
        value, queryWeightFraction, postingWeightFraction, heapFactor, candidateTerms, candidates, candidatePostings);
  }

  /** Returns a copy with another {@code queryWeightFraction}. */
  public SparseApproximation withQueryWeightFraction(float value) {
    return new SparseApproximation(
        maxQueryTerms, value, postingWeightFraction, heapFactor, candidateTerms, candidates, candidatePostings);
  }

  /** Returns a copy with another {@code postingWeightFraction}. */
  public SparseApproximation withPostingWeightFraction(float value) {
    return new SparseApproximation(
        maxQueryTerms, queryWeightFraction, value, heapFactor, candidateTerms, candidates, candidatePostings);
  }

  /** Returns a copy with another {@code heapFactor}. */
  public SparseApproximation withHeapFactor(float value) {
    return new SparseApproximation(
        maxQueryTerms, queryWeightFraction, postingWeightFraction, value, candidateTerms, candidates, candidatePostings);
  }

  /** Returns a copy with another {@code candidateTerms} (0 turns candidate generation off). */
  public SparseApproximation withCandidateTerms(int value) {
    return new SparseApproximation(
        maxQueryTerms, queryWeightFraction, postingWeightFraction, heapFactor, value, candidates, candidatePostings);
  }

  /**
   * Candidate generation from each generating term's {@code candidatePostings} heaviest postings
   * (SEISMIC's static pruning); 0 reads all of them.
   */
  public int candidatePostings() {
    return candidatePostings;
  }

  /** Returns a copy with another {@code candidatePostings} (0: every posting generates). */
  public SparseApproximation withCandidatePostings(int value) {
    return new SparseApproximation(
        maxQueryTerms, queryWeightFraction, postingWeightFraction, heapFactor, candidateTerms, candidates, value);
  }

  /** Returns a copy with another {@code candidates}. */
  public SparseApproximation withCandidates(int value) {
    return new SparseApproximation(
        maxQueryTerms, queryWeightFraction, postingWeightFraction, heapFactor, candidateTerms, value, candidatePostings);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SparseApproximation)) {
      return false;
    }
    SparseApproximation other = (SparseApproximation) o;
    return maxQueryTerms == other.maxQueryTerms
        && Float.compare(queryWeightFraction, other.queryWeightFraction) == 0
        && Float.compare(postingWeightFraction, other.postingWeightFraction) == 0
        && Float.compare(heapFactor, other.heapFactor) == 0
        && candidateTerms == other.candidateTerms
        && (candidateTerms == 0 || (candidates == other.candidates && candidatePostings == other.candidatePostings));
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        maxQueryTerms,
        queryWeightFraction,
        postingWeightFraction,
        heapFactor,
        candidateTerms,
        candidateTerms == 0 ? 0 : candidates,
        candidateTerms == 0 ? 0 : candidatePostings);
  }

  @Override
  public String toString() {
    return "approx(maxQueryTerms="
        + maxQueryTerms
        + ",queryWeightFraction="
        + queryWeightFraction
        + ",postingWeightFraction="
        + postingWeightFraction
        + ",heapFactor="
        + heapFactor
        + (candidateTerms == 0
            ? ""
            : ",candidateTerms=" + candidateTerms + ",candidates=" + candidates
                + (candidatePostings == 0 ? "" : ",candidatePostings=" + candidatePostings))
        + ")";
  }
}
