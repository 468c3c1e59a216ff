package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Texts to token vectors for late interaction (MaxSim), one matrix per text, rows L2-normalised.
 *
 * <p>Two modes, chosen by the model's kind:
 *
 * <ul>
 *   <li><b>ColBERT</b> ({@code multivector} models): ColBERTv2's conventions from the manifest's
 *       {@code multivector} section. A query is {@code [CLS] queryMarker tokens [SEP]} padded with
 *       {@code queryPadToken} ([MASK]) to exactly {@code queryLength} tokens, the pads attended to
 *       or not ({@code attendToMaskTokens}); every row is kept, the [MASK] rows being the query
 *       augmentation. A document is {@code [CLS] documentMarker tokens [SEP]} within {@code
 *       maxLength}; rows of skip-list tokens (punctuation) are dropped. The projection head is part
 *       of the exported graph, so the output is already {@code dimension} wide.
 *   <li><b>Token states</b> ({@code dense} models): the last hidden states of any encoder. Queries
 *       keep every token; documents drop the tokens the tokenizer adds ([CLS], [SEP]) and the
 *       skip-list's. The prefixes may differ from the dense ones ({@code multivector.queryPrefix}):
 *       an instruction written for a pooled vector need not help token-level matching.
 * </ul>
 *
 * <p>A document whose every row would be dropped keeps all of its rows instead, so that every
 * non-empty text has vectors.
 */
public final class MultiVectorEncoder {
  private static final int QUERY_CACHE_SIZE = 1024;

  /** Both representations of documents from one forward pass. */
  public static final class DocumentEncodings {
    /** The dense model's pooled vectors, one per text. */
    public final float[][] pooled;
    /** The token vectors, one matrix per text. */
    public final List<float[][]> tokens;

    DocumentEncodings(float[][] pooled, List<float[][]> tokens) {
      this.pooled = pooled;
      this.tokens = tokens;
    }
  }

  private final ServedModel served;
  private final MultiVectorSettings settings;
  private final boolean colbert;
  private final Set<Long> skipIds = new HashSet<>();
  private final long[] before;
  private final long[] after;
  private final long queryMarkerId;
  private final long documentMarkerId;
  private final long queryPadId;
  /** Forward passes that produced both representations at once (ingest sharing one model call). */
  private final LongAdder sharedPasses = new LongAdder();
  private final Map<String, float[][]> queryCache =
      Collections.synchronizedMap(
          new LinkedHashMap<>(64, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[][]> eldest) {
              return size() > QUERY_CACHE_SIZE;
            }
          });

  MultiVectorEncoder(ServedModel served) {
    this.served = served;
    ModelManifest manifest = served.model.manifest;
    this.settings = MultiVectorSettings.of(manifest);
    this.colbert = manifest.kind == ModelKind.MULTIVECTOR;
    for (String token : settings.skipList) {
      long id = served.model.tokenId(token);
      if (id >= 0) {
        skipIds.add(id); // a tokenizer without some punctuation simply never produces it
      }
    }
    long[][] around = served.model.specialTokensAround();
    this.before = around[0];
    this.after = around[1];
    if (colbert) {
      this.queryMarkerId = requireToken(settings.queryMarker, "queryMarker");
      this.documentMarkerId = requireToken(settings.documentMarker, "documentMarker");
      this.queryPadId = requireToken(settings.queryPadToken, "queryPadToken");
    } else {
      this.queryMarkerId = this.documentMarkerId = this.queryPadId = -1;
    }
  }

  private long requireToken(String token, String key) {
    long id = served.model.tokenId(token);
    if (id < 0) {
      throw new ModelPackageException(
          "manifest of '" + served.model.manifest.name + "': multivector." + key + " '" + token + "' is not a token of the tokenizer");
    }
    return id;
  }

  public int dimension() {
    return served.model.manifest.dimension;
  }

  public String modelName() {
    return served.model.manifest.name;
  }

  /** True for a ColBERT model, false for a dense model's token states. */
  public boolean isColbert() {
    return colbert;
  }

  /** Forward passes so far that gave pooled and token vectors together. */
  public long sharedPasses() {
    return sharedPasses.sum();
  }

  /** How queries and documents are encoded, for explanations. */
  public String describe() {
    return colbert
        ? "ColBERT token vectors of '" + modelName() + "' (queries of " + settings.queryLength + " tokens)"
        : "token states of '" + modelName() + "'";
  }

  /**
   * The query's token vectors, from the cache when encoded recently.
   *
   * @throws TextRejectedException if the tokenizer refused the text
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public float[][] encodeQuery(String text) {
    float[][] cached = queryCache.get(text);
    if (cached == null) {
      TokenizedText tokens = colbert ? colbertQuery(text) : tokenize(List.of(text), settings.queryPrefix).get(0);
      cached = served.scheduler.run(List.of(tokens), this::queryRows).get(0);
      queryCache.put(text, cached);
    }
    float[][] copy = new float[cached.length][];
    for (int i = 0; i < copy.length; i++) {
      copy[i] = cached[i].clone();
    }
    return copy;
  }

  /**
   * The token vectors of each document text, in order.
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public List<float[][]> encodeDocuments(List<String> texts) {
    return served.scheduler.run(documentTokens(texts), this::documentRows, BatchScheduler.Lane.BULK);
  }

  /**
   * The character span {@code [start, end)} in {@code text} of each row {@link #encodeDocuments}
   * gives for it (same tokenisation, truncation and dropped rows), or {@code {-1, -1}} for a row
   * that covers no character of the text (markers, special tokens, the document prefix). For
   * mapping stored token vectors back to the text, e.g. to highlight the tokens that matched.
   *
   * @throws TextRejectedException if the tokenizer refused the text
   */
  public int[][] documentTokenSpans(String text) {
    try {
      return colbert ? colbertDocumentSpans(text) : tokenStateSpans(text);
    } catch (IllegalArgumentException e) {
      throw new TextRejectedException(0, e.getMessage(), e);
    }
  }

  private int[][] tokenStateSpans(String text) {
    String prefix = settings.documentPrefix;
    LoadedModel.Spanned spanned = served.model.tokenizeWithSpans(prefix + text);
    TokenizedText tokens = spanned.tokens();
    int[][] spans = shifted(spanned.spans(), prefix.length());
    checkSpans(spans.length, tokens.length());
    List<int[]> kept = new ArrayList<>(spans.length);
    for (int t = 0; t < tokens.length(); t++) {
      boolean special = settings.skipSpecialTokens && tokens.specialTokensMask[t] != 0;
      if (!special && !skipIds.contains(tokens.ids[t])) {
        kept.add(spans[t]);
      }
    }
    return kept.isEmpty() ? spans : kept.toArray(new int[0][]);
  }

  private int[][] colbertDocumentSpans(String text) {
    String prefix = served.model.manifest.documentPrefix;
    TokenizedText tokens = colbertInput(prefix + text, documentMarkerId, served.model.manifest.maxLength, false);
    int[][] bare = shifted(served.model.charSpans(prefix + text, false), prefix.length());
    int[][] spans = new int[tokens.length()][];
    int first = before.length + 1;
    int kept = tokens.length() - first - after.length;
    checkSpans(bare.length, Math.max(bare.length, kept));
    for (int t = 0; t < spans.length; t++) {
      spans[t] = t >= first && t < first + kept ? bare[t - first] : new int[] {-1, -1};
    }
    List<int[]> rows = new ArrayList<>(spans.length);
    for (int t = 0; t < spans.length; t++) {
      if (!skipIds.contains(tokens.ids[t])) {
        rows.add(spans[t]);
      }
    }
    return rows.isEmpty() ? spans : rows.toArray(new int[0][]);
  }

  /** Spans moved {@code by} characters to the left; those that fall before 0 (in a prefix) cover nothing. */
  private static int[][] shifted(int[][] spans, int by) {
    for (int[] s : spans) {
      if (s[0] >= 0) {
        s[0] -= by;
        s[1] -= by;
        if (s[0] < 0) {
          s[0] = s[1] = -1;
        }
      }
    }
    return spans;
  }

  private void checkSpans(int spans, int tokens) {
    if (spans != tokens) {
      throw new IllegalStateException("model '" + modelName() + "': the tokenizer gave " + spans + " spans for " + tokens + " tokens");
    }
  }

  /**
   * True if {@link #encodeDocumentsWithPooled} can serve {@code dense}: the same model, whose dense
   * documents are tokenised exactly as its token-state documents.
   */
  public boolean sharesDocumentPassWith(DenseEncoder dense) {
    return !colbert
        && dense != null
        && dense.served() == served
        && settings.documentPrefix.equals(served.model.manifest.documentPrefix);
  }

  /**
   * Pooled vectors and token vectors of each document from one forward pass over each batch (a
   * dense model read twice from the same output).
   *
   * @throws IllegalStateException if {@link #sharesDocumentPassWith} is false for {@code dense}
   */
  public DocumentEncodings encodeDocumentsWithPooled(List<String> texts, DenseEncoder dense) {
    if (!sharesDocumentPassWith(dense)) {
      throw new IllegalStateException("model '" + modelName() + "' cannot give both representations in one pass");
    }
    List<Object[]> both =
        served.scheduler.run(
            documentTokens(texts),
            (out, row, text) -> new Object[] {dense.pool(out, row, text), documentRows(out, row, text)},
            BatchScheduler.Lane.BULK);
    float[][] pooled = new float[both.size()][];
    List<float[][]> tokens = new ArrayList<>(both.size());
    for (int i = 0; i < both.size(); i++) {
      pooled[i] = (float[]) both.get(i)[0];
      tokens.add((float[][]) both.get(i)[1]);
    }
    sharedPasses.increment();
    return new DocumentEncodings(pooled, tokens);
  }

  private List<TokenizedText> documentTokens(List<String> texts) {
    if (!colbert) {
      return tokenize(texts, settings.documentPrefix);
    }
    List<TokenizedText> out = new ArrayList<>(texts.size());
    String prefix = served.model.manifest.documentPrefix;
    for (int i = 0; i < texts.size(); i++) {
      try {
        out.add(colbertInput(prefix + texts.get(i), documentMarkerId, served.model.manifest.maxLength, false));
      } catch (IllegalArgumentException e) {
        throw new TextRejectedException(i, e.getMessage(), e);
      }
    }
    return out;
  }

  private List<TokenizedText> tokenize(List<String> texts, String prefix) {
    return served.tokenize(texts, prefix);
  }

  private TokenizedText colbertQuery(String text) {
    try {
      return colbertInput(served.model.manifest.queryPrefix + text, queryMarkerId, settings.queryLength, true);
    } catch (IllegalArgumentException e) {
      throw new TextRejectedException(0, e.getMessage(), e);
    }
  }

  /**
   * {@code before marker tokens after}, at most {@code length} ids; queries are then padded to
   * {@code length} with the pad token. Tokenising without special tokens and assembling the ids
   * here puts the marker where ColBERT does (right after [CLS]) whatever the tokenizer's template.
   */
  private TokenizedText colbertInput(String text, long marker, int length, boolean query) {
    long[] bare = served.model.tokenIdsWithoutSpecialTokens(text);
    int room = Math.max(0, length - before.length - 1 - after.length);
    int kept = Math.min(room, bare.length);
    int real = before.length + 1 + kept + after.length;
    int total = query ? Math.max(length, real) : real;
    long[] ids = new long[total];
    long[] mask = new long[total];
    int p = 0;
    for (long id : before) {
      ids[p++] = id;
    }
    ids[p++] = marker;
    System.arraycopy(bare, 0, ids, p, kept);
    p += kept;
    for (long id : after) {
      ids[p++] = id;
    }
    Arrays.fill(mask, 0, real, 1);
    for (; p < total; p++) {
      ids[p] = queryPadId;
      mask[p] = settings.attendToMaskTokens ? 1 : 0;
    }
    return new TokenizedText(ids, new long[total], mask, new long[total]);
  }

  private float[][] queryRows(BatchOutput out, int row, TokenizedText text) {
    checkTokenLevel(out, text);
    float[][] rows = new float[text.length()][];
    for (int t = 0; t < rows.length; t++) {
      rows[t] = row(out, row, t);
    }
    return rows;
  }

  private float[][] documentRows(BatchOutput out, int row, TokenizedText text) {
    checkTokenLevel(out, text);
    List<float[]> rows = new ArrayList<>(text.length());
    for (int t = 0; t < text.length(); t++) {
      boolean special = !colbert && settings.skipSpecialTokens && text.specialTokensMask[t] != 0;
      if (!special && !skipIds.contains(text.ids[t])) {
        rows.add(row(out, row, t));
      }
    }
    if (rows.isEmpty()) {
      for (int t = 0; t < text.length(); t++) {
        rows.add(row(out, row, t));
      }
    }
    return rows.toArray(new float[0][]);
  }

  private float[] row(BatchOutput out, int row, int t) {
    float[] v = Arrays.copyOfRange(out.data, out.offset(row) + t * out.width, out.offset(row) + (t + 1) * out.width);
    if (!colbert || settings.normalize) {
      Pooling.normalize(v);
    }
    return v;
  }

  private static void checkTokenLevel(BatchOutput out, TokenizedText text) {
    if (out.tokens < text.length()) {
      throw new IllegalStateException(
          "the model's output is not token-level (" + out.tokens + " rows for " + text.length() + " tokens)");
    }
  }
}
