package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.Impact;
import org.apache.lucene.index.Impacts;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.search.DocIdSetIterator;

/**
 * One query term of a {@link SparseScorer} in one segment: its postings with their impacts, its
 * query weight, and (approximate mode) the code below which its postings are ignored.
 */
final class SparseTermClause {

  /** Position of the term in the query's sorted terms: scores are summed in this order. */
  final int ord;

  final float queryWeight;
  final ImpactsEnum postings;

  /** Postings with a smaller frequency are ignored; at most 1 means none is. */
  final int cutoff;

  /** Upper bound of the clause's contribution to any document of the segment. */
  final double termMaxScore;

  /** Cached {@code postings.docID()}. */
  int doc = -1;

  /** Last doc of the block known to hold a posting at or above the cut-off. */
  private int checkedUpTo = -1;

  /** Upper bound of the contribution inside the scorer's current window. */
  double windowMaxScore;

  SparseTermClause(int ord, float queryWeight, ImpactsEnum postings, float postingWeightFraction)
      throws IOException {
    this.ord = ord;
    this.queryWeight = queryWeight;
    this.postings = postings;
    int termMaxFreq = termMaxFreq(postings);
    this.termMaxScore = queryWeight * SparseWeights.upperBound(termMaxFreq);
    this.cutoff = cutoff(termMaxFreq, postingWeightFraction);
  }

  /** The largest frequency of the term, or {@code Integer.MAX_VALUE} if the impacts don't say. */
  static int termMaxFreq(ImpactsEnum postings) throws IOException {
    if (postings.docID() == -1) {
      postings.advanceShallow(0); // impacts may only be read once positioned
    }
    Impacts impacts = postings.getImpacts();
    int top = impacts.numLevels() - 1;
    if (impacts.getDocIdUpTo(top) == DocIdSetIterator.NO_MORE_DOCS) {
      return maxFreq(impacts, top);
    }
    return Integer.MAX_VALUE;
  }

  static int cutoff(int termMaxFreq, float postingWeightFraction) {
    if (postingWeightFraction <= 0f || termMaxFreq > SparseWeights.MAX_CODE) {
      return 0;
    }
    return SparseWeights.encode(postingWeightFraction * SparseWeights.decode(termMaxFreq));
  }

  static int maxFreq(Impacts impacts, int level) {
    List<Impact> list = impacts.getImpacts(level);
    return list.get(list.size() - 1).freq;
  }

  /** Contribution of the current posting. */
  double contribution() throws IOException {
    return (double) queryWeight * SparseWeights.decode(postings.freq());
  }

  int nextDoc() throws IOException {
    if (cutoff <= 1) {
      return doc = postings.nextDoc();
    }
    return doc = advanceAboveCutoff(doc + 1);
  }

  int advance(int target) throws IOException {
    if (cutoff <= 1) {
      return doc = postings.advance(target);
    }
    return doc = advanceAboveCutoff(target);
  }

  /** Next posting at or after target whose frequency reaches the cut-off, skipping blocks. */
  private int advanceAboveCutoff(int target) throws IOException {
    while (target != DocIdSetIterator.NO_MORE_DOCS) {
      if (target > checkedUpTo) {
        // entering a block whose maximum was not looked at yet
        postings.advanceShallow(target);
        Impacts impacts = postings.getImpacts();
        int upTo = impacts.getDocIdUpTo(0);
        if (maxFreq(impacts, 0) < cutoff) {
          if (upTo == DocIdSetIterator.NO_MORE_DOCS) {
            break;
          }
          target = upTo + 1;
          continue;
        }
        checkedUpTo = upTo;
      }
      int d = postings.advance(target);
      if (d == DocIdSetIterator.NO_MORE_DOCS || postings.freq() >= cutoff) {
        return d;
      }
      target = d + 1;
    }
    return DocIdSetIterator.NO_MORE_DOCS;
  }

  /**
   * Upper bound of the contribution to docs in {@code [max(doc, last shallow target), upTo]}, from
   * the smallest impacts level that covers {@code upTo}.
   */
  double maxScore(int upTo) throws IOException {
    Impacts impacts = postings.getImpacts();
    for (int level = 0; level < impacts.numLevels(); level++) {
      if (impacts.getDocIdUpTo(level) >= upTo) {
        int maxFreq = maxFreq(impacts, level);
        if (maxFreq < cutoff) {
          return 0;
        }
        return queryWeight * SparseWeights.upperBound(maxFreq);
      }
    }
    return termMaxScore;
  }
}
