package org.neuralsolr.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.lang.invoke.MethodHandles;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model package loaded into an engine on a device, with its tokenizer: the one place that talks
 * to DJL. It tokenises texts and runs forward passes over padded batches; what the output
 * means (pooling, sparsification...) is the encoders' business.
 *
 * <p>Thread-safe: forward passes may run concurrently (ONNX Runtime sessions and TorchScript
 * modules are; {@link BatchScheduler} runs one per lane). {@link #close} waits for the passes and
 * tokenizer calls in flight and refuses later ones, so native memory is never freed under them.
 */
public final class LoadedModel implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  /**
   * Characters kept from one text before tokenising. Inputs are truncated to {@code maxLength}
   * tokens anyway; this cap only stops a pathological megabyte field from being tokenised in full.
   * A word piece is rarely longer than 20 characters, so 32 per token loses nothing.
   */
  static final int CHARS_PER_TOKEN_CAP = 32;

  public final ModelManifest manifest;
  final ModelPackage modelPackage;
  final String engineName;
  final String engineVersion;
  final DeviceChoice device;
  /** Wall time of {@link #load}: reading, verifying, loading and the warm-up pass. */
  private long loadMillis;
  private final Model model;
  private final HuggingFaceTokenizer tokenizer;
  /** Token strings by id and ids by string, read from tokenizer.json (DJL offers no such lookup). */
  private final TokenVocabulary vocabulary;
  /** The manifest's {@code eosToken}'s id, appended to every tokenised text, or -1. */
  private final long eosId;
  /**
   * Held shared by every call into the engine or the tokenizer, exclusively by {@link #close}: a
   * scheduler worker can outlive {@link BatchScheduler#close}'s wait when a pass runs long, and a
   * query thread may tokenise while the core shuts down; freeing the native session under either
   * crashed the JVM (SIGSEGV in libonnxruntime on a bulk worker at shutdown).
   */
  private final ReentrantReadWriteLock open = new ReentrantReadWriteLock();
  /** Guarded by {@link #open}'s write lock. */
  private boolean closed;

  private LoadedModel(
      ModelPackage modelPackage,
      Model model,
      HuggingFaceTokenizer tokenizer,
      TokenVocabulary vocabulary,
      String engineName,
      String engineVersion,
      DeviceChoice device) {
    this.modelPackage = modelPackage;
    this.manifest = modelPackage.manifest;
    this.model = model;
    this.tokenizer = tokenizer;
    this.vocabulary = vocabulary;
    this.engineName = engineName;
    this.engineVersion = engineVersion;
    this.device = device;
    this.eosId = manifest.eosToken == null ? -1 : vocabulary.id(manifest.eosToken);
  }

  /**
   * Reads and verifies the package's files, loads them into the manifest's engine on the chosen
   * device, and checks the output width with one warm-up pass.
   *
   * @param deviceOverride what solrconfig.xml asks for, or null to use the manifest's {@code device}
   */
  public static LoadedModel load(ModelPackage pkg, DeviceRequest deviceOverride) {
    long start = System.nanoTime();
    ModelManifest m = pkg.manifest;
    byte[] modelBytes = pkg.readModel();
    byte[] tokenizerBytes = pkg.readTokenizer();
    TokenVocabulary vocabulary;
    try {
      vocabulary = TokenVocabulary.fromTokenizerJson(tokenizerBytes);
    } catch (IllegalArgumentException e) {
      throw new ModelPackageException("model '" + m.name + "': " + e.getMessage(), e);
    }
    if (m.eosToken != null && vocabulary.id(m.eosToken) < 0) {
      throw new ModelPackageException("model '" + m.name + "': the tokenizer has no token '" + m.eosToken + "' (eosToken)");
    }
    // room for the appended eosToken: the tokenizer truncates one token earlier
    int tokenizerMaxLength = m.eosToken == null ? m.maxLength : m.maxLength - 1;
    DeviceRequest requested = deviceOverride != null ? deviceOverride : m.device;
    LoadedModel loaded;
    try {
      loaded =
          DjlRuntime.withPluginClassLoader(
              () -> {
                Engine engine = Engine.getEngine(m.engine.djlName);
                DeviceChoice choice = DeviceChoice.choose(requested, engine.getEngineName(), gpuCount(m.engine, engine));
                Device device = choice.gpu ? Device.gpu() : Device.cpu();
                Model model = Model.newInstance(m.name, device, engine.getEngineName());
                try {
                  // mapLocation: TorchScript tensors saved on another device are moved to ours
                  model.load(new ByteArrayInputStream(modelBytes), Map.of("mapLocation", "true"));
                } catch (Exception e) {
                  model.close();
                  throw e;
                }
                HuggingFaceTokenizer tokenizer =
                    HuggingFaceTokenizer.newInstance(
                        new ByteArrayInputStream(tokenizerBytes),
                        Map.of(
                            "addSpecialTokens", "true",
                            "truncation", "true",
                            "padding", "false",
                            "maxLength", Integer.toString(tokenizerMaxLength),
                            "modelMaxLength", Integer.toString(tokenizerMaxLength)));
                return new LoadedModel(
                    pkg, model, tokenizer, vocabulary, engine.getEngineName(), engine.getVersion(), choice);
              });
    } catch (ModelPackageException e) {
      throw e;
    } catch (Exception e) {
      throw new ModelPackageException(
          "model '" + m.name + "' (" + pkg.location + ") cannot be loaded by " + m.engine + ": " + e, e);
    }
    loaded.checkOutputWidth();
    long millis = (System.nanoTime() - start) / 1_000_000;
    loaded.loadMillis = millis;
    log.info(
        "neural model '{}' loaded from {} on {} {} {} ({}) in {} ms",
        m.name,
        pkg.location,
        loaded.engineName,
        loaded.engineVersion,
        loaded.device.deviceName(),
        loaded.device.reason,
        millis);
    return loaded;
  }

  /**
   * What the engine's native library can use. ONNX Runtime is asked for its execution providers
   * directly, since DJL's capability probe logs a warning on every CPU-only machine.
   */
  private static int gpuCount(ModelManifest.Engine kind, Engine engine) {
    if (kind == ModelManifest.Engine.ONNX) {
      boolean cuda = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
      return cuda ? Math.max(engine.getGpuCount(), 0) : 0;
    }
    return engine.getGpuCount();
  }

  private void checkOutputWidth() {
    if (manifest.dimension <= 0) {
      return;
    }
    BatchOutput out = forward(List.of(tokenize("warm up")));
    if (out.width != manifest.dimension) {
      close();
      throw new ModelPackageException(
          "model '"
              + manifest.name
              + "': output '"
              + manifest.output
              + "' has width "
              + out.width
              + " but the manifest says dimension "
              + manifest.dimension);
    }
  }

  /**
   * Tokenises one text, truncating it to {@code maxLength} tokens (special tokens included).
   *
   * @throws IllegalArgumentException if the tokenizer rejects the text
   */
  TokenizedText tokenize(String text) {
    try (InUse use = inUse()) {
      return tokenizeOpen(text);
    }
  }

  private TokenizedText tokenizeOpen(String text) {
    return tokensOf(encode(capChars(text, manifest.maxLength * CHARS_PER_TOKEN_CAP), true));
  }

  /** What {@link #tokenize} and {@link #charSpans charSpans(text, true)} give, from one tokenizer call. */
  record Spanned(TokenizedText tokens, int[][] spans) {}

  /**
   * {@link #tokenize} and {@link #charSpans charSpans(text, true)} together: the highlighter maps
   * the stored token vectors of every hit back to characters, and the tokenizer is most of that
   * cost, so it runs once, not twice.
   *
   * @throws IllegalArgumentException if the tokenizer rejects the text
   */
  Spanned tokenizeWithSpans(String text) {
    try (InUse use = inUse()) {
      String capped = capChars(text, manifest.maxLength * CHARS_PER_TOKEN_CAP);
      Encoding encoding = encode(capped, true);
      return new Spanned(tokensOf(encoding), spansOf(encoding, capped, true));
    }
  }

  private Encoding encode(String capped, boolean specialTokens) {
    try {
      return specialTokens ? tokenizer.encode(capped) : tokenizer.encode(capped, false, false);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("the tokenizer rejected the text: " + e.getMessage(), e);
    }
  }

  private TokenizedText tokensOf(Encoding encoding) {
    long[] ids = encoding.getIds();
    long[] typeIds = encoding.getTypeIds();
    long[] special = encoding.getSpecialTokenMask();
    if (eosId >= 0) {
      ids = append(ids, eosId);
      typeIds = append(typeIds, ids.length > 1 ? typeIds[typeIds.length - 1] : 0);
      special = append(special, 1);
    }
    if (ids.length == 0) {
      throw new IllegalArgumentException("the text produced no tokens");
    }
    return new TokenizedText(ids, typeIds, null, special);
  }

  /**
   * The character span {@code [start, end)} in {@code text} of each token {@link #tokenize} (with
   * {@code specialTokens}) or {@link #tokenIdsWithoutSpecialTokens} (without) gives for it, in the
   * same order and truncated the same way; {@code {-1, -1}} for a token that covers no character
   * (special tokens, the appended end-of-sequence token).
   *
   * @throws IllegalArgumentException if the tokenizer rejects the text
   */
  int[][] charSpans(String text, boolean specialTokens) {
    if (text.isEmpty() && !specialTokens) {
      return new int[0][];
    }
    try (InUse use = inUse()) {
      return charSpansOpen(text, specialTokens);
    }
  }

  private int[][] charSpansOpen(String text, boolean specialTokens) {
    String capped = capChars(text, manifest.maxLength * CHARS_PER_TOKEN_CAP);
    return spansOf(encode(capped, specialTokens), capped, specialTokens);
  }

  private int[][] spansOf(Encoding encoding, String capped, boolean specialTokens) {
    CharSpan[] spans = encoding.getCharTokenSpans();
    // the tokenizer counts code points; Java strings count UTF-16 units
    boolean surrogates = capped.codePointCount(0, capped.length()) != capped.length();
    int n = spans.length + (specialTokens && eosId >= 0 ? 1 : 0);
    int[][] out = new int[n][];
    for (int i = 0; i < n; i++) {
      CharSpan span = i < spans.length ? spans[i] : null;
      if (span == null || (specialTokens && encoding.getSpecialTokenMask()[i] != 0)) {
        out[i] = new int[] {-1, -1};
      } else if (surrogates) {
        out[i] = new int[] {capped.offsetByCodePoints(0, span.getStart()), capped.offsetByCodePoints(0, span.getEnd())};
      } else {
        out[i] = new int[] {span.getStart(), span.getEnd()};
      }
    }
    return out;
  }

  private static long[] append(long[] values, long last) {
    long[] out = java.util.Arrays.copyOf(values, values.length + 1);
    out[values.length] = last;
    return out;
  }

  /**
   * Tokenises a (query, document) pair through the tokenizer's pair template (BERT: {@code [CLS] a
   * [SEP] b [SEP]} with token types 0 and 1), truncated longest-first to {@code maxLength} tokens,
   * as cross-encoders are trained.
   *
   * @throws IllegalArgumentException if the tokenizer rejects the pair
   */
  TokenizedText tokenizePair(String first, String second) {
    int cap = manifest.maxLength * CHARS_PER_TOKEN_CAP;
    Encoding encoding;
    try (InUse use = inUse()) {
      try {
        encoding = tokenizer.encode(capChars(first, cap), capChars(second, cap));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("the tokenizer rejected the pair: " + e.getMessage(), e);
      }
    }
    return new TokenizedText(encoding.getIds(), encoding.getTypeIds());
  }

  /**
   * The token ids of {@code text} without special tokens, at most {@code maxLength} of them; empty
   * for a text that produces none. For inputs assembled from pieces, such as a causal LM's prompt.
   */
  long[] tokenIdsWithoutSpecialTokens(String text) {
    if (text.isEmpty()) {
      return new long[0];
    }
    try (InUse use = inUse()) {
      try {
        return tokenizer.encode(capChars(text, manifest.maxLength * CHARS_PER_TOKEN_CAP), false, false).getIds();
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("the tokenizer rejected the text: " + e.getMessage(), e);
      }
    }
  }

  /**
   * The id of {@code token} (a vocabulary entry or added token such as {@code [MASK]}), or -1 when
   * the tokenizer does not know it.
   */
  long tokenId(String token) {
    return vocabulary.id(token);
  }

  /**
   * The special tokens the tokenizer puts around a single text ({@code [CLS]} and {@code [SEP]} for
   * BERT): the ids of the empty text's encoding, split at {@code [before, after]}.
   */
  long[][] specialTokensAround() {
    long[] ids;
    long[] withOne;
    long[] bare;
    try (InUse use = inUse()) {
      ids = tokenizer.encode("").getIds();
      withOne = tokenizer.encode("a").getIds();
      bare = tokenizer.encode("a", false, false).getIds();
    }
    // the position where the text's own tokens start in the encoding of "a"
    int before = 0;
    while (before < withOne.length && (bare.length == 0 || withOne[before] != bare[0])) {
      before++;
    }
    before = Math.min(before, ids.length);
    return new long[][] {java.util.Arrays.copyOfRange(ids, 0, before), java.util.Arrays.copyOfRange(ids, before, ids.length)};
  }

  /** Cuts {@code text} to at most {@code max} chars without splitting a surrogate pair. */
  static String capChars(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
    return text.substring(0, end);
  }

  /**
   * Runs one forward pass over {@code batch}, padded to its longest member on the manifest's {@code
   * paddingSide} with id 0, attention mask 0 and position 0. Position ids count from each row's
   * first real token, as Hugging Face computes them from the attention mask.
   */
  BatchOutput forward(List<TokenizedText> batch) {
    try (InUse use = inUse()) {
      return forwardOpen(batch);
    }
  }

  private BatchOutput forwardOpen(List<TokenizedText> batch) {
    int rows = batch.size();
    int width = 0;
    for (TokenizedText t : batch) {
      width = Math.max(width, t.length());
    }
    int[] padBefore = new int[rows];
    if (manifest.paddingSide == PaddingSide.LEFT) {
      for (int r = 0; r < rows; r++) {
        padBefore[r] = width - batch.get(r).length();
      }
    }
    try (NDManager manager = model.getNDManager().newSubManager()) {
      NDList inputs = new NDList(manifest.inputs.size());
      for (String input : manifest.inputs) {
        long[] values = inputValues(input, batch, width, padBefore);
        NDArray array = manager.create(values, new Shape(rows, width));
        array.setName(input);
        inputs.add(array);
      }
      NDList outputs = model.getBlock().forward(new ParameterStore(manager, false), inputs, false);
      NDArray output = selectOutput(outputs);
      if (output.getDataType() != DataType.FLOAT32) {
        output = output.toType(DataType.FLOAT32, false);
      }
      long[] shape = output.getShape().getShape();
      float[] data = output.toFloatArray();
      if (shape.length == 3) {
        return new BatchOutput(data, (int) shape[0], (int) shape[1], (int) shape[2], true, padBefore);
      }
      if (shape.length == 2) {
        return new BatchOutput(data, (int) shape[0], 1, (int) shape[1], false);
      }
      throw new IllegalStateException(
          "model '" + manifest.name + "': output has unsupported shape " + output.getShape());
    }
  }

  /**
   * One input tensor of a padded batch, row-major [rows, width]: row {@code r}'s tokens start at
   * column {@code padBefore[r]}, everything else is 0. Position ids count from each row's first
   * real token, as transformers derives them from the attention mask; rotary models would not
   * notice positions shifted by the padding, but models with absolute positions would.
   */
  static long[] inputValues(String input, List<TokenizedText> batch, int width, int[] padBefore) {
    long[] values = new long[batch.size() * width];
    for (int r = 0; r < batch.size(); r++) {
      TokenizedText t = batch.get(r);
      int base = r * width + padBefore[r];
      for (int c = 0; c < t.length(); c++) {
        switch (input) {
          case "input_ids":
            values[base + c] = t.ids[c];
            break;
          case "attention_mask":
            values[base + c] = t.attentionMask == null ? 1 : t.attentionMask[c];
            break;
          case "token_type_ids":
            values[base + c] = t.typeIds[c];
            break;
          case "position_ids":
            values[base + c] = c;
            break;
          default:
            throw new AssertionError(input);
        }
      }
    }
    return values;
  }

  private NDArray selectOutput(NDList outputs) {
    for (NDArray array : outputs) {
      if (manifest.output.equals(array.getName())) {
        return array;
      }
    }
    // TorchScript outputs carry no names: the manifest's output is the first one
    if (manifest.engine == ModelManifest.Engine.PYTORCH || outputs.size() == 1) {
      return outputs.get(0);
    }
    throw new IllegalStateException(
        "model '" + manifest.name + "' has no output named '" + manifest.output + "'");
  }

  /** The tokenizer's tokens by id. */
  TokenVocabulary vocabulary() {
    return vocabulary;
  }

  long loadMillis() {
    return loadMillis;
  }

  /** A call into the engine or the tokenizer in flight; see {@link #open}. */
  private final class InUse implements AutoCloseable {
    @Override
    public void close() {
      open.readLock().unlock();
    }
  }

  /**
   * Marks a call into native code as in flight until the returned handle closes.
   *
   * @throws IllegalStateException if the model is closed
   */
  private InUse inUse() {
    open.readLock().lock();
    if (closed) {
      open.readLock().unlock();
      throw new IllegalStateException("model '" + manifest.name + "' is closed");
    }
    return new InUse();
  }

  /** Waits for the forward passes and tokenizer calls in flight, then frees the native session. */
  @Override
  public void close() {
    open.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      tokenizer.close();
      model.close();
    } finally {
      open.writeLock().unlock();
    }
  }
}
