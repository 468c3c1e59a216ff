package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * Block-max MaxScore over the terms of a {@link SparseQuery}, document at a time.
 *
 * <p>Doc ids are processed in windows that end at the first block boundary of any term (from the
 * impacts). In each window every term gets an upper bound of its contribution from its block
 * maxima; terms sorted by that bound are split into a prefix of <em>non-essential</em> terms whose
 * bounds together cannot reach the minimum competitive score and the <em>essential</em> rest. Only
 * documents of essential terms are candidates (a heap on doc id); non-essential terms are advanced
 * to a candidate only while the candidate's partial score plus their remaining bounds can still
 * compete. A window whose total bound cannot compete is skipped without decoding anything.
 *
 * <p>Pruning compares upper bounds computed in double with a small safety margin against the
 * float threshold, so rounding never prunes a document whose float score would compete. The score
 * of a document that survives is recomputed in a fixed order (the query's term order), so it does
 * not depend on which terms were essential when it was found: the scorer returns exactly the
 * scores an exhaustive evaluation gives. In approximate mode the pruning threshold is the minimum
 * competitive score divided by the heap factor.
 */
final class SparseScorer extends Scorer {

  /** Covers the rounding of double sums of up to 2^15 positive terms, with room to spare. */
  private static final double MARGIN = 1 + 1e-9;

  private final SparseTermClause[] clauses; // in ord order
  private final SparseTermClause[] sorted; // by window max score, ascending
  private final double[] prefix; // prefix sums of sorted window max scores
  private final SparseTermClause[] heap; // essential clauses by doc
  private int heapSize;
  private final SparseTermClause[] matched; // clauses on the candidate
  private int numMatched;
  private final SparseTermClause[] popped; // essential clauses taken off the heap for the candidate
  private final float pruneFactor;
  private final long cost;

  private float minCompetitiveScore;
  private float pruneScore;
  private int numNonEssential;
  private int windowMax = -1;
  private boolean partitionStale = true;

  private int doc = -1;
  private float score;

  SparseScorer(Weight weight, List<SparseTermClause> clauseList, float heapFactor) {
    super(weight);
    this.clauses = clauseList.toArray(new SparseTermClause[0]);
    this.sorted = clauses.clone();
    this.prefix = new double[clauses.length + 1];
    this.heap = new SparseTermClause[clauses.length];
    this.matched = new SparseTermClause[clauses.length];
    this.popped = new SparseTermClause[clauses.length];
    this.pruneFactor = 1f / heapFactor;
    long c = 0;
    for (SparseTermClause clause : clauses) {
      c += clause.postings.cost();
    }
    this.cost = c;
  }

  /** The clauses, in ord order, none advanced yet until this scorer is used. */
  List<SparseTermClause> clauses() {
    return List.of(clauses);
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
  public DocIdSetIterator iterator() {
    return new DocIdSetIterator() {
      @Override
      public int docID() {
        return doc;
      }

      @Override
      public int nextDoc() throws IOException {
        return doc = nextCompetitive(doc + 1);
      }

      @Override
      public int advance(int target) throws IOException {
        return doc = nextCompetitive(target);
      }

      @Override
      public long cost() {
        return cost;
      }
    };
  }

  @Override
  public void setMinCompetitiveScore(float minScore) {
    if (minScore > minCompetitiveScore) {
      minCompetitiveScore = minScore;
      pruneScore = minScore * pruneFactor;
      partitionStale = true;
    }
  }

  @Override
  public int advanceShallow(int target) throws IOException {
    int upTo = DocIdSetIterator.NO_MORE_DOCS;
    for (SparseTermClause c : clauses) {
      if (c.doc == DocIdSetIterator.NO_MORE_DOCS) {
        continue;
      }
      if (c.doc < target) {
        c.postings.advanceShallow(target);
      }
      upTo = Math.min(upTo, c.postings.getImpacts().getDocIdUpTo(0));
    }
    return upTo;
  }

  @Override
  public float getMaxScore(int upTo) throws IOException {
    double sum = 0;
    for (SparseTermClause c : clauses) {
      if (c.doc <= upTo) {
        sum += c.maxScore(upTo);
      }
    }
    return (float) (sum * MARGIN);
  }

  private boolean competitive(double bound) {
    return (float) (bound * MARGIN) >= pruneScore;
  }

  /** The first doc at or after target whose score reaches the minimum competitive score. */
  private int nextCompetitive(int target) throws IOException {
    while (true) {
      if (target > windowMax) {
        moveWindow(target);
        partitionStale = true;
      }
      if (partitionStale && partition() == false) {
        if (windowMax == DocIdSetIterator.NO_MORE_DOCS) {
          return DocIdSetIterator.NO_MORE_DOCS;
        }
        target = windowMax + 1;
        continue;
      }
      SparseTermClause top = heap[0];
      while (top.doc < target) {
        top.advance(target);
        top = updateTop();
      }
      int candidate = top.doc;
      if (candidate > windowMax || candidate == DocIdSetIterator.NO_MORE_DOCS) {
        if (windowMax == DocIdSetIterator.NO_MORE_DOCS) {
          return DocIdSetIterator.NO_MORE_DOCS;
        }
        // a non-essential term may become essential in the next window
        target = windowMax + 1;
        continue;
      }

      numMatched = 0;
      double partial = 0;
      int numPopped = 0;
      while (heapSize > 0 && heap[0].doc == candidate) {
        SparseTermClause c = pop();
        popped[numPopped++] = c;
        matched[numMatched++] = c;
        partial += c.contribution();
      }
      boolean competitive = true;
      for (int i = numNonEssential - 1; i >= 0; i--) {
        if (competitive(partial + prefix[i + 1]) == false) {
          competitive = false;
          break;
        }
        SparseTermClause c = sorted[i];
        if (c.doc < candidate) {
          c.advance(candidate);
        }
        if (c.doc == candidate) {
          matched[numMatched++] = c;
          partial += c.contribution();
        }
      }
      float s = 0;
      if (competitive && competitive(partial)) {
        s = canonicalScore();
      } else {
        competitive = false;
      }
      for (int i = 0; i < numPopped; i++) {
        SparseTermClause c = popped[i];
        c.nextDoc();
        add(c);
      }
      if (competitive && s >= minCompetitiveScore) {
        score = s;
        return candidate;
      }
      target = candidate + 1;
    }
  }

  /** Starts a window at target and computes each clause's bound inside it. */
  private void moveWindow(int target) throws IOException {
    int upTo = DocIdSetIterator.NO_MORE_DOCS;
    for (SparseTermClause c : clauses) {
      if (c.doc == DocIdSetIterator.NO_MORE_DOCS) {
        continue;
      }
      if (c.doc < target) {
        c.postings.advanceShallow(target);
      }
      upTo = Math.min(upTo, c.postings.getImpacts().getDocIdUpTo(0));
    }
    windowMax = upTo;
    for (SparseTermClause c : clauses) {
      c.windowMaxScore = c.doc > windowMax ? 0 : c.maxScore(windowMax);
    }
  }

  /**
   * Splits clauses into non-essential and essential ones for the current window and threshold.
   * Returns false if no document of the window can compete.
   */
  private boolean partition() {
    partitionStale = false;
    for (int i = 1; i < sorted.length; i++) {
      SparseTermClause c = sorted[i];
      int j = i - 1;
      while (j >= 0 && sorted[j].windowMaxScore > c.windowMaxScore) {
        sorted[j + 1] = sorted[j];
        j--;
      }
      sorted[j + 1] = c;
    }
    for (int i = 0; i < sorted.length; i++) {
      prefix[i + 1] = prefix[i] + sorted[i].windowMaxScore;
    }
    heapSize = 0;
    if (competitive(prefix[sorted.length]) == false) {
      return false;
    }
    int k = 0;
    while (competitive(prefix[k + 1]) == false) {
      k++;
    }
    numNonEssential = k;
    for (int i = k; i < sorted.length; i++) {
      add(sorted[i]);
    }
    return true;
  }

  /** Sums contributions in the query's term order, so scores don't depend on pruning. */
  private float canonicalScore() throws IOException {
    for (int i = 1; i < numMatched; i++) {
      SparseTermClause c = matched[i];
      int j = i - 1;
      while (j >= 0 && matched[j].ord > c.ord) {
        matched[j + 1] = matched[j];
        j--;
      }
      matched[j + 1] = c;
    }
    double sum = 0;
    for (int i = 0; i < numMatched; i++) {
      sum += matched[i].contribution();
    }
    return (float) sum;
  }

  // ---- binary min-heap of essential clauses on doc

  private void add(SparseTermClause c) {
    int i = heapSize++;
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (heap[parent].doc <= c.doc) {
        break;
      }
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = c;
  }

  private SparseTermClause pop() {
    SparseTermClause top = heap[0];
    heapSize--;
    if (heapSize > 0) {
      heap[0] = heap[heapSize];
      siftDown();
    }
    heap[heapSize] = null;
    return top;
  }

  private SparseTermClause updateTop() {
    siftDown();
    return heap[0];
  }

  private void siftDown() {
    SparseTermClause c = heap[0];
    int i = 0;
    while (true) {
      int child = 2 * i + 1;
      if (child >= heapSize) {
        break;
      }
      if (child + 1 < heapSize && heap[child + 1].doc < heap[child].doc) {
        child++;
      }
      if (heap[child].doc >= c.doc) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = c;
  }
}
