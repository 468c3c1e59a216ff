package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * The TorchScript route and the ONNX route load the same small BERT (parity fixture {@code
 * tiny-bert}) and reproduce PyTorch's reference outputs to 1e-4: token ids, every token state,
 * pooled and normalised vectors, alone and in a padded batch.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class TinyBertParityTest extends SolrTestCase {
  private static final float TOLERANCE = 1e-4f;
  private static List<Map<String, Object>> texts;
  private static ServedModel onnx;
  private static ServedModel torchScript;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    texts = (List<Map<String, Object>>) ParityFixtures.reference("tiny-bert").get("texts");
    onnx = new ServedModel(ParityFixtures.load("tiny-bert", "neural-model.json"), SchedulerConfig.DEFAULTS);
    torchScript = new ServedModel(ParityFixtures.load("tiny-bert", "neural-model-torchscript.json"), SchedulerConfig.DEFAULTS);
  }

  @AfterClass
  public static void close() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      if (m != null) {
        m.close();
      }
    }
    onnx = torchScript = null;
  }

  public void testEnginesAreTheOnesAsked() {
    assertTrue(onnx.engine(), onnx.engine().startsWith("OnnxRuntime"));
    assertTrue(torchScript.engine(), torchScript.engine().startsWith("PyTorch"));
  }

  public void testTokenIdsMatchPython() {
    for (Map<String, Object> t : texts) {
      TokenizedText tokens = onnx.model.tokenize((String) t.get("text"));
      assertArrayEquals((String) t.get("text"), ParityFixtures.longs(t.get("inputIds")), tokens.ids);
      assertArrayEquals(ParityFixtures.longs(t.get("tokenTypeIds")), tokens.typeIds);
    }
  }

  public void testTokenStatesMatchPythonOnBothEngines() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      for (Map<String, Object> t : texts) {
        BatchOutput out = m.model.forward(List.of(m.model.tokenize((String) t.get("text"))));
        assertClose(m.engine() + " " + t.get("text"), ParityFixtures.floats(t.get("lastHiddenState")), out.data);
      }
    }
  }

  public void testPooledVectorsMatchPythonAloneAndBatched() {
    List<String> all = new ArrayList<>();
    for (Map<String, Object> t : texts) {
      all.add((String) t.get("text"));
    }
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      // the manifests ask for CLS pooling + normalisation: the encoder's output
      float[][] batched = m.denseEncoder().encode(all, TextRole.DOCUMENT);
      for (int i = 0; i < texts.size(); i++) {
        Map<String, Object> t = texts.get(i);
        assertClose(m.engine() + " batched " + t.get("text"), ParityFixtures.floats(t.get("clsNormalized")), batched[i]);
        float[] alone = m.denseEncoder().encode(List.of(all.get(i)), TextRole.DOCUMENT)[0];
        assertClose(m.engine() + " alone " + t.get("text"), ParityFixtures.floats(t.get("clsNormalized")), alone);
      }
      // the other pooling modes, on the same token states
      for (Map<String, Object> t : texts) {
        TokenizedText tokens = m.model.tokenize((String) t.get("text"));
        BatchOutput out = m.model.forward(List.of(tokens));
        assertClose("cls", ParityFixtures.floats(t.get("cls")), Pooling.CLS.pool(out.data, 0, tokens.length(), out.width));
        float[] mean = Pooling.MEAN.pool(out.data, 0, tokens.length(), out.width);
        assertClose("mean", ParityFixtures.floats(t.get("mean")), mean);
        Pooling.normalize(mean);
        assertClose("mean normalised", ParityFixtures.floats(t.get("meanNormalized")), mean);
      }
    }
  }

  public void testTokenStatesAreTheNormalisedLastHiddenStateOnBothEngines() {
    List<String> all = new ArrayList<>();
    for (Map<String, Object> t : texts) {
      all.add((String) t.get("text"));
    }
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      TokenStatesEncoder.TokenStates[] states = m.tokenStatesEncoder().encode(all, TextRole.DOCUMENT);
      for (int i = 0; i < texts.size(); i++) {
        float[] hidden = ParityFixtures.floats(texts.get(i).get("lastHiddenState"));
        int dim = states[i].dimension;
        assertEquals(ParityFixtures.longs(texts.get(i).get("inputIds")).length, states[i].count);
        for (int t = 0; t < states[i].count; t++) {
          float[] row = Arrays.copyOfRange(hidden, t * dim, (t + 1) * dim);
          Pooling.normalize(row);
          assertClose(m.engine() + " token " + t + " of " + all.get(i), row, Arrays.copyOfRange(states[i].vectors, t * dim, (t + 1) * dim));
        }
      }
    }
  }

  public void testBothEnginesAgree() {
    for (Map<String, Object> t : texts) {
      String text = (String) t.get("text");
      float[] a = onnx.model.forward(List.of(onnx.model.tokenize(text))).data;
      float[] b = torchScript.model.forward(List.of(torchScript.model.tokenize(text))).data;
      assertClose(text, a, b);
    }
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
