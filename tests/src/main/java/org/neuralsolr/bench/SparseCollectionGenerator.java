package org.neuralsolr.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.solr.common.util.Utils;

/**
 * Seeded, deterministic learned sparse collections of any size whose statistics follow a fit of
 * real vectors ({@link SparseCollectionStats}; the committed fit is {@code sparse-proxy-fit.json},
 * SciFact through the bge-small-en-v1.5 projection, see {@code ./neural-bench sparse-fit}).
 *
 * <p>Terms are the {@value #VOCABULARY} ranks of a word-piece vocabulary, named {@code t<rank>}.
 * Rank {@code r} is in a document with the probability the fit measured for the term of rank
 * {@code r} (its document frequency over the number of documents, interpolated in log-log space
 * between the fitted points and extrapolated as a power law past the last observed rank). A
 * document draws its number of terms from the fitted quantiles, takes each frequent term (in at
 * least {@value #HEAD} of documents) by a coin of its own probability, and fills up with rarer
 * terms drawn in proportion to theirs; a document draws its weight level (median weight) from the
 * fitted levels, and each weight is that level times a draw from the fitted quantiles of weights
 * relative to their document's level in the term's rank bucket. A query draws its number of terms, a relevant document (uniform), the fitted share of
 * its terms from that document (in proportion to their weights) and the rest from the fitted ranks
 * of the real query terms that were not in the relevant document, so queries have real matches
 * and meet popular terms as real ones do.
 *
 * <p>Document {@code i} and query {@code j} depend only on the seed, {@code i} (and {@code j} and
 * the collection size): any of them can be regenerated without the others, so a million
 * documents are streamed, never held. Not thread-safe (scratch buffers).
 */
final class SparseCollectionGenerator {
  static final int VOCABULARY = 30522;
  /** Terms at least this frequent are drawn one by one (a sampler with replacement would under-draw them). */
  static final double HEAD = 0.05;
  static final String FIT_RESOURCE = "sparse-proxy-fit.json";

  private final Map<String, Object> fit;
  private final long seed;
  private final double[] docTerms;
  private final double[] queryTerms;
  private final double[] docLevels;
  private final double[][] docWeights; // relative to the document's level
  private final double[][] queryWeights;
  private final double overlap;
  private final double otherUnseen;
  private final double[] otherRanks;
  private final int observed;
  private final int[] head; // ranks drawn by their own coin
  private final double[] headP;
  private final int[] aliasRank; // Vose alias table over the other ranks
  private final double[] aliasProb;
  private final int[] alias;
  private final int[] stamp = new int[VOCABULARY];
  private int stampValue;

  SparseCollectionGenerator(Map<String, Object> fit, long seed) {
    this.fit = fit;
    this.seed = seed;
    this.docTerms = SparseCollectionStats.doubles(fit.get("docTerms"));
    this.queryTerms = SparseCollectionStats.doubles(fit.get("queryTerms"));
    this.docLevels = SparseCollectionStats.doubles(fit.get("docLevels"));
    this.docWeights = buckets(fit.get("docWeights"), List.of(1.0));
    this.queryWeights = buckets(fit.get("queryWeights"), fit.get("queryWeightsAll"));
    this.overlap = ((Number) fit.get("queryOverlap")).doubleValue();
    this.otherUnseen = ((Number) fit.get("queryOtherUnseen")).doubleValue();
    this.otherRanks = SparseCollectionStats.doubles(fit.get("queryOtherRanks"));
    this.observed = Math.min(VOCABULARY, ((Number) fit.get("observedTerms")).intValue());
    double[] p = inclusion(fit, observed);
    List<Integer> headRanks = new ArrayList<>();
    List<Integer> tailRanks = new ArrayList<>();
    for (int r = 0; r < VOCABULARY; r++) {
      (p[r] >= HEAD ? headRanks : tailRanks).add(r);
    }
    head = headRanks.stream().mapToInt(Integer::intValue).toArray();
    headP = Arrays.stream(head).mapToDouble(r -> p[r]).toArray();
    aliasRank = tailRanks.stream().mapToInt(Integer::intValue).toArray();
    aliasProb = new double[aliasRank.length];
    alias = new int[aliasRank.length];
    buildAlias(Arrays.stream(aliasRank).mapToDouble(r -> p[r]).toArray(), aliasProb, alias);
  }

  /** The committed fit. */
  static Map<String, Object> loadFit() throws IOException {
    try (InputStream in = SparseCollectionGenerator.class.getResourceAsStream(FIT_RESOURCE)) {
      if (in == null) {
        throw new IOException(FIT_RESOURCE + " is not on the class path (./neural-bench sparse-fit writes it)");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> fit = (Map<String, Object>) Utils.fromJSONString(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return fit;
    }
  }

  Map<String, Object> fit() {
    return fit;
  }

  static String term(int rank) {
    return "t" + rank;
  }

  /** Per-rank inclusion probabilities: the fitted df curve, a power law past its end. */
  private static double[] inclusion(Map<String, Object> fit, int observed) {
    double[] p = new double[VOCABULARY];
    for (int r = 0; r < observed; r++) {
      p[r] = SparseCollectionStats.dfAt(fit, r);
    }
    // slope of the last decade of observed ranks, in log-log space
    int from = Math.max(0, observed / 10 - 1);
    int to = observed - 1;
    double slope = to > from ? (Math.log(p[to]) - Math.log(p[from])) / (Math.log1p(to) - Math.log1p(from)) : -1;
    slope = Math.min(slope, -1); // the tail must thin out
    double tail = 0;
    for (int r = observed; r < VOCABULARY; r++) {
      p[r] = p[to] * Math.pow((r + 1.0) / (to + 1.0), slope);
      tail += p[r];
    }
    // Good-Turing: the unseen terms together hold about as many postings per document as the
    // terms seen once (singletons / documents); the power law only shapes how they share them
    Object singletons = fit.get("singletonTerms");
    if (singletons != null && tail > 0) {
      double mass = ((Number) singletons).doubleValue() / ((Number) fit.get("documents")).doubleValue();
      for (int r = observed; r < VOCABULARY; r++) {
        p[r] *= mass / tail;
      }
    }
    return p;
  }

  private static double[][] buckets(Object perBucket, Object all) {
    List<?> list = (List<?>) perBucket;
    double[] pooled = SparseCollectionStats.doubles(all);
    double[][] out = new double[list.size()][];
    for (int b = 0; b < out.length; b++) {
      double[] q = SparseCollectionStats.doubles(list.get(b));
      out[b] = q.length == 0 ? pooled : q; // a bucket the sample never filled: all weights
    }
    return out;
  }

  private static void buildAlias(double[] weights, double[] prob, int[] alias) {
    int n = weights.length;
    double sum = Arrays.stream(weights).sum();
    double[] scaled = new double[n];
    int[] small = new int[n];
    int[] large = new int[n];
    int ns = 0;
    int nl = 0;
    for (int i = 0; i < n; i++) {
      scaled[i] = weights[i] * n / sum;
      if (scaled[i] < 1) {
        small[ns++] = i;
      } else {
        large[nl++] = i;
      }
    }
    while (ns > 0 && nl > 0) {
      int s = small[--ns];
      int l = large[--nl];
      prob[s] = scaled[s];
      alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) {
        small[ns++] = l;
      } else {
        large[nl++] = l;
      }
    }
    while (nl > 0) {
      prob[large[--nl]] = 1;
    }
    while (ns > 0) {
      prob[small[--ns]] = 1;
    }
  }

  private SplittableRandom random(long stream, long index) {
    // one independent stream per document and per query: SplittableRandom mixes the seed
    return new SplittableRandom(new SplittableRandom(seed ^ (stream * 0x9E3779B97F4A7C15L)).split().nextLong() + index * 0xBF58476D1CE4E5B9L);
  }

  private int tailRank(SplittableRandom rnd) {
    int i = rnd.nextInt(aliasRank.length);
    return aliasRank[rnd.nextDouble() < aliasProb[i] ? i : alias[i]];
  }

  private float weight(double[][] quantiles, int bucket, SplittableRandom rnd) {
    return (float) Math.max(1e-3, SparseCollectionStats.inverse(quantiles[bucket], rnd.nextDouble()));
  }

  /** Document {@code i}: term ranks (ascending) and weights. */
  Vector document(int i) {
    SplittableRandom rnd = random(1, i);
    int n = Math.max(1, (int) Math.round(SparseCollectionStats.inverse(docTerms, rnd.nextDouble())));
    stampValue++;
    int[] ranks = new int[n];
    int size = 0;
    int[] heads = new int[head.length];
    int h = 0;
    for (int j = 0; j < head.length; j++) {
      if (rnd.nextDouble() < headP[j]) {
        heads[h++] = head[j];
      }
    }
    for (int j = 0; j < h && size < n; j++) { // more frequent terms than room: a random subset
      int pick = j + rnd.nextInt(h - j);
      int t = heads[pick];
      heads[pick] = heads[j];
      ranks[size++] = t;
      stamp[t] = stampValue;
    }
    for (int attempts = 0; size < n && attempts < 50 * n; attempts++) {
      int t = tailRank(rnd);
      if (stamp[t] != stampValue) {
        stamp[t] = stampValue;
        ranks[size++] = t;
      }
    }
    ranks = Arrays.copyOf(ranks, size);
    Arrays.sort(ranks);
    float[] weights = new float[size];
    double level = SparseCollectionStats.inverse(docLevels, rnd.nextDouble());
    for (int j = 0; j < size; j++) {
      weights[j] = (float) (level * weight(docWeights, SparseCollectionStats.bucket(ranks[j]), rnd));
    }
    return new Vector(ranks, weights);
  }

  /** Query {@code j} of a collection of {@code numDocs} documents, with the relevant document it was drawn from. */
  GeneratedQuery query(int j, int numDocs) {
    SplittableRandom rnd = random(2, j);
    int relevant = rnd.nextInt(numDocs);
    Vector d = document(relevant);
    int n = Math.max(1, (int) Math.round(SparseCollectionStats.inverse(queryTerms, rnd.nextDouble())));
    int shared = 0;
    for (int i = 0; i < n; i++) {
      shared += rnd.nextDouble() < overlap ? 1 : 0;
    }
    shared = Math.min(shared, d.ranks.length);
    // from the relevant document, in proportion to weight, without replacement
    boolean[] taken = new boolean[d.ranks.length];
    List<Integer> ranks = new ArrayList<>();
    for (int s = 0; s < shared; s++) {
      double total = 0;
      for (int i = 0; i < taken.length; i++) {
        total += taken[i] ? 0 : d.weights[i];
      }
      double u = rnd.nextDouble() * total;
      int pick = -1;
      for (int i = 0; i < taken.length; i++) {
        if (taken[i] == false) {
          pick = i;
          u -= d.weights[i];
          if (u < 0) {
            break;
          }
        }
      }
      taken[pick] = true;
      ranks.add(d.ranks[pick]);
    }
    // the others: ranks of real query terms not in their relevant document, never in this one
    for (int attempts = 0; ranks.size() < n && attempts < 50 * n; attempts++) {
      int t =
          rnd.nextDouble() < otherUnseen
              ? observed + rnd.nextInt(Math.max(1, VOCABULARY - observed))
              : (int) Math.round(SparseCollectionStats.inverse(otherRanks, rnd.nextDouble()));
      t = Math.min(VOCABULARY - 1, t);
      if (ranks.contains(t) == false && Arrays.binarySearch(d.ranks, t) < 0) {
        ranks.add(t);
      }
    }
    int[] r = ranks.stream().mapToInt(Integer::intValue).sorted().toArray();
    float[] w = new float[r.length];
    for (int i = 0; i < r.length; i++) {
      int bucket = r[i] >= observed ? SparseCollectionStats.UNSEEN_BUCKET : SparseCollectionStats.bucket(r[i]);
      w[i] = weight(queryWeights, bucket, rnd);
    }
    return new GeneratedQuery(new Vector(r, w), relevant);
  }

  /** A sparse vector: ascending term ranks and their weights. */
  record Vector(int[] ranks, float[] weights) {
    Map<String, Float> toMap() {
      Map<String, Float> m = new LinkedHashMap<>(ranks.length * 2);
      for (int i = 0; i < ranks.length; i++) {
        m.put(term(ranks[i]), weights[i]);
      }
      return m;
    }
  }

  /** A generated query and the document it was drawn from. */
  record GeneratedQuery(Vector vector, int relevant) {}
}
