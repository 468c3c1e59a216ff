package org.neuralsolr.model;

import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Texts to learned sparse vectors (term &rarr; weight), the terms being the tokenizer's tokens
 * (word pieces such as {@code retrieval} or {@code ##code}).
 *
 * <p>SPLADE: the network's masked-LM logits [batch, tokens, vocabulary] are pooled by the maximum
 * over the text's positions (attention mask 1; special positions too unless {@code
 * maskSpecialTokens}), then the activation (log(1 + ReLU) by default) turns each pooled value into a
 * weight. Max and the activation commute (the activation is monotone), so the activation is
 * computed once per vocabulary entry rather than once per position. A graph that pools itself
 * ({@code pooling: none}) gives [batch, vocabulary] directly. This runs on the scheduler's worker
 * as the batch's reducer, so a caller keeps only its text's pruned map, never the [tokens,
 * vocabulary] slice of the output.
 *
 * <p>Each side is then pruned as the manifest says: weights at or below {@code minWeight} are
 * dropped and the {@code topK} heaviest kept (ties by vocabulary id).
 *
 * <p>Doc-only ("inference-free") models encode queries without the network: the query's tokens
 * (special tokens left out, each token once) weighted by the package's token weight table.
 *
 * <p>Query encodings are kept in a small LRU cache, since paging and faceting re-run a query.
 */
public final class SparseEncoder {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());
  private static final int QUERY_CACHE_SIZE = 1024;
  /** Output size of one forward pass above which the load log warns about memory. */
  private static final long LARGE_OUTPUT_BYTES = 512L << 20;

  private final ServedModel served;
  private final SparseSettings settings;
  private final TokenVocabulary vocabulary;
  /** Weight of each token id for doc-only query encoding, or null when queries use the model. */
  private final float[] queryTokenWeights;
  private final Map<String, Map<String, Float>> queryCache =
      Collections.synchronizedMap(
          new LinkedHashMap<>(64, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Map<String, Float>> eldest) {
              return size() > QUERY_CACHE_SIZE;
            }
          });

  /**
   * Checks with one warm-up pass that the output fits the manifest: its width must be the
   * tokenizer's vocabulary size, its rank 3 for {@code pooling: max} and 2 for {@code none}.
   *
   * @throws ModelPackageException if it does not, or the token weight table is invalid
   */
  SparseEncoder(ServedModel served) {
    this.served = served;
    ModelManifest manifest = served.model.manifest;
    this.settings = manifest.sparse;
    this.vocabulary = served.model.vocabulary();
    BatchOutput probe = served.model.forward(List.of(served.model.tokenize("warm up")));
    if (probe.width != vocabulary.size()) {
      throw new ModelPackageException(
          "model '" + manifest.name + "': output '" + manifest.output + "' has width " + probe.width
              + " but the tokenizer's vocabulary has " + vocabulary.size()
              + " entries; a sparse model's output must have one column per token");
    }
    int[] holes = vocabulary.missingIds(5);
    if (holes.length > 0) {
      throw new ModelPackageException(
          "model '" + manifest.name + "': the tokenizer has no token for ids " + Arrays.toString(holes)
              + ", so their weights would have no term");
    }
    if (probe.perToken == settings.pooledOutput) {
      throw new ModelPackageException(
          "model '" + manifest.name + "': output '" + manifest.output + "' is "
              + (probe.perToken ? "[batch, tokens, vocabulary] but 'sparse.pooling' is none"
                  : "[batch, vocabulary] but 'sparse.pooling' is max (use none for graphs that pool themselves)"));
    }
    if (probe.perToken) {
      long bytes = (long) served.scheduler.config().maxBatchTokens * probe.width * Float.BYTES;
      if (bytes > LARGE_OUTPUT_BYTES) {
        log.warn(
            "sparse model '{}': a full batch of maxBatchTokens={} padded tokens gives a {} MB [batch, tokens, {}] "
                + "output, held twice (engine and Java); set this model's <int name=\"maxBatchTokens\"> to 2048 or less",
            manifest.name, served.scheduler.config().maxBatchTokens, bytes >> 20, probe.width);
      }
    }
    this.queryTokenWeights =
        settings.queryEncoder == SparseSettings.QueryEncoder.TOKEN_WEIGHTS
            ? QueryTokenWeights.read(served.model.modelPackage, vocabulary)
            : null;
  }

  public String modelName() {
    return served.model.manifest.name;
  }

  /** False for doc-only models, whose queries are weighted tokens rather than model outputs. */
  public boolean queriesUseModel() {
    return queryTokenWeights == null;
  }

  /**
   * One sparse vector per text, in order: term &rarr; weight, heaviest first, pruned for {@code
   * role}. A text may get an empty vector (every weight zero).
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public List<Map<String, Float>> encode(List<String> texts, TextRole role) {
    if (role == TextRole.QUERY && queryTokenWeights != null) {
      List<Map<String, Float>> out = new ArrayList<>(texts.size());
      for (TokenizedText t : served.tokenize(texts, role)) {
        out.add(weightTokens(t));
      }
      return out;
    }
    SparseSettings.Pruning pruning = settings.pruning(role);
    return served.scheduler.run(
        served.tokenize(texts, role), (out, row, text) -> pool(out, row, text, pruning), BatchScheduler.Lane.of(role));
  }

  /** Encodes one query text, from the cache when it was encoded recently. */
  public Map<String, Float> encodeQuery(String text) {
    Map<String, Float> cached = queryCache.get(text);
    if (cached == null) {
      cached = Collections.unmodifiableMap(encode(List.of(text), TextRole.QUERY).get(0));
      queryCache.put(text, cached);
    }
    return cached;
  }

  /**
   * The tokens of {@code text} itself (no prefix, no special tokens), in order of first
   * appearance: the terms of a query vector that are not expansions.
   *
   * @throws TextRejectedException if the tokenizer refuses the text
   */
  public Set<String> textTokens(String text) {
    TokenizedText t;
    try {
      t = served.model.tokenize(text);
    } catch (IllegalArgumentException e) {
      throw new TextRejectedException(0, e.getMessage(), e);
    }
    Set<String> tokens = new LinkedHashSet<>();
    for (int i = 0; i < t.length(); i++) {
      if (t.specialTokensMask[i] == 0) {
        tokens.add(vocabulary.token((int) t.ids[i]));
      }
    }
    return tokens;
  }

  /** The reducer: one text's rows of the batch output to its pruned vector. */
  private Map<String, Float> pool(BatchOutput out, int row, TokenizedText text, SparseSettings.Pruning pruning) {
    int width = out.width;
    float[] pooled = new float[width];
    int offset = out.offset(row);
    if (!out.perToken) {
      System.arraycopy(out.data, offset, pooled, 0, width);
    } else {
      Arrays.fill(pooled, Float.NEGATIVE_INFINITY);
      boolean any = false;
      // inputs are right-padded: the text's positions are its first length() rows
      for (int t = 0; t < text.length(); t++) {
        if (settings.maskSpecialTokens && text.specialTokensMask[t] != 0) {
          continue;
        }
        any = true;
        int base = offset + t * width;
        for (int j = 0; j < width; j++) {
          float x = out.data[base + j];
          if (x > pooled[j]) {
            pooled[j] = x;
          }
        }
      }
      if (!any) {
        return new LinkedHashMap<>();
      }
    }
    for (int j = 0; j < width; j++) {
      pooled[j] = settings.activation.apply(pooled[j]);
    }
    return prune(pooled, pruning);
  }

  /** Doc-only query encoding: each distinct non-special token with its table weight. */
  private Map<String, Float> weightTokens(TokenizedText text) {
    float[] weights = new float[vocabulary.size()];
    for (int i = 0; i < text.length(); i++) {
      int id = (int) text.ids[i];
      if (text.specialTokensMask[i] == 0 && id >= 0 && id < weights.length) {
        weights[id] = queryTokenWeights[id];
      }
    }
    return prune(weights, settings.query);
  }

  /** Weights above the threshold, heaviest first (ties by id), at most topK of them. */
  private Map<String, Float> prune(float[] weights, SparseSettings.Pruning pruning) {
    int n = 0;
    long[] keys = new long[16];
    for (int j = 0; j < weights.length; j++) {
      float w = weights[j];
      if (w > pruning.minWeight && w > 0f && !(settings.skipSpecialTokenTerms && vocabulary.isSpecial(j))) {
        if (n == keys.length) {
          keys = Arrays.copyOf(keys, n * 2);
        }
        // sort key: weight descending (positive float bits order like the floats), then id ascending
        keys[n++] = ((long) (Integer.MAX_VALUE - Float.floatToIntBits(w)) << 32) | j;
      }
    }
    Arrays.sort(keys, 0, n);
    int keep = pruning.topK > 0 ? Math.min(n, pruning.topK) : n;
    Map<String, Float> vector = new LinkedHashMap<>(keep * 2);
    for (int i = 0; i < keep; i++) {
      int id = (int) keys[i];
      vector.put(vocabulary.token(id), weights[id]);
    }
    return vector;
  }
}
