package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.search.BulkScorer;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.LeafCollector;
import org.apache.lucene.search.Scorable;
import org.apache.lucene.util.Bits;

/**
 * Block-max MaxScore over windows of doc ids, term at a time: what a top-k search of a {@link
 * SparseQuery} runs when it is the whole query (a {@link SparseScorer} serves the rest: filters,
 * conjunctions, {@code advance}).
 *
 * <p>Learned sparse vectors have flat weights and queries of tens of terms, so every term's
 * postings cross every window and a document-at-a-time heap over them (the {@link SparseScorer})
 * spends most of its time keeping that heap in order. Here each window of {@value #WINDOW} doc ids
 * gets each term's bound from its impacts; the terms whose bounds together cannot reach the
 * minimum competitive score are non-essential, as in {@link SparseScorer}; the essential terms
 * are read term at a time, each posting adding to its document's partial score and recording its
 * code, with no heap. Documents are then visited in doc-id order: those whose partial score plus
 * the non-essential bounds can compete advance the non-essential terms to them, and a document
 * that can still compete gets its score summed in the query's term order from the recorded codes,
 * exactly as the other scorers sum it, so the top k and their scores are the exhaustive ones.
 *
 * <p>Used for up to {@value #MAX_CLAUSES} matching terms whose codes fit 16 bits (always so for a
 * {@link SparseVectorField}); otherwise the scorer's default bulk scoring runs.
 */
final class SparseBulkScorer extends BulkScorer {

  /**
   * Doc ids per window. Smaller windows get tighter bounds from the impacts, larger ones spend less
   * on bounds: on SciFact (2 cores) 512 was best of 128 to 4096 for both BM25 weights (exact over
   * FeatureField 0.50, 4096: 1.03) and the bge-small projection (0.47, 4096: 0.73).
   */
  static final int WINDOW = 512;
  /** Tests shrink windows (a power of two, 64 to {@value #WINDOW}) so that small indexes span many. */
  static volatile int windowForTests = WINDOW;
  static final int MAX_CLAUSES = 64;
  private static final int FIRST_WINDOW = 128;
  private static final double MARGIN = 1 + 1e-9; // as SparseScorer: rounding never prunes a competitor

  private final SparseTermClause[] clauses; // in ord order: the order scores are summed in
  private final int[] sorted; // clause indices by window bound, ascending
  private final double[] prefix;
  private final boolean[] essential;
  private final float pruneFactor;
  private final int maxDoc;
  private final long cost;
  private final char[][] codes; // [clause][doc - window start], valid where the doc's bit is set
  private final int window = windowForTests;
  private final long[] matches = new long[window]; // per doc: bit c set if essential clause c matched
  private final double[] partials = new double[window];
  private final long[] docBits = new long[window / 64];

  /**
   * @param maxDoc the segment's: a non-essential clause may sit behind the window for good, so
   *     only maxDoc tells where the segment ends
   */
  SparseBulkScorer(List<SparseTermClause> clauseList, float heapFactor, int maxDoc) {
    this.maxDoc = maxDoc;
    this.clauses = clauseList.toArray(new SparseTermClause[0]);
    this.sorted = new int[clauses.length];
    for (int i = 0; i < sorted.length; i++) {
      sorted[i] = i;
    }
    this.prefix = new double[clauses.length + 1];
    this.essential = new boolean[clauses.length];
    this.pruneFactor = 1f / heapFactor;
    this.codes = new char[clauses.length][window];
    long c = 0;
    for (SparseTermClause clause : clauses) {
      c += clause.postings.cost();
    }
    this.cost = c;
  }

  /** True if this scorer can serve these clauses. */
  static boolean supports(List<SparseTermClause> clauses) throws IOException {
    if (clauses.size() > MAX_CLAUSES) {
      return false;
    }
    for (SparseTermClause c : clauses) {
      if (SparseTermClause.termMaxFreq(c.postings) > Character.MAX_VALUE) {
        return false; // unknown (impacts don't say) or wider than a code
      }
    }
    return true;
  }

  private final class Score extends Scorable {
    float score;
    int doc = -1;
    float minCompetitiveScore;

    @Override
    public float score() {
      return score;
    }

    @Override
    public int docID() {
      return doc;
    }

    @Override
    public void setMinCompetitiveScore(float minScore) {
      minCompetitiveScore = Math.max(minCompetitiveScore, minScore);
    }
  }

  @Override
  public int score(LeafCollector collector, Bits acceptDocs, int min, int max) throws IOException {
    Score scorable = new Score();
    collector.setScorer(scorable);
    int end = Math.min(max, maxDoc);
    int windowMin = Math.max(min, nextDoc(min));
    // the threshold starts at 0 and rises fast: small windows first, so that the first documents
    // do not make every term essential for a whole window; then doubling up to the full size
    int size = Math.min(window, FIRST_WINDOW);
    while (windowMin < end) {
      int windowEnd = (int) Math.min((long) windowMin + size, end); // exclusive
      scoreWindow(collector, scorable, acceptDocs, windowMin, windowEnd);
      windowMin = nextDoc(windowEnd);
      size = Math.min(window, size * 2);
    }
    return max >= maxDoc ? DocIdSetIterator.NO_MORE_DOCS : nextDoc(max);
  }

  /** The first doc at or after target that any clause may hold, without decoding postings. */
  private int nextDoc(int target) {
    int next = DocIdSetIterator.NO_MORE_DOCS;
    for (SparseTermClause c : clauses) {
      next = Math.min(next, Math.max(c.doc, target));
    }
    return next;
  }

  private void scoreWindow(LeafCollector collector, Score scorable, Bits acceptDocs, int windowMin, int windowEnd)
      throws IOException {
    double pruneScore = scorable.minCompetitiveScore * pruneFactor;
    int n = clauses.length;
    for (SparseTermClause c : clauses) {
      if (c.doc >= windowEnd) {
        c.windowMaxScore = 0;
        continue;
      }
      if (c.doc < windowMin) {
        c.postings.advanceShallow(windowMin);
      }
      c.windowMaxScore = c.maxScore(windowEnd - 1);
    }
    // insertion sort by bound: few terms, and the order changes little from window to window
    for (int i = 1; i < n; i++) {
      int c = sorted[i];
      double bound = clauses[c].windowMaxScore;
      int j = i - 1;
      while (j >= 0 && clauses[sorted[j]].windowMaxScore > bound) {
        sorted[j + 1] = sorted[j];
        j--;
      }
      sorted[j + 1] = c;
    }
    for (int i = 0; i < n; i++) {
      prefix[i + 1] = prefix[i] + clauses[sorted[i]].windowMaxScore;
    }
    if (competitive(prefix[n], pruneScore) == false) {
      return; // nothing in this window can compete: skip it without decoding
    }
    int numNonEssential = 0;
    while (competitive(prefix[numNonEssential + 1], pruneScore) == false) {
      numNonEssential++;
    }
    for (int i = 0; i < n; i++) {
      essential[sorted[i]] = i >= numNonEssential;
    }
    // essential terms, term at a time
    for (int ci = 0; ci < n; ci++) {
      if (essential[ci] == false) {
        continue;
      }
      SparseTermClause c = clauses[ci];
      if (c.doc < windowMin) {
        c.advance(windowMin);
      }
      char[] clauseCodes = codes[ci];
      long bit = 1L << ci;
      double w = c.queryWeight;
      while (c.doc < windowEnd) {
        int i = c.doc - windowMin;
        int code = c.postings.freq();
        clauseCodes[i] = (char) code;
        matches[i] |= bit;
        docBits[i >>> 6] |= 1L << i;
        partials[i] += w * SparseWeights.decode(code);
        c.nextDoc();
      }
    }
    // documents in doc-id order
    for (int word = 0; word < docBits.length; word++) {
      long bits = docBits[word];
      docBits[word] = 0;
      while (bits != 0) {
        int i = (word << 6) | Long.numberOfTrailingZeros(bits);
        bits &= bits - 1;
        long matched = matches[i];
        double partial = partials[i];
        matches[i] = 0;
        partials[i] = 0;
        int doc = windowMin + i;
        if (acceptDocs != null && acceptDocs.get(doc) == false) {
          continue;
        }
        pruneScore = scorable.minCompetitiveScore * pruneFactor;
        boolean competitive = true;
        long nonEssentialMatched = 0;
        for (int s = numNonEssential - 1; s >= 0; s--) {
          if (competitive(partial + prefix[s + 1], pruneScore) == false) {
            competitive = false;
            break;
          }
          SparseTermClause c = clauses[sorted[s]];
          if (c.doc < doc) {
            c.advance(doc);
          }
          if (c.doc == doc) {
            partial += c.contribution();
            nonEssentialMatched |= 1L << sorted[s];
          }
        }
        if (competitive == false || competitive(partial, pruneScore) == false) {
          continue;
        }
        double sum = 0;
        for (int ci = 0; ci < n; ci++) {
          long bit = 1L << ci;
          if ((matched & bit) != 0) {
            sum += (double) clauses[ci].queryWeight * SparseWeights.decode(codes[ci][i]);
          } else if ((nonEssentialMatched & bit) != 0) {
            sum += clauses[ci].contribution();
          }
        }
        float score = (float) sum;
        if (score >= scorable.minCompetitiveScore) {
          scorable.score = score;
          scorable.doc = doc;
          collector.collect(doc);
        }
      }
    }
  }

  private static boolean competitive(double bound, double pruneScore) {
    return (float) (bound * MARGIN) >= pruneScore;
  }

  @Override
  public long cost() {
    return cost;
  }
}
