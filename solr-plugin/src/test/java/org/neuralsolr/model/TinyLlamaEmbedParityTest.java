package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * A causal decoder as a dense model (parity fixture {@code tiny-llama-embed}: a Llama with
 * last-token pooling, an appended EOS token and a query instruction) reproduces PyTorch's reference
 * on both engines, for each text alone and in right- and left-padded batches of mixed lengths.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class TinyLlamaEmbedParityTest extends SolrTestCase {
  private static final String FIXTURE = "tiny-llama-embed";
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
    assertTrue(models.get(1).engine(), models.get(1).engine().startsWith("PyTorch"));
    assertTrue(models.get(0).engine(), models.get(0).engine().startsWith("OnnxRuntime"));
    assertEquals(Pooling.LAST_TOKEN, models.get(0).manifest().pooling);
  }

  public void testTokenIdsEndWithTheAppendedEosAndFitMaxLength() {
    for (Map<String, Object> t : texts) {
      String text = (String) t.get("text");
      TokenizedText tokens = models.get(0).model.tokenize(text);
      assertArrayEquals(text, ParityFixtures.longs(t.get("inputIds")), tokens.ids);
      Map<String, Object> q = query(t);
      List<TokenizedText> query = models.get(0).tokenize(List.of(text), TextRole.QUERY);
      assertArrayEquals("query " + text, ParityFixtures.longs(q.get("inputIds")), query.get(0).ids);
    }
  }

  public void testSingleTextsOnBothEnginesBothPoolings() {
    for (ServedModel m : models) {
      for (Map<String, Object> t : texts) {
        String what = m.manifest().name + " alone: " + t.get("text");
        TokenizedText tokens = m.model.tokenize((String) t.get("text"));
        checkRow(what, t, m.model.forward(List.of(tokens)), 0, tokens.length());
        float[] v = m.denseEncoder().encode(List.of((String) t.get("text")), TextRole.DOCUMENT)[0];
        assertClose(what, ParityFixtures.floats(t.get("lastTokenNormalized")), v);
      }
    }
  }

  public void testMixedLengthBatchesPaddedLeftAndRight() {
    for (ServedModel m : models) {
      List<TokenizedText> tokens = m.tokenize(strings, TextRole.DOCUMENT);
      BatchOutput out = m.model.forward(tokens);
      assertEquals("one padded batch", texts.size(), out.batch);
      for (int i = 0; i < texts.size(); i++) {
        checkRow(m.manifest().name + " batched: " + strings.get(i), texts.get(i), out, i, tokens.get(i).length());
      }
      // through the encoder and its scheduler (one batch: fewer texts than maxBatchSize)
      float[][] vectors = m.denseEncoder().encode(strings, TextRole.DOCUMENT);
      for (int i = 0; i < texts.size(); i++) {
        assertClose(m.manifest().name + " encoder: " + strings.get(i), ParityFixtures.floats(texts.get(i).get("lastTokenNormalized")), vectors[i]);
      }
    }
  }

  public void testQueriesGetTheDefaultInstructionOrTheOneNamed() {
    for (ServedModel m : models) {
      float[][] withDefault = m.denseEncoder().encode(strings, TextRole.QUERY);
      float[][] plain = m.denseEncoder().encode(strings, TextRole.QUERY, "plain");
      for (int i = 0; i < texts.size(); i++) {
        String what = m.manifest().name + " query: " + strings.get(i);
        assertClose(what, ParityFixtures.floats(query(texts.get(i)).get("lastTokenNormalized")), withDefault[i]);
        assertClose(what + " (plain)", ParityFixtures.floats(texts.get(i).get("lastTokenNormalized")), plain[i]);
      }
      assertClose("cached", withDefault[0], m.denseEncoder().encodeQuery(strings.get(0)));
      assertClose("cached apart", plain[0], m.denseEncoder().encodeQuery(strings.get(0), "plain"));
      // the queries' mean pooling, on a left- or right-padded batch
      List<TokenizedText> tokens = m.tokenize(strings, TextRole.QUERY);
      BatchOutput out = m.model.forward(tokens);
      for (int i = 0; i < texts.size(); i++) {
        checkRow(m.manifest().name + " batched query: " + strings.get(i), query(texts.get(i)), out, i, tokens.get(i).length());
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> document(Map<String, Object> text) {
    return (Map<String, Object>) text.get("document");
  }

  public void testUnknownInstructionNamesTheKnownOnes() {
    DenseEncoder encoder = models.get(0).denseEncoder();
    UnknownInstructionException e =
        expectThrows(UnknownInstructionException.class, () -> encoder.encodeQuery("hi", "web"));
    assertTrue(e.getMessage(), e.getMessage().contains("'web'") && e.getMessage().contains("known: qa, plain"));
    e = expectThrows(UnknownInstructionException.class, () -> encoder.encode(List.of("hi"), TextRole.DOCUMENT, "qa"));
    assertTrue(e.getMessage(), e.getMessage().contains("'qa' for documents") && e.getMessage().contains("known: passage"));
  }

  public void testDocumentsGetTheInstructionNamedAndNoneByDefault() {
    for (ServedModel m : models) {
      float[][] plain = m.denseEncoder().encode(strings, TextRole.DOCUMENT);
      float[][] passage = m.denseEncoder().encode(strings, TextRole.DOCUMENT, "passage");
      for (int i = 0; i < texts.size(); i++) {
        String what = m.manifest().name + " document: " + strings.get(i);
        assertClose(what, ParityFixtures.floats(texts.get(i).get("lastTokenNormalized")), plain[i]);
        assertClose(what + " (passage)", ParityFixtures.floats(document(texts.get(i)).get("lastTokenNormalized")), passage[i]);
      }
    }
  }

  /**
   * The fixture tells the padding sides apart: read as if right-padded, a short text's row of a
   * left-padded batch is far from the reference (so the tests above would catch such a mix-up).
   */
  public void testLeftPaddedRowsReadAsRightPaddedAreWrong() {
    ServedModel left = models.get(0);
    List<TokenizedText> tokens = left.tokenize(strings, TextRole.DOCUMENT);
    BatchOutput out = left.model.forward(tokens);
    BatchOutput misread = new BatchOutput(out.data, out.batch, out.tokens, out.width);
    int shortText = 2; // "Hi!": 3 tokens in a batch 42 wide
    float[] wrong = Pooling.LAST_TOKEN.pool(misread.data, misread.offset(shortText), tokens.get(shortText).length(), out.width);
    float[] expected = ParityFixtures.floats(texts.get(shortText).get("lastToken"));
    float worst = 0;
    for (int d = 0; d < expected.length; d++) {
      worst = Math.max(worst, Math.abs(expected[d] - wrong[d]));
    }
    assertTrue("misread row differs by only " + worst, worst > 100 * TOLERANCE);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> query(Map<String, Object> text) {
    return (Map<String, Object>) text.get("query");
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
