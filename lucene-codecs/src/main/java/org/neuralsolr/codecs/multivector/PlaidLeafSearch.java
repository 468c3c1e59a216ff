package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.internal.hppc.IntIntHashMap;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.HitQueue;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TotalHits;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.Bits;
import org.neuralsolr.codecs.VectorKernels;

/**
 * The per-segment stages of PLAID (Santhanam et al., "PLAID: An Efficient Engine for Late
 * Interaction Retrieval", 2022) on the codes of {@link MultiVectorDocValuesFormat}; {@link
 * PlaidQuery} runs them on every segment and picks the survivors across segments.
 *
 * <ol>
 *   <li>{@link #approximate}, candidate generation: every query vector is scored against every
 *       centroid once ({@code |Q| × k} dot products per codebook); each query vector probes its
 *       {@code nprobe} best centroids, and the union of their posting lists is the candidate set.
 *       A candidate's first estimate is the sum, over the query vectors that reached it, of the
 *       best probed centroid score; if there are more than {@code candidateCap} candidates, the
 *       best {@code candidateCap} by that estimate survive;
 *   <li>{@link #approximate}, centroid interaction: each candidate's approximate MaxSim, with every
 *       document vector replaced by its centroid ({@code Σ_i max_t q_i·c(t)}, read from the score
 *       table), skipping centroids whose best score against any query vector is below {@code
 *       centroidScoreThreshold}; the segment's best {@code ndocs} are returned;
 *   <li>{@link #exact}: the documents that survive across segments are decoded and scored by exact
 *       MaxSim ({@link MaxSimScorer#toLuceneScore Lucene scores}).
 * </ol>
 */
final class PlaidLeafSearch {

  private final float[] query; // row-major
  private final int nq;
  // the query as lanes of VectorKernels.maxSimTransposed (Vector API), or null; the row length of
  // the centroid score tables either way
  private final float[] queryT;
  private final int stride;
  private final int dim;
  private final int k;
  private final int nprobe;
  private final int candidateCap;
  private final int ndocs;
  private final float centroidScoreThreshold;

  PlaidLeafSearch(
      float[] query,
      int numQueryVectors,
      int dim,
      int k,
      int nprobe,
      int candidateCap,
      int ndocs,
      float centroidScoreThreshold) {
    this.query = query;
    this.nq = numQueryVectors;
    this.dim = dim;
    this.k = k;
    this.nprobe = nprobe;
    this.candidateCap = candidateCap;
    this.ndocs = ndocs;
    this.centroidScoreThreshold = centroidScoreThreshold;
    if (VectorKernels.VECTOR_API) {
      this.stride = VectorKernels.transposedStride(numQueryVectors);
      this.queryT = VectorKernels.transpose(query, 0, numQueryVectors, dim, stride);
    } else {
      this.stride = numQueryVectors;
      this.queryT = null;
    }
  }

  /**
   * Documents (increasing) with their centroid-only scores, and the segment's centroid scores for
   * {@link #rescoreUnpruned}.
   */
  record Candidates(int[] docs, float[] scores, Object centroidScores) {}

  /**
   * Stages 1 and 2 in one segment: the best {@code ndocs} candidates by centroid-only MaxSim.
   *
   * @param values the segment's values, unpositioned
   * @param acceptDocs documents that may be returned (live and matching the filter), null for all
   */
  Candidates approximate(MultiVectorValues values, Bits acceptDocs) throws IOException {
    List<ResidualCodebook> codebooks = values.codebooks();
    CodebookScores[] scores = new CodebookScores[codebooks.size()];
    for (int c = 0; c < scores.length; c++) {
      scores[c] = scoreCentroids(codebooks.get(c));
    }
    int[] candidates = candidates(values, scores, acceptDocs);
    return centroidInteraction(values, scores, candidates, ndocs, true);
  }

  /**
   * Stage 3, only needed when stage 2 pruned centroids: the centroid-only MaxSim of {@code docs}
   * (increasing, from {@link #approximate} on the same segment) with no centroid pruned.
   */
  Candidates rescoreUnpruned(MultiVectorValues values, Candidates from, int[] docs) throws IOException {
    return centroidInteraction(
        values, (CodebookScores[]) from.centroidScores(), docs, docs.length, false);
  }

  /** Whether stage 2 prunes centroids, so that {@link #rescoreUnpruned} gives other scores. */
  boolean prunes() {
    return centroidScoreThreshold != Float.NEGATIVE_INFINITY;
  }

  /**
   * The query scored against one codebook's centroids.
   *
   * @param table {@code q_i · c} at {@code [c * stride + i]}, centroid-major for stage 2 (lanes
   *     {@code i ≥ nq} are padding)
   * @param pruned centroids below {@code centroidScoreThreshold} for every query vector
   * @param probes per query vector, its {@code nprobe} best centroids, best first
   * @param probeScores their scores
   */
  private record CodebookScores(float[] table, boolean[] pruned, int[][] probes, float[][] probeScores) {}

  private CodebookScores scoreCentroids(ResidualCodebook codebook) {
    int k = codebook.numCentroids();
    float[] table = new float[k * stride];
    if (queryT != null) {
      // the centroids are "document vectors" of the MaxSim kernel, keeping every dot product
      VectorKernels.maxSimTransposed(queryT, stride, codebook.centroidsArray(), k, dim, null, null, null, table);
    } else {
      float[][] scores = new float[nq][k];
      codebook.index().dotProducts(query, 0, nq, scores);
      for (int c = 0; c < k; c++) {
        for (int i = 0; i < nq; i++) {
          table[c * stride + i] = scores[i][c];
        }
      }
    }
    boolean[] pruned = new boolean[k];
    for (int c = 0; c < k; c++) {
      float best = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < nq; i++) {
        best = Math.max(best, table[c * stride + i]);
      }
      pruned[c] = best < centroidScoreThreshold;
    }
    int[][] probes = new int[nq][];
    float[][] probeScores = new float[nq][];
    float[] column = new float[k];
    for (int i = 0; i < nq; i++) {
      for (int c = 0; c < k; c++) {
        column[c] = table[c * stride + i];
      }
      probes[i] = topIndexes(column, k, nprobe);
      probeScores[i] = new float[probes[i].length];
      for (int p = 0; p < probes[i].length; p++) {
        probeScores[i][p] = column[probes[i][p]];
      }
    }
    return new CodebookScores(table, pruned, probes, probeScores);
  }

  /**
   * Stage 1: the accepted documents in the posting lists of the probed centroids, at most {@code
   * candidateCap} of them (the best by the sum, over the query vectors reaching a document, of
   * their best probed centroid's score), in increasing order.
   */
  private int[] candidates(MultiVectorValues values, CodebookScores[] scores, Bits acceptDocs)
      throws IOException {
    IntIntHashMap slots = new IntIntHashMap(); // doc -> index in the arrays below
    int[] docs = new int[64];
    float[] estimates = new float[64];
    int[] lastQuery = new int[64];
    int count = 0;
    for (int c = 0; c < scores.length; c++) {
      // a document is in the posting lists of its own codebook only
      int[][] lists = new int[scores[c].pruned.length][];
      for (int i = 0; i < nq; i++) {
        for (int p = 0; p < scores[c].probes[i].length; p++) {
          int centroid = scores[c].probes[i][p];
          if (lists[centroid] == null) {
            lists[centroid] = readPostings(values, c, centroid);
          }
          for (int doc : lists[centroid]) {
            if (acceptDocs != null && acceptDocs.get(doc) == false) {
              continue;
            }
            int index = slots.indexOf(doc);
            int slot;
            if (slots.indexExists(index)) {
              slot = slots.indexGet(index);
            } else {
              slot = count++;
              slots.indexInsert(index, doc, slot);
              docs = ArrayUtil.grow(docs, count);
              estimates = ArrayUtil.grow(estimates, count);
              lastQuery = ArrayUtil.grow(lastQuery, count);
              docs[slot] = doc;
              lastQuery[slot] = -1;
            }
            if (lastQuery[slot] != i) { // probes come best first: the first is the best
              lastQuery[slot] = i;
              estimates[slot] += scores[c].probeScores[i][p];
            }
          }
        }
      }
    }
    int[] candidates;
    if (count > candidateCap) {
      int[] keep = topIndexes(estimates, count, candidateCap);
      candidates = new int[keep.length];
      for (int x = 0; x < keep.length; x++) {
        candidates[x] = docs[keep[x]];
      }
    } else {
      candidates = Arrays.copyOf(docs, count);
    }
    Arrays.sort(candidates);
    return candidates;
  }

  /**
   * Stage 2: each candidate's MaxSim with its vectors replaced by their centroids, ignoring pruned
   * centroids; the best {@code ndocs}.
   */
  private Candidates centroidInteraction(
      MultiVectorValues values, CodebookScores[] scores, int[] candidates, int keep, boolean prune)
      throws IOException {
    int capacity = Math.min(keep, candidates.length);
    HitQueue best = new HitQueue(capacity, false);
    int[] ids = null;
    float[] max = new float[stride];
    for (int doc : candidates) {
      if (values.advance(doc) != doc) {
        throw new IllegalStateException("posted document " + doc + " has no vectors");
      }
      CodebookScores codebook = scores[values.codebookOrd()];
      int tokens = values.tokenCount();
      ids = values.centroidIds(ids);
      Arrays.fill(max, Float.NEGATIVE_INFINITY);
      boolean any = false;
      for (int t = 0; t < tokens; t++) {
        if (prune == false || codebook.pruned[ids[t]] == false) {
          VectorKernels.maxInto(codebook.table, ids[t] * stride, max, stride);
          any = true;
        }
      }
      float score = Float.NEGATIVE_INFINITY; // every centroid pruned: ranks last
      if (any) {
        score = 0;
        for (int i = 0; i < nq; i++) {
          score += max[i];
        }
      }
      insert(best, capacity, doc, score);
    }
    ScoreDoc[] hits = new ScoreDoc[best.size()];
    for (int x = hits.length - 1; x >= 0; x--) {
      hits[x] = best.pop();
    }
    Arrays.sort(hits, (a, b) -> Integer.compare(a.doc, b.doc));
    int[] docs = new int[hits.length];
    float[] approximate = new float[hits.length];
    for (int x = 0; x < hits.length; x++) {
      docs[x] = hits[x].doc;
      approximate[x] = hits[x].score;
    }
    return new Candidates(docs, approximate, scores);
  }

  /**
   * Stage 3: the top {@code k} of the given documents by exact MaxSim.
   *
   * @param values the segment's values, unpositioned
   * @param docs documents to score, increasing; null for every document {@code acceptDocs} accepts
   * @param acceptDocs used when {@code docs} is null: documents to score, null for all
   * @param centroidScoresOrNull {@link Candidates#centroidScores()} of this segment, or null
   */
  TopDocs exact(MultiVectorValues values, int[] docs, Bits acceptDocs, Object centroidScoresOrNull)
      throws IOException {
    CodebookScores[] centroidScores = (CodebookScores[]) centroidScoresOrNull;
    MaxSimScorer maxSim = new MaxSimScorer(query, nq, dim);
    if (centroidScores != null && maxSim.usesCentroidScores()) {
      // stage 1's scores against the centroids, computed by the same kernel as the scorer's own
      List<ResidualCodebook> codebooks = values.codebooks();
      for (int c = 0; c < codebooks.size(); c++) {
        maxSim.useCentroidScores(codebooks.get(c), centroidScores[c].table);
      }
    }
    int capacity = Math.min(k, docs == null ? values.docCount() : docs.length);
    HitQueue top = new HitQueue(capacity, false);
    int scored = 0;
    if (docs == null) {
      for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
        if (acceptDocs == null || acceptDocs.get(doc)) {
          insert(top, capacity, doc, MaxSimScorer.toLuceneScore(maxSim.score(values)));
          scored++;
        }
      }
    } else {
      for (int doc : docs) {
        if (values.advance(doc) != doc) {
          throw new IllegalStateException("document " + doc + " has no vectors");
        }
        insert(top, capacity, doc, MaxSimScorer.toLuceneScore(maxSim.score(values)));
        scored++;
      }
    }
    return topDocs(top, scored);
  }

  /** Offers a hit to a queue that holds at most {@code capacity}. */
  private static void insert(HitQueue queue, int capacity, int doc, float score) {
    if (queue.size() < capacity) {
      queue.add(new ScoreDoc(doc, score));
    } else if (capacity > 0) {
      ScoreDoc bottom = queue.top();
      if (score > bottom.score || (score == bottom.score && doc < bottom.doc)) {
        bottom.doc = doc;
        bottom.score = score;
        queue.updateTop();
      }
    }
  }

  private static TopDocs topDocs(HitQueue queue, int considered) {
    ScoreDoc[] docs = new ScoreDoc[queue.size()];
    for (int i = docs.length - 1; i >= 0; i--) {
      docs[i] = queue.pop();
    }
    return new TopDocs(
        new TotalHits(considered, TotalHits.Relation.GREATER_THAN_OR_EQUAL_TO), docs);
  }

  private static int[] readPostings(MultiVectorValues values, int codebook, int centroid)
      throws IOException {
    DocIdSetIterator it = values.centroidPostings(codebook, centroid);
    int[] docs = new int[Math.toIntExact(it.cost())];
    for (int i = 0; i < docs.length; i++) {
      docs[i] = it.nextDoc();
    }
    return docs;
  }

  /** Indexes of the {@code n} largest of {@code values[0, size)}, largest first. */
  static int[] topIndexes(float[] values, int size, int n) {
    n = Math.min(n, size);
    int[] heap = new int[n]; // min-heap of indexes by value
    int count = 0;
    for (int i = 0; i < size; i++) {
      if (count < n) {
        heap[count] = i;
        siftUp(heap, values, count++);
      } else if (values[i] > values[heap[0]]) {
        heap[0] = i;
        siftDown(heap, values, n);
      }
    }
    // heap sort, largest first
    int[] out = new int[n];
    for (int x = n - 1; x >= 0; x--) {
      out[x] = heap[0];
      heap[0] = heap[--count];
      siftDown(heap, values, count);
    }
    return out;
  }

  private static void siftUp(int[] heap, float[] values, int i) {
    int v = heap[i];
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (values[heap[parent]] <= values[v]) {
        break;
      }
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = v;
  }

  private static void siftDown(int[] heap, float[] values, int size) {
    int i = 0;
    int v = heap[0];
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && values[heap[child + 1]] < values[heap[child]]) {
        child++;
      }
      if (values[heap[child]] >= values[v]) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    if (size > 0) {
      heap[i] = v;
    }
  }
}
