package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.FilteredDocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.BitSet;
import org.apache.lucene.util.Bits;

/**
 * The top {@code k} documents by MaxSim of a multi-vector field, found by PLAID candidate
 * generation (see {@link PlaidLeafSearch} for the stages) instead of scoring every document.
 *
 * <p>Like Lucene's {@code KnnFloatVectorQuery}, the search runs in {@link #rewrite} (segments in
 * parallel on the searcher's executor) and the query rewrites to the resulting documents and
 * scores; so it composes with other clauses, with paging (ask for {@code k ≥ start + rows}), and
 * with {@code explain}. Candidate generation and centroid-only scoring run per segment; the best
 * {@code ndocs} candidates <em>across</em> segments are then scored exactly, so the exact work does
 * not grow with the number of segments. An optional filter is applied <em>before</em> the search:
 * only documents it matches (and live ones) become candidates, and when no more than {@code ndocs}
 * documents are accepted in all, they are all scored exactly.
 *
 * <p>Scores are {@link MaxSimScorer#toLuceneScore} of the exact MaxSim, the same as {@link
 * MaxSimQuery} gives; PLAID only decides which documents get scored.
 *
 * <p>Knobs, with their defaults:
 *
 * <ul>
 *   <li>{@code nprobe} ({@value #DEFAULT_NPROBE}): centroids probed per query vector (PLAID's
 *       {@code ncells}, 1 to 4 there, with about 20 times more vectors per centroid than the
 *       default centroid count gives here);
 *   <li>{@code candidateCap} ({@link #defaultCandidateCap} {@code = max(}{@value
 *       #DEFAULT_CANDIDATE_CAP}{@code , 4·ndocs)}): most candidates kept from the posting lists,
 *       the best by their probed-centroid scores;
 *   <li>{@code ndocs} (0 = {@code max(}{@value #DEFAULT_NDOCS}{@code , 8k)}): candidates kept after
 *       centroid-only scoring; the best quarter of them (at least {@code k}) is rescored exactly,
 *       as PLAID does (with {@code ndocs} 256 to 4096 there);
 *   <li>{@code centroidScoreThreshold} (none): centroids scoring below it against every query
 *       vector are ignored by centroid-only scoring (PLAID uses 0.4 to 0.5 for unit vectors);
 *       {@code Float.NEGATIVE_INFINITY} disables the pruning. With pruning, the {@code ndocs}
 *       survivors are scored again without it before the last cut (PLAID's stage 3).
 * </ul>
 *
 * Measured with {@code ./neural-bench plaid} (docs/benchmarks.md) on the SciFact ColBERT index of
 * the evaluation tool (bge-small-en-v1.5 token states, 5,183 documents, 1.47M vectors, 2-bit
 * codes): these defaults keep a top-10 overlap of 0.983 with {@link MaxSimQuery} on 30 claims and
 * 0.973 on 100. ndocs is the main lever: at 128 (32 rescored) the overlap on 30 claims fell to
 * 0.927; nprobe 2 to 8 and candidateCap 512 to 8192 left it unchanged there.
 */
public final class PlaidQuery extends Query {

  /** Default centroids probed per query vector. */
  public static final int DEFAULT_NPROBE = 8;

  /**
   * Lower bound of the default bound of the candidate set, which is {@link #defaultCandidateCap}
   * {@code = max(DEFAULT_CANDIDATE_CAP, 4·ndocs)}.
   */
  public static final int DEFAULT_CANDIDATE_CAP = 1024;

  /** Lower bound of the default {@code ndocs}, which is {@code max(DEFAULT_NDOCS, 8k)}. */
  public static final int DEFAULT_NDOCS = 256;

  private final String field;
  private final QueryVectors query;
  private final int k;
  private final int nprobe;
  private final int candidateCap;
  private final int ndocs;
  private final float centroidScoreThreshold;
  private final Query filter;

  /** PLAID with the default knobs and no filter. */
  public PlaidQuery(String field, float[][] query, int k) {
    this(field, query, k, null);
  }

  /** PLAID with the default knobs, restricted to documents matching {@code filter} (nullable). */
  public PlaidQuery(String field, float[][] query, int k, Query filter) {
    this(field, query, k, DEFAULT_NPROBE, defaultCandidateCap(k, 0), 0, Float.NEGATIVE_INFINITY, filter);
  }

  /**
   * The default {@code candidateCap} for {@code k} and {@code ndocs} (0 for its default): {@code
   * max(}{@value #DEFAULT_CANDIDATE_CAP}{@code , 4·ndocs)}, so that centroid interaction, the
   * costliest stage before the exact one, has four candidates for each one it keeps.
   */
  public static int defaultCandidateCap(int k, int ndocs) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(DEFAULT_CANDIDATE_CAP, 4L * effectiveNdocs(k, ndocs)));
  }

  private static long effectiveNdocs(int k, int ndocs) {
    return ndocs == 0 ? Math.max(DEFAULT_NDOCS, 8L * k) : Math.max(ndocs, k);
  }

  /**
   * PLAID with every knob.
   *
   * @param field a multi-vector field ({@link MultiVectorField})
   * @param query the query vectors, one row each (copied)
   * @param k number of documents to return, at least 1
   * @param nprobe centroids probed per query vector, at least 1
   * @param candidateCap most candidates taken from the posting lists, at least 1
   * @param ndocs candidates kept by centroid-only scoring, of which a quarter (at least k) are
   *     rescored exactly; 0 for {@code max(256, 8k)}
   * @param centroidScoreThreshold centroids below this score against every query vector are
   *     ignored by centroid-only scoring; {@code Float.NEGATIVE_INFINITY} for none
   * @param filter only documents matching it are returned, or null
   * @throws IllegalArgumentException for out-of-range knobs or bad query vectors, naming the
   *     parameter
   */
  public PlaidQuery(
      String field,
      float[][] query,
      int k,
      int nprobe,
      int candidateCap,
      int ndocs,
      float centroidScoreThreshold,
      Query filter) {
    this.field = Objects.requireNonNull(field, "field");
    this.query = QueryVectors.of("query", query);
    if (k < 1) {
      throw new IllegalArgumentException("k must be at least 1, got " + k);
    }
    if (nprobe < 1) {
      throw new IllegalArgumentException("nprobe must be at least 1, got " + nprobe);
    }
    if (candidateCap < 1) {
      throw new IllegalArgumentException("candidateCap must be at least 1, got " + candidateCap);
    }
    if (ndocs < 0) {
      throw new IllegalArgumentException("ndocs must be at least 1 (or 0 for the default), got " + ndocs);
    }
    if (Float.isNaN(centroidScoreThreshold)) {
      throw new IllegalArgumentException("centroidScoreThreshold must not be NaN");
    }
    this.k = k;
    this.nprobe = nprobe;
    this.candidateCap = candidateCap;
    this.ndocs = (int) Math.min(Integer.MAX_VALUE, effectiveNdocs(k, ndocs));
    this.centroidScoreThreshold = centroidScoreThreshold;
    this.filter = filter;
  }

  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    IndexReader reader = searcher.getIndexReader();
    VectorSimilarityFunction similarity = query.checkField(reader, field);
    PlaidLeafSearch search =
        new PlaidLeafSearch(
            query.forSimilarity(similarity),
            query.count(),
            query.dimension(),
            k,
            nprobe,
            candidateCap,
            ndocs,
            centroidScoreThreshold);
    Weight filterWeight =
        filter == null
            ? null
            : searcher.createWeight(searcher.rewrite(filter), ScoreMode.COMPLETE_NO_SCORES, 1f);

    // the documents each segment may return, and how many
    List<LeafReaderContext> leaves = reader.leaves();
    Bits[] acceptDocs = new Bits[leaves.size()];
    boolean[] searched = new boolean[leaves.size()];
    long accepted = 0;
    for (LeafReaderContext leaf : leaves) {
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
      if (values == null) {
        continue;
      }
      if (filterWeight == null) {
        acceptDocs[leaf.ord] = leaf.reader().getLiveDocs();
        accepted += values.docCount();
      } else {
        BitSet bits = filterBits(leaf, filterWeight);
        if (bits == null) {
          continue;
        }
        acceptDocs[leaf.ord] = bits;
        accepted += bits.cardinality();
      }
      searched[leaf.ord] = true;
    }

    TaskExecutor executor = searcher.getTaskExecutor();
    List<Callable<TopDocs>> exactTasks = new ArrayList<>();
    if (accepted <= ndocs) {
      // no more documents than PLAID would rescore anyway: score them all exactly
      for (LeafReaderContext leaf : leaves) {
        if (searched[leaf.ord]) {
          exactTasks.add(() -> offset(leaf, search.exact(values(leaf), null, acceptDocs[leaf.ord], null)));
        }
      }
    } else {
      // stages 1-2 per segment, then the best ndocs by centroid-only score across segments
      List<Callable<PlaidLeafSearch.Candidates>> approximateTasks = new ArrayList<>();
      for (LeafReaderContext leaf : leaves) {
        approximateTasks.add(
            () -> searched[leaf.ord] ? search.approximate(values(leaf), acceptDocs[leaf.ord]) : null);
      }
      List<PlaidLeafSearch.Candidates> candidates = executor.invokeAll(approximateTasks);
      int exact = exactCount();
      int[][] survivors;
      if (search.prunes()) {
        // stage 3: the best ndocs rescored without pruning, of which the best exactCount remain
        int[][] best = bestAcrossSegments(candidates, ndocs);
        List<Callable<PlaidLeafSearch.Candidates>> rescoreTasks = new ArrayList<>();
        for (LeafReaderContext leaf : leaves) {
          PlaidLeafSearch.Candidates from = candidates.get(leaf.ord);
          rescoreTasks.add(
              () -> best[leaf.ord].length == 0 ? null : search.rescoreUnpruned(values(leaf), from, best[leaf.ord]));
        }
        survivors = bestAcrossSegments(executor.invokeAll(rescoreTasks), exact);
      } else {
        // without pruning stage 3 would give the same scores: its cut alone
        survivors = bestAcrossSegments(candidates, exact);
      }
      for (LeafReaderContext leaf : leaves) {
        if (survivors[leaf.ord].length > 0) {
          exactTasks.add(() -> offset(leaf, search.exact(values(leaf), survivors[leaf.ord], null, candidates.get(leaf.ord).centroidScores())));
        }
      }
    }
    TopDocs topK = TopDocs.merge(k, executor.invokeAll(exactTasks).toArray(TopDocs[]::new));
    if (topK.scoreDocs.length == 0) {
      return new MatchNoDocsQuery("no documents with vectors in " + field);
    }
    return new org.neuralsolr.codecs.ScoredDocsQuery(
        this, reader, topK.scoreDocs, "not among the top " + k + " of " + this,
        (leaf, doc, score, boost) -> Explanation.match(score, "top " + k + " hit of " + this + ", scored:", explainHit(leaf, doc, boost)));
  }

  private MultiVectorValues values(LeafReaderContext leaf) throws IOException {
    return MultiVectorValues.get(leaf.reader(), field);
  }

  /** Live documents matching the filter, or null if none. */
  private static BitSet filterBits(LeafReaderContext leaf, Weight filterWeight) throws IOException {
    Scorer scorer = filterWeight.scorer(leaf);
    if (scorer == null) {
      return null;
    }
    Bits live = leaf.reader().getLiveDocs();
    DocIdSetIterator accepted =
        new FilteredDocIdSetIterator(scorer.iterator()) {
          @Override
          protected boolean match(int doc) {
            return live == null || live.get(doc);
          }
        };
    return BitSet.of(accepted, leaf.reader().maxDoc());
  }

  /**
   * Candidates scored exactly: a quarter of {@code ndocs}, as PLAID's last cut keeps, and at least
   * {@code k}.
   */
  int exactCount() {
    return Math.max(k, ndocs / 4);
  }

  /** Per segment, its documents among the best {@code n} candidates of all segments. */
  private static int[][] bestAcrossSegments(List<PlaidLeafSearch.Candidates> perSegment, int count) {
    int total = 0;
    for (PlaidLeafSearch.Candidates c : perSegment) {
      total += c == null ? 0 : c.docs().length;
    }
    float[] scores = new float[total];
    int x = 0;
    for (PlaidLeafSearch.Candidates c : perSegment) {
      if (c != null) {
        System.arraycopy(c.scores(), 0, scores, x, c.scores().length);
        x += c.scores().length;
      }
    }
    boolean[] keep = new boolean[total];
    for (int i : PlaidLeafSearch.topIndexes(scores, total, count)) {
      keep[i] = true;
    }
    int[][] survivors = new int[perSegment.size()][];
    x = 0;
    for (int s = 0; s < survivors.length; s++) {
      PlaidLeafSearch.Candidates c = perSegment.get(s);
      int n = c == null ? 0 : c.docs().length;
      int[] docs = new int[n];
      int kept = 0;
      for (int i = 0; i < n; i++, x++) {
        if (keep[x]) {
          docs[kept++] = c.docs()[i]; // stays increasing
        }
      }
      survivors[s] = Arrays.copyOf(docs, kept);
    }
    return survivors;
  }

  private static TopDocs offset(LeafReaderContext leaf, TopDocs results) {
    for (ScoreDoc hit : results.scoreDocs) {
      hit.doc += leaf.docBase;
    }
    return results;
  }

  /** Explanation of a hit: the exact MaxSim the score comes from. */
  Explanation explainHit(LeafReaderContext leaf, int doc, float boost) throws IOException {
    MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
    if (values == null || values.advanceExact(doc) == false) {
      return Explanation.noMatch("no vectors in field " + field);
    }
    MaxSimScorer maxSim =
        new MaxSimScorer(
            query.forSimilarity(values.similarity()), query.count(), query.dimension());
    return MaxSimQuery.explainMaxSim(values, maxSim, boost, field);
  }

  int k() {
    return k;
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field)) {
      visitor.visitLeaf(this);
    }
  }

  @Override
  public String toString(String defaultField) {
    return "PlaidQuery("
        + field
        + ", "
        + query
        + ", k="
        + k
        + ", nprobe="
        + nprobe
        + ", candidateCap="
        + candidateCap
        + ", ndocs="
        + ndocs
        + (centroidScoreThreshold == Float.NEGATIVE_INFINITY
            ? ""
            : ", centroidScoreThreshold=" + centroidScoreThreshold)
        + (filter == null ? "" : ", filter=" + filter)
        + ")";
  }

  @Override
  public boolean equals(Object other) {
    if (sameClassAs(other) == false) {
      return false;
    }
    PlaidQuery o = (PlaidQuery) other;
    return field.equals(o.field)
        && query.equals(o.query)
        && k == o.k
        && nprobe == o.nprobe
        && candidateCap == o.candidateCap
        && ndocs == o.ndocs
        && Float.compare(centroidScoreThreshold, o.centroidScoreThreshold) == 0
        && Objects.equals(filter, o.filter);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        classHash(), field, query, k, nprobe, candidateCap, ndocs, centroidScoreThreshold, filter);
  }
}
