package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.LuceneTestCase.SuppressFileSystems;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * Long inputs on a real decoder: the parity fixture {@code tiny-llama-embed} (a Llama with
 * last-token pooling) through its {@code neural-model-long.json}, whose {@code maxLength} is the
 * model's own limit, {@code maxPositions} 8,192. A text of the full length encodes as PyTorch
 * encodes it; a {@code maxLength} above the limit is refused when the package loads; and with
 * mixed inputs of 8 to 8,192 tokens every forward pass the scheduler runs keeps to its padded-token
 * budget (the input and output tensors are bounded by it, and so is attention's rows × length²
 * by budget × maxLength), in length order and in arrival order alike, while each text's vector is
 * the one it has alone. What length order saves in padding is measured by {@code ./neural-bench
 * long}, not here: on this input, whose mid-length texts happen to arrive shortest first, arrival
 * order pads less.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
@SuppressFileSystems("*") // a package copied to a temp dir resolves against the real fixture paths
public class LongInputBatchingTest extends SolrTestCase {
  private static final String FIXTURE = "tiny-llama-embed";
  private static final float TOLERANCE = 1e-4f;
  private static final int MAX_LENGTH = 8192;
  private static final int MAX_BATCH_SIZE = 256;
  /**
   * The padded-token budget: 8,192 rather than the default 16,384, so that the 8,192-token text
   * runs alone and the test's attention scratch (rows × heads-at-a-time × length² floats) stays near
   * 1 GiB on a shared test machine; {@link BatchSchedulerTest} covers the default's shapes.
   */
  private static final int MAX_BATCH_TOKENS = 8192;
  private static LoadedModel model;
  private static Map<String, Object> longText;
  /** The full-length text's token ids: 8,191 pieces and the EOS token. */
  private static long[] longIds;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    model = ParityFixtures.load(FIXTURE, "neural-model-long.json");
    longText = (Map<String, Object>) ParityFixtures.reference(FIXTURE).get("longText");
    longIds = model.tokenize(fullLengthText()).ids;
  }

  @AfterClass
  public static void close() {
    if (model != null) {
      model.close();
    }
    model = null;
    longText = null;
    longIds = null;
  }

  private static String fullLengthText() {
    return ((String) longText.get("unit")).repeat(((Number) longText.get("repeat")).intValue());
  }

  public void testMaxLengthMayBeTheModelsOwnLimit() {
    assertEquals(MAX_LENGTH, model.manifest.maxLength);
    assertEquals(MAX_LENGTH, model.manifest.maxPositions);
    TokenizedText tokens = model.tokenize(fullLengthText());
    assertEquals("truncated to maxLength, the EOS token included", MAX_LENGTH, tokens.length());
    assertArrayEquals(ParityFixtures.longs(longText.get("inputIdsHead")), Arrays.copyOfRange(tokens.ids, 0, 16));
    assertArrayEquals(ParityFixtures.longs(longText.get("inputIdsTail")), Arrays.copyOfRange(tokens.ids, MAX_LENGTH - 16, MAX_LENGTH));
    float[] v = lastTokenNormalized(model.forward(List.of(tokens)), 0, tokens);
    assertClose("8,192 tokens alone", ParityFixtures.floats(longText.get("lastTokenNormalized")), v);
  }

  public void testMaxLengthAboveTheModelsLimitIsRefusedNamingTheKeys() throws Exception {
    Path dir = createTempDir().resolve(FIXTURE);
    Files.createDirectories(dir);
    Path fixture = ParityFixtures.root().resolve(FIXTURE);
    for (String file : List.of("model.onnx", "tokenizer.json")) {
      Files.copy(fixture.resolve(file), dir.resolve(file));
    }
    String manifest = Files.readString(fixture.resolve("neural-model-long.json"), StandardCharsets.UTF_8);
    assertTrue(manifest, manifest.contains("\"maxLength\": 8192"));
    Files.writeString(dir.resolve("neural-model.json"), manifest.replace("\"maxLength\": 8192", "\"maxLength\": 8193"));
    ModelPackageException e =
        expectThrows(ModelPackageException.class, () -> ModelPackage.resolve(FIXTURE, ModelRoots.of(List.of(dir.getParent()))));
    assertTrue(e.getMessage(), e.getMessage().contains("'maxLength' 8193 is above the model's own limit 'maxPositions' 8192"));
  }

  /** One forward pass the scheduler ran: its rows, padded length and output size. */
  private static final class Pass {
    final List<Integer> lengths = new ArrayList<>();
    int padded;
    long outputFloats;

    long paddedTokens() {
      return (long) lengths.size() * padded;
    }
  }

  /**
   * Inputs of 8 to 8,192 tokens (prefixes of the full-length text, each ending in the EOS token), in
   * this arrival order: 255 short texts of 8 to 32 tokens with the 8,192-token text among them,
   * then one text of each power of two from 64 to 4,096 tokens.
   */
  private static List<TokenizedText> mixedLengths() {
    List<TokenizedText> texts = new ArrayList<>();
    for (int i = 0; i < 255; i++) {
      texts.add(prefix(8 + (i * 7) % 25));
      if (i == 100) {
        texts.add(prefix(MAX_LENGTH));
      }
    }
    for (int length = 64; length <= 4096; length *= 2) {
      texts.add(prefix(length));
    }
    return texts;
  }

  private static TokenizedText prefix(int length) {
    long[] ids = Arrays.copyOf(longIds, length);
    ids[length - 1] = longIds[MAX_LENGTH - 1];
    return new TokenizedText(ids, new long[length]);
  }

  public void testMixedLengthsKeepEveryForwardPassWithinTheBudget() {
    List<TokenizedText> texts = mixedLengths();
    List<float[]> byLength = null;
    for (SchedulerConfig.BatchOrder order : SchedulerConfig.BatchOrder.values()) {
      List<Pass> passes = Collections.synchronizedList(new ArrayList<>());
      BatchScheduler.Forward recording =
          batch -> {
            Pass pass = new Pass();
            for (TokenizedText t : batch) {
              pass.lengths.add(t.length());
            }
            pass.padded = Collections.max(pass.lengths);
            BatchOutput out = model.forward(batch);
            pass.outputFloats = out.data.length;
            passes.add(pass);
            return out;
          };
      ModelStats stats = new ModelStats();
      SchedulerConfig config = new SchedulerConfig(MAX_BATCH_SIZE, MAX_BATCH_TOKENS, 0, 1024, 600_000, order);
      List<float[]> vectors;
      try (BatchScheduler scheduler = new BatchScheduler(FIXTURE, recording, config, stats)) {
        vectors = scheduler.run(texts, LongInputBatchingTest::lastTokenNormalized, BatchScheduler.Lane.BULK);
      }
      long peakOutput = 0;
      for (Pass pass : passes) {
        String what = order + " order, pass of lengths " + pass.lengths;
        assertTrue(what + ": over the budget", pass.lengths.size() == 1 || pass.paddedTokens() <= MAX_BATCH_TOKENS);
        assertEquals(what, pass.paddedTokens() * model.manifest.dimension, pass.outputFloats);
        if (pass.lengths.contains(MAX_LENGTH)) {
          assertTrue(what + ": the 8,192-token text shares its pass with short ones", pass.lengths.size() <= MAX_BATCH_TOKENS / MAX_LENGTH);
        }
        peakOutput = Math.max(peakOutput, pass.outputFloats);
      }
      assertTrue(order + ": peak tensor " + peakOutput, peakOutput <= (long) MAX_BATCH_TOKENS * model.manifest.dimension);
      assertTrue(order + ": peak batch " + stats.peakBatchTokens(), stats.peakBatchTokens() <= MAX_BATCH_TOKENS);
      assertEquals(texts.size(), stats.texts());
      if (order == SchedulerConfig.BatchOrder.LENGTH) {
        byLength = vectors;
        // every text's vector is the one it has alone; the full-length one is PyTorch's
        for (int i = 0; i < texts.size(); i++) {
          TokenizedText t = texts.get(i);
          if (t.length() == MAX_LENGTH) {
            assertClose("8,192 tokens in a batch", ParityFixtures.floats(longText.get("lastTokenNormalized")), vectors.get(i));
          } else {
            assertClose(t.length() + " tokens in a batch", lastTokenNormalized(model.forward(List.of(t)), 0, t), vectors.get(i));
          }
        }
      } else {
        for (int i = 0; i < texts.size(); i++) {
          assertClose(texts.get(i).length() + " tokens in arrival order", byLength.get(i), vectors.get(i));
        }
      }
    }
  }

  private static float[] lastTokenNormalized(BatchOutput out, int row, TokenizedText text) {
    float[] v = Pooling.LAST_TOKEN.pool(out.data, out.offset(row), text.length(), out.width);
    Pooling.normalize(v);
    return v;
  }

  private static void assertClose(String what, float[] expected, float[] actual) {
    assertEquals(what + ": dimension", expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(what + " [" + i + "]", expected[i], actual[i], TOLERANCE);
    }
  }
}
