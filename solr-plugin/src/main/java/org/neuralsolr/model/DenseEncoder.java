package org.neuralsolr.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Texts to single vectors: prefix, tokenise, batched forward pass, pooling, optional L2
 * normalisation. Query encodings are kept in a small LRU cache, since paging and faceting re-run the
 * same query text.
 */
public final class DenseEncoder {
  private static final int QUERY_CACHE_SIZE = 1024;

  private final ServedModel served;
  private final Pooling pooling;
  private final boolean normalize;
  private final Map<String, float[]> queryCache =
      Collections.synchronizedMap(
          new LinkedHashMap<>(64, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
              return size() > QUERY_CACHE_SIZE;
            }
          });

  DenseEncoder(ServedModel served) {
    this.served = served;
    this.pooling = served.model.manifest.pooling;
    this.normalize = served.model.manifest.normalize;
  }

  ServedModel served() {
    return served;
  }

  /** The most tokens, special tokens included, the model reads of one text. */
  public int maxLength() {
    return served.model.manifest.maxLength;
  }

  /**
   * The character span {@code [start, end)} in {@code text} of each of its tokens, special tokens
   * left out, as many as the model reads ({@code maxLength}); for cutting a long text into passages
   * counted in the model's own tokens.
   *
   * @throws TextRejectedException if the tokenizer refused the text
   */
  public int[][] tokenSpans(String text) {
    try {
      return served.model.charSpans(text, false);
    } catch (IllegalArgumentException e) {
      throw new TextRejectedException(0, e.getMessage(), e);
    }
  }

  public int dimension() {
    return served.model.manifest.dimension;
  }

  public String modelName() {
    return served.model.manifest.name;
  }

  /**
   * One vector per text, in order.
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public float[][] encode(List<String> texts, TextRole role) {
    return encode(texts, role, null);
  }

  /**
   * One vector per text, in order, each text shaped by the named instruction template.
   *
   * @param instruction a name from the manifest's {@code instructions} for {@code role}, or null
   *     for the role's default (or its prefix)
   * @throws UnknownInstructionException if the manifest has no such template, listing those it has
   * @throws TextRejectedException naming the first text the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public float[][] encode(List<String> texts, TextRole role, String instruction) {
    List<TokenizedText> tokens = served.tokenize(texts, role, instruction);
    List<float[]> vectors = served.scheduler.run(tokens, this::pool, BatchScheduler.Lane.of(role));
    return vectors.toArray(new float[0][]);
  }

  /** Encodes one query text, from the cache when it was encoded recently. */
  public float[] encodeQuery(String text) {
    return encodeQuery(text, null);
  }

  /**
   * Encodes one query text under the named instruction (null: the default), from the cache when it
   * was encoded recently.
   *
   * @throws UnknownInstructionException if the manifest has no such query instruction
   */
  public float[] encodeQuery(String text, String instruction) {
    checkInstruction(TextRole.QUERY, instruction);
    // a known name is a manifest key, which cannot hold the separator: the key is unambiguous
    String key = (instruction == null ? "" : instruction) + '\u0000' + text;
    float[] cached = queryCache.get(key);
    if (cached == null) {
      cached = encode(List.of(text), TextRole.QUERY, instruction)[0];
      queryCache.put(key, cached);
    }
    return cached.clone();
  }

  /**
   * Throws {@link UnknownInstructionException} unless {@code instruction} is null or one of the
   * manifest's templates for {@code role}; for checking configuration before any text arrives.
   */
  public void checkInstruction(TextRole role, String instruction) {
    served.model.manifest.instructions.check(role, instruction);
  }

  float[] pool(BatchOutput out, int row, TokenizedText text) {
    float[] v = pooling.pool(out.data, out.offset(row), text.length(), out.width);
    if (normalize) {
      Pooling.normalize(v);
    }
    return v;
  }
}
