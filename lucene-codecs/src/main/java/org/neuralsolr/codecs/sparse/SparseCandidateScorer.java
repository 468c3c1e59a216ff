package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.Bits;

/**
 * Approximate mode with candidate generation ({@link SparseApproximation#candidateTerms()}): the
 * heaviest query terms find candidates, all query terms score them.
 *
 * <p>Phase one, when the scorer is created: only the {@code candidateTerms} query terms with the
 * largest possible contribution (query weight times the term's largest weight in the segment) are
 * read, term at a time, to find the segment's {@code candidates} best documents by that partial
 * score. Phase two,
 * while iterating: each candidate, in doc-id order, gets its exact score over every query term
 * (the same sum, in the same order, as exact mode), unless its partial score plus the largest
 * possible contribution of the other terms cannot reach the collector's minimum competitive score.
 *
 * <p>Phase two reads each candidate's vector from the segment's forward index ({@link
 * SparseForwardIndex}) when the terms come straight from {@link SparsePostingsFormat}: advancing
 * every query term's postings to a few hundred scattered candidates decodes nearly every block of
 * every term, which costs as much as exact mode.
 *
 * <p>Scores are exact; what is approximate is which documents are scored: a document outside the
 * top {@code candidates} by partial score is never returned. This suits learned sparse vectors
 * whose weights are flat, where dropping query terms changes scores too much (recall 0.5 to 0.7
 * with half the terms on the bge-small projection) and block maxima prune little, but the
 * heaviest terms still tell relevant documents apart. Filters intersect the candidates, so a
 * selective filter can leave fewer than k hits: use exact mode, or more candidates, with those.
 */
final class SparseCandidateScorer extends Scorer {
  /** As in {@link SparseScorer}: rounding of double sums never prunes a competitive document. */
  private static final double MARGIN = 1 + 1e-9;

  private final SparseTermClause[] clauses; // every query term of the segment, in ord order
  private final ForwardScorer forward; // null: score from the postings
  private final int[] docs; // candidates, ascending
  private final float[] partials; // their partial scores over the generating terms
  private final double othersBound; // largest possible contribution of the other terms
  private final double maxScore;
  private final float pruneFactor;
  private float pruneScore;
  private int index = -1;
  private int doc = -1;
  private float score;

  private SparseCandidateScorer(
      Weight weight,
      SparseTermClause[] clauses,
      ForwardScorer forward,
      int[] docs,
      float[] partials,
      double othersBound,
      double maxScore,
      float heapFactor) {
    super(weight);
    this.clauses = clauses;
    this.forward = forward;
    this.docs = docs;
    this.partials = partials;
    this.othersBound = othersBound;
    this.maxScore = maxScore * MARGIN;
    this.pruneFactor = 1f / heapFactor;
  }

  /**
   * Runs phase one and returns the scorer of phase two.
   *
   * @param generators fresh clauses of the generating terms, in query order
   * @param all clauses of every query term of the segment, in ord order, to score candidates from
   *     the postings; null when {@code forward} scores them
   * @param forward scores candidates from the forward index; null to score from {@code all}
   * @param othersBound largest possible contribution of the query terms that don't generate
   * @param maxScore largest possible score
   */
  static SparseCandidateScorer create(
      Weight weight,
      List<SparseTermClause> generators,
      List<SparseTermClause> all,
      ForwardScorer forward,
      double othersBound,
      double maxScore,
      int candidates,
      float heapFactor,
      int maxDoc,
      Bits liveDocs)
      throws IOException {
    Candidates c = select(generators, candidates, maxDoc, liveDocs);
    return new SparseCandidateScorer(
        weight,
        all == null ? null : all.toArray(new SparseTermClause[0]),
        forward,
        c.docs,
        c.partials,
        othersBound,
        maxScore,
        heapFactor);
  }

  /**
   * Phase one from the impact-ordered lists ({@link SparseApproximation#candidatePostings()}):
   * each generating term adds its {@code limit} heaviest postings to the partial sums of their
   * documents. Postings come in weight order, so sums are kept in a hash table sized by the
   * postings read, not by the segment.
   *
   * @param residual receives, per generating term, the bound of its postings that were not read
   * @return the candidates, or null when no posting was read
   */
  static Candidates selectFromHeaviest(
      ForwardScorer forward, boolean[] generating, int limit, int candidates, Bits liveDocs, double[] residual)
      throws IOException {
    SparseForwardIndex.Reader reader = forward.reader;
    int[] docFreqs = new int[generating.length];
    int total = 0;
    for (int j = 0; j < generating.length; j++) {
      if (generating[j]) {
        docFreqs[j] = reader.docFreq(forward.ords[j]);
        total += Math.min(limit, docFreqs[j]);
      }
    }
    int capacity = Integer.highestOneBit(Math.max(1, total) * 2 - 1) << 1;
    int mask = capacity - 1;
    int shift = 32 - Integer.numberOfTrailingZeros(capacity); // Fibonacci hashing: the high bits
    int[] keys = new int[capacity]; // doc + 1, 0 for a free slot
    double[] sums = new double[capacity];
    int[] slots = new int[total]; // in order of first touch
    int numSlots = 0;
    int[] docs = new int[Math.min(limit, 1 << 16)];
    int[] freqs = new int[docs.length];
    for (int j = 0; j < generating.length; j++) {
      if (generating[j] == false) {
        continue;
      }
      int ord = forward.ords[j];
      int n = Math.min(limit, docFreqs[j]);
      if (docs.length < n) {
        docs = new int[n];
        freqs = new int[n];
      }
      reader.heaviest(ord, n, docs, freqs);
      double w = forward.weights[j];
      for (int i = 0; i < n && freqs[i] >= forward.cutoffs[j]; i++) {
        int key = docs[i] + 1;
        int slot = capacity == 1 ? 0 : (key * 0x9E3779B9) >>> shift;
        while (keys[slot] != 0 && keys[slot] != key) {
          slot = (slot + 1) & mask;
        }
        if (keys[slot] == 0) {
          keys[slot] = key;
          slots[numSlots++] = slot;
        }
        sums[slot] += w * SparseWeights.decode(freqs[i]);
      }
      if (docFreqs[j] > n) {
        residual[j] = w * SparseWeights.upperBound(reader.freqAtRank(ord, n));
      }
    }
    int[] heapDocs = new int[Math.min(candidates, Math.max(1, numSlots))];
    float[] heapScores = new float[heapDocs.length];
    int size = 0;
    for (int t = 0; t < numSlots; t++) {
      int d = keys[slots[t]] - 1;
      float s = (float) sums[slots[t]];
      if (liveDocs != null && liveDocs.get(d) == false) {
        continue;
      }
      if (size < heapDocs.length) {
        heapDocs[size] = d;
        heapScores[size] = s;
        siftUp(heapDocs, heapScores, size++);
      } else if (s > heapScores[0] || (s == heapScores[0] && d < heapDocs[0])) {
        heapDocs[0] = d;
        heapScores[0] = s;
        siftDown(heapDocs, heapScores, size);
      }
    }
    return byDoc(heapDocs, heapScores, size);
  }

  /** Phase two over candidates that {@link #selectFromHeaviest} found. */
  static SparseCandidateScorer create(
      Weight weight, Candidates c, ForwardScorer forward, double othersBound, double maxScore, float heapFactor) {
    return new SparseCandidateScorer(weight, null, forward, c.docs, c.partials, othersBound, maxScore, heapFactor);
  }

  /** Every query term of a segment against its forward index: term ords, weights and cut-offs. */
  static final class ForwardScorer {
    private final SparseForwardIndex.Reader reader;
    private final int[] ords;
    private final long[] ordBits;
    private final float[] weights;
    private final int[] cutoffs;

    ForwardScorer(SparseForwardIndex.Reader reader, int[] ords, float[] weights, int[] cutoffs) {
      this.reader = reader;
      this.ords = ords;
      this.ordBits = SparseForwardIndex.Reader.bits(ords);
      this.weights = weights;
      this.cutoffs = cutoffs;
    }

    float score(int doc) throws IOException {
      return (float) reader.dot(doc, ords, ordBits, weights, cutoffs);
    }
  }

  /** A segment's candidates in doc-id order, with their partial scores. */
  static final class Candidates {
    final int[] docs;
    final float[] partials;

    Candidates(int[] docs, float[] partials) {
      this.docs = docs;
      this.partials = partials;
    }

    boolean contains(int doc) {
      return Arrays.binarySearch(docs, doc) >= 0;
    }
  }

  /** Documents whose partial scores phase one accumulates at a time (Lucene's MaxScore window). */
  private static final int WINDOW = 1 << 16;

  /**
   * Phase one: the top {@code candidates} live documents by the generating terms' partial score,
   * ties to the lower doc id. Term at a time over windows of doc ids: each generating term adds its
   * contributions to an accumulator, in query order and in double precision, so a partial score is
   * exactly what exact mode would sum for those terms; no heap of postings is kept, which is what
   * makes candidate generation cheaper than scoring.
   *
   * @param generators fresh clauses of the generating terms, in query order
   * @param liveDocs the segment's live documents, or null when none is deleted
   */
  static Candidates select(List<SparseTermClause> generators, int candidates, int maxDoc, Bits liveDocs)
      throws IOException {
    // a segment has no more candidates than documents: the user's param must not size the heap
    candidates = Math.min(candidates, Math.max(1, maxDoc));
    int[] heapDocs = new int[candidates]; // a min-heap of the best so far: the worst on top
    float[] heapScores = new float[candidates];
    int size = 0;
    double[] sums = new double[Math.min(WINDOW, Math.max(1, maxDoc))];
    // a contribution may be 0 (a zero boost), so a zero sum cannot mean "not touched yet"
    long[] seen = new long[(sums.length + 63) >>> 6];
    int[] touched = new int[sums.length];
    for (SparseTermClause c : generators) {
      c.nextDoc();
    }
    for (int base = 0; base < maxDoc; base += sums.length) {
      int end = base + sums.length;
      int numTouched = 0;
      for (SparseTermClause c : generators) {
        while (c.doc < end) {
          int i = c.doc - base;
          long bit = 1L << i; // Java masks the shift to i & 63
          if ((seen[i >>> 6] & bit) == 0) {
            seen[i >>> 6] |= bit;
            touched[numTouched++] = i;
          }
          sums[i] += c.contribution();
          c.nextDoc();
        }
      }
      for (int t = 0; t < numTouched; t++) {
        int i = touched[t];
        int d = base + i;
        float s = (float) sums[i];
        sums[i] = 0;
        seen[i >>> 6] = 0; // accumulation of the window is over: its other docs are already listed
        if (liveDocs != null && liveDocs.get(d) == false) {
          continue; // a deleted document must not take a candidate's place
        }
        if (size < candidates) {
          heapDocs[size] = d;
          heapScores[size] = s;
          siftUp(heapDocs, heapScores, size++);
        } else if (s > heapScores[0] || (s == heapScores[0] && d < heapDocs[0])) {
          heapDocs[0] = d;
          heapScores[0] = s;
          siftDown(heapDocs, heapScores, size);
        }
      }
    }
    return byDoc(heapDocs, heapScores, size);
  }

  /** The heap's documents in doc-id order, for phase two. */
  private static Candidates byDoc(int[] heapDocs, float[] heapScores, int size) {
    long[] byDoc = new long[size];
    for (int i = 0; i < size; i++) {
      byDoc[i] = ((long) heapDocs[i] << 32) | i;
    }
    Arrays.sort(byDoc);
    int[] docs = new int[size];
    float[] partials = new float[size];
    for (int i = 0; i < size; i++) {
      docs[i] = (int) (byDoc[i] >>> 32);
      partials[i] = heapScores[(int) byDoc[i]];
    }
    return new Candidates(docs, partials);
  }

  private static boolean worse(int[] docs, float[] scores, int a, int b) {
    return scores[a] < scores[b] || (scores[a] == scores[b] && docs[a] > docs[b]);
  }

  private static void swap(int[] docs, float[] scores, int a, int b) {
    int d = docs[a];
    docs[a] = docs[b];
    docs[b] = d;
    float s = scores[a];
    scores[a] = scores[b];
    scores[b] = s;
  }

  private static void siftUp(int[] docs, float[] scores, int i) {
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (worse(docs, scores, parent, i)) {
        return;
      }
      swap(docs, scores, parent, i);
      i = parent;
    }
  }

  private static void siftDown(int[] docs, float[] scores, int size) {
    int i = 0;
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        return;
      }
      if (child + 1 < size && worse(docs, scores, child + 1, child)) {
        child++;
      }
      if (worse(docs, scores, i, child)) {
        return;
      }
      swap(docs, scores, i, child);
      i = child;
    }
  }

  @Override
  public int docID() {
    return doc;
  }

  @Override
  public float score() {
    return score;
  }

  @Override
  public void setMinCompetitiveScore(float minScore) {
    pruneScore = Math.max(pruneScore, minScore * pruneFactor);
  }

  @Override
  public int advanceShallow(int target) {
    return DocIdSetIterator.NO_MORE_DOCS;
  }

  @Override
  public float getMaxScore(int upTo) {
    return (float) maxScore;
  }

  @Override
  public DocIdSetIterator iterator() {
    return new DocIdSetIterator() {
      @Override
      public int docID() {
        return doc;
      }

      @Override
      public int nextDoc() throws IOException {
        return advance(doc + 1);
      }

      @Override
      public int advance(int target) throws IOException {
        int i = index + 1;
        if (i < docs.length && docs[i] < target) {
          i = Arrays.binarySearch(docs, i, docs.length, target);
          i = i >= 0 ? i : -1 - i;
        }
        for (; i < docs.length; i++) {
          if ((float) ((partials[i] + othersBound) * MARGIN) < pruneScore) {
            continue; // cannot compete, whatever the other terms hold
          }
          index = i;
          doc = docs[i];
          score = exactScore(doc);
          return doc;
        }
        index = docs.length;
        return doc = NO_MORE_DOCS;
      }

      @Override
      public long cost() {
        return docs.length;
      }
    };
  }

  /** The sum over every query term, in ord order: what exact mode computes for {@code doc}. */
  private float exactScore(int doc) throws IOException {
    if (forward != null) {
      return forward.score(doc);
    }
    double sum = 0;
    for (SparseTermClause c : clauses) {
      if (c.doc < doc) {
        c.advance(doc);
      }
      if (c.doc == doc) {
        sum += c.contribution();
      }
    }
    return (float) sum;
  }
}
