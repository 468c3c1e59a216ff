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
  }

  /** Documents (increasing) with their centroid-only scores. */
  record Candidates(int[] docs, float[] scores) {}

  /**
   * Stages 1 and 2 in one segment: the best {@code ndocs} candidates by centroid-only MaxSim.
   *
   * @param values the segment's values, unpositioned
   * @param acceptDocs documents that may be returned (live and matching the filter), null for all
   */
  Candidates approximate(MultiVectorValues values, Bits acceptDocs) throws IOException {
    List<ResidualCodebook> codebooks = values.codebooks();
    int numCodebooks = codebooks.size();

    // 1. query × centroid scores, probes, candidates
    float[][] centroidMajor = new float[numCodebooks][]; // [codebook][centroid * nq + i]
    boolean[][] pruned = new boolean[numCodebooks][];
    IntIntHashMap slots = new IntIntHashMap();
    int[] candidates = new int[64];
    float[] estimates = new float[64];
    int[] lastQuery = new int[64];
    int numCandidates = 0;
    int[][] probes = new int[nq][]; // per query vector: probed (codebook, centroid) keys, best first
    float[][] probeScores = new float[nq][];
    int[][][] listCache = new int[numCodebooks][][];
    for (int i = 0; i < nq; i++) {
      probes[i] = new int[0];
      probeScores[i] = new float[0];
    }
    for (int c = 0; c < numCodebooks; c++) {
      ResidualCodebook codebook = codebooks.get(c);
      int kc = codebook.numCentroids();
      float[][] scores = new float[nq][kc];
      codebook.index().dotProducts(query, 0, nq, scores);
      float[] table = new float[kc * nq];
      boolean[] prune = new boolean[kc];
      for (int centroid = 0; centroid < kc; centroid++) {
        float best = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < nq; i++) {
          float s = scores[i][centroid];
          table[centroid * nq + i] = s;
          best = Math.max(best, s);
        }
        prune[centroid] = best < centroidScoreThreshold;
      }
      centroidMajor[c] = table;
      pruned[c] = prune;
      listCache[c] = new int[kc][];
      int probesHere = Math.min(nprobe, kc);
      for (int i = 0; i < nq; i++) {
        int[] top = topIndexes(scores[i], kc, probesHere);
        int[] merged = Arrays.copyOf(probes[i], probes[i].length + top.length);
        float[] mergedScores = Arrays.copyOf(probeScores[i], merged.length);
        for (int p = 0; p < top.length; p++) {
          merged[probes[i].length + p] = keyOf(c, top[p]);
          mergedScores[probes[i].length + p] = scores[i][top[p]];
        }
        sortByScoreDescending(merged, mergedScores);
        probes[i] = merged;
        probeScores[i] = mergedScores;
      }
    }
    for (int i = 0; i < nq; i++) {
      for (int p = 0; p < probes[i].length; p++) {
        int c = probes[i][p] >>> 24, centroid = probes[i][p] & 0xFFFFFF;
        int[] docs = listCache[c][centroid];
        if (docs == null) {
          docs = listCache[c][centroid] = readPostings(values, c, centroid);
        }
        float s = probeScores[i][p];
        for (int doc : docs) {
          if (acceptDocs != null && acceptDocs.get(doc) == false) {
            continue;
          }
          int idx = slots.indexOf(doc);
          int slot;
          if (slots.indexExists(idx)) {
            slot = slots.indexGet(idx);
          } else {
            slot = numCandidates++;
            slots.indexInsert(idx, doc, slot);
            candidates = ArrayUtil.grow(candidates, numCandidates);
            estimates = ArrayUtil.grow(estimates, numCandidates);
            lastQuery = ArrayUtil.grow(lastQuery, numCandidates);
            candidates[slot] = doc;
            lastQuery[slot] = -1;
          }
          if (lastQuery[slot] != i) { // first (best) probe of query vector i reaching doc
            lastQuery[slot] = i;
            estimates[slot] += s;
          }
        }
      }
    }
    if (numCandidates > candidateCap) {
      int[] keep = topIndexes(estimates, numCandidates, candidateCap);
      int[] kept = new int[keep.length];
      for (int x = 0; x < keep.length; x++) {
        kept[x] = candidates[keep[x]];
      }
      candidates = kept;
      numCandidates = kept.length;
    }
    Arrays.sort(candidates, 0, numCandidates);

    // 2. centroid interaction
    int approxCapacity = Math.min(ndocs, numCandidates);
    HitQueue approx = new HitQueue(approxCapacity, false);
    int[] ids = null;
    float[] best = new float[nq];
    for (int x = 0; x < numCandidates; x++) {
      int doc = candidates[x];
      if (values.advance(doc) != doc) {
        throw new IllegalStateException("posted document " + doc + " has no vectors");
      }
      int c = values.codebookOrd();
      float[] table = centroidMajor[c];
      boolean[] prune = pruned[c];
      int tokens = values.tokenCount();
      ids = values.centroidIds(ids);
      Arrays.fill(best, Float.NEGATIVE_INFINITY);
      boolean any = false;
      for (int t = 0; t < tokens; t++) {
        if (prune[ids[t]] == false) {
          VectorKernels.maxInto(table, ids[t] * nq, best, nq);
          any = true;
        }
      }
      float score = Float.NEGATIVE_INFINITY;
      if (any) {
        score = 0;
        for (int i = 0; i < nq; i++) {
          score += best[i];
        }
      }
      insert(approx, approxCapacity, doc, score);
    }

    int[] docs = new int[approx.size()];
    float[] scores = new float[docs.length];
    ScoreDoc[] sorted = new ScoreDoc[docs.length];
    for (int x = sorted.length - 1; x >= 0; x--) {
      sorted[x] = approx.pop();
    }
    Arrays.sort(sorted, (a, b) -> Integer.compare(a.doc, b.doc));
    for (int x = 0; x < sorted.length; x++) {
      docs[x] = sorted[x].doc;
      scores[x] = sorted[x].score;
    }
    return new Candidates(docs, scores);
  }

  /**
   * Stage 3: the top {@code k} of the given documents by exact MaxSim.
   *
   * @param values the segment's values, unpositioned
   * @param docs documents to score, increasing; null for every document {@code acceptDocs} accepts
   * @param acceptDocs used when {@code docs} is null: documents to score, null for all
   */
  TopDocs exact(MultiVectorValues values, int[] docs, Bits acceptDocs) throws IOException {
    MaxSimScorer maxSim = new MaxSimScorer(query, nq, dim);
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

  /** Probe keys pack a codebook ordinal (8 bits) and a centroid (24 bits). */
  private static int keyOf(int codebook, int centroid) {
    if (codebook > 0xFF || centroid > 0xFFFFFF) {
      throw new IllegalStateException("too many codebooks or centroids for PLAID");
    }
    return codebook << 24 | centroid;
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

  private static void sortByScoreDescending(int[] keys, float[] scores) {
    // tiny arrays (nprobe × codebooks): insertion sort
    for (int i = 1; i < keys.length; i++) {
      int key = keys[i];
      float score = scores[i];
      int j = i - 1;
      while (j >= 0 && scores[j] < score) {
        keys[j + 1] = keys[j];
        scores[j + 1] = scores[j];
        j--;
      }
      keys[j + 1] = key;
      scores[j + 1] = score;
    }
  }
}
