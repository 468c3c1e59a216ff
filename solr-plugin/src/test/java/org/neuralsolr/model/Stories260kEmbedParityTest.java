package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * stories260K, a real llama2.c Llama, as a last-token embedder (parity fixture {@code
 * stories260k-embed}, written by {@code scripts/convert_llama2c.py}: the final RMSNorm's states, BOS
 * from the tokenizer, {@code </s>} appended) reproduces PyTorch's vectors on both engines, for each
 * text alone and in left- and right-padded batches of mixed lengths, one of them cut at maxLength.
 * The vectors have no retrieval quality; this checks only that the plugin computes them exactly.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class Stories260kEmbedParityTest extends SolrTestCase {
  private static final String FIXTURE = "stories260k-embed";
  private static final float TOLERANCE = 1e-4f;
  private static List<Map<String, Object>> texts;
  private static List<String> strings;
  /** ONNX and TorchScript, each with the left-padding and the right-padding manifest. */
  private static List<ServedModel> models;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    texts = (List<Map<String, Object>>) ParityFixtures.reference(FIXTURE).get("texts");
    strings = new ArrayList<>();
    for (Map<String, Object> t : texts) {
      strings.add((String) t.get("text"));
    }
    models = new ArrayList<>();
    for (String manifest :
        List.of("neural-model.json", "neural-model-torchscript.json", "neural-model-right.json", "neural-model-right-torchscript.json")) {
      models.add(new ServedModel(ParityFixtures.load(FIXTURE, manifest), SchedulerConfig.DEFAULTS));
    }
  }

  @AfterClass
  public static void close() {
    if (models != null) {
      for (ServedModel m : models) {
        m.close();
      }
    }
    models = null;
  }

  public void testManifestsAskForWhatTheTestsBelowCover() {
    assertEquals(PaddingSide.LEFT, models.get(0).manifest().paddingSide);
    assertEquals(PaddingSide.RIGHT, models.get(2).manifest().paddingSide);
    assertTrue(models.get(0).engine(), models.get(0).engine().startsWith("OnnxRuntime"));
    assertTrue(models.get(1).engine(), models.get(1).engine().startsWith("PyTorch"));
    for (ServedModel m : models) {
      assertEquals(Pooling.LAST_TOKEN, m.manifest().pooling);
      assertEquals(64, m.denseEncoder().dimension());
    }
  }

  public void testTokenIdsAreBosTextEosAndFitMaxLength() {
    boolean sawTruncated = false;
    for (Map<String, Object> t : texts) {
      String text = (String) t.get("text");
      TokenizedText tokens = models.get(0).model.tokenize(text);
      assertArrayEquals(text, ParityFixtures.longs(t.get("inputIds")), tokens.ids);
      assertEquals(1, tokens.ids[0]); // <s>
      assertEquals(2, tokens.ids[tokens.length() - 1]); // </s>
      sawTruncated |= (Boolean) t.get("truncated");
    }
    assertTrue("one text is cut at maxLength", sawTruncated);
  }

  public void testSingleTextsOnBothEngines() {
    for (ServedModel m : models) {
      for (Map<String, Object> t : texts) {
        String what = m.manifest().name + " " + m.engine() + " alone: " + t.get("text");
        TokenizedText tokens = m.model.tokenize((String) t.get("text"));
        checkRow(what, t, m.model.forward(List.of(tokens)), 0, tokens.length());
        float[] v = m.denseEncoder().encode(List.of((String) t.get("text")), TextRole.DOCUMENT)[0];
        assertClose(what, ParityFixtures.floats(t.get("lastTokenNormalized")), v);
        // no instructions in the manifest: a query is encoded as the same text
        assertClose(what + " (query)", ParityFixtures.floats(t.get("lastTokenNormalized")), m.denseEncoder().encodeQuery((String) t.get("text")));
      }
    }
  }

  public void testMixedLengthBatchesPaddedLeftAndRight() {
    for (ServedModel m : models) {
      List<TokenizedText> tokens = m.tokenize(strings, TextRole.DOCUMENT);
      BatchOutput out = m.model.forward(tokens);
      assertEquals("one padded batch", texts.size(), out.batch);
      for (int i = 0; i < texts.size(); i++) {
        checkRow(m.manifest().name + " " + m.engine() + " batched: " + strings.get(i), texts.get(i), out, i, tokens.get(i).length());
      }
      float[][] vectors = m.denseEncoder().encode(strings, TextRole.DOCUMENT);
      for (int i = 0; i < texts.size(); i++) {
        float[] expected = ParityFixtures.floats(texts.get(i).get("lastTokenNormalized"));
        assertClose(m.manifest().name + " " + m.engine() + " encoder: " + strings.get(i), expected, vectors[i]);
      }
    }
  }

  private static void checkRow(String what, Map<String, Object> expected, BatchOutput out, int row, int length) {
    assertClose(what + " last token", ParityFixtures.floats(expected.get("lastToken")), Pooling.LAST_TOKEN.pool(out.data, out.offset(row), length, out.width));
    assertClose(what + " mean", ParityFixtures.floats(expected.get("mean")), Pooling.MEAN.pool(out.data, out.offset(row), length, out.width));
  }

  private static void assertClose(String what, float[] expected, float[] actual) {
    assertEquals(what + ": length", expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > TOLERANCE) {
        fail(what + ": value " + i + " expected " + expected[i] + " got " + actual[i] + " in " + Arrays.toString(actual).substring(0, 80));
      }
    }
  }
}
