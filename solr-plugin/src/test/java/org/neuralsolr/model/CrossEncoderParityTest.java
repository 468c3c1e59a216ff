package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * The cross-encoder fixture ({@code tiny-cross-encoder}: BERT + pooler + classifier) through ONNX
 * Runtime and TorchScript reproduces PyTorch's logits to 1e-4: pair token ids with longest-first
 * truncation, scores alone and in one padded batch, and the sigmoid activation.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class CrossEncoderParityTest extends SolrTestCase {
  private static final double TOLERANCE = 1e-4;
  private static List<Map<String, Object>> pairs;
  private static ServedModel onnx;
  private static ServedModel torchScript;
  private static ServedModel sigmoid;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    pairs = (List<Map<String, Object>>) ParityFixtures.reference("tiny-cross-encoder").get("pairs");
    onnx = new ServedModel(ParityFixtures.load("tiny-cross-encoder", "neural-model.json"), SchedulerConfig.DEFAULTS);
    torchScript = new ServedModel(ParityFixtures.load("tiny-cross-encoder", "neural-model-torchscript.json"), SchedulerConfig.DEFAULTS);
    sigmoid = new ServedModel(ParityFixtures.load("tiny-cross-encoder", "neural-model-sigmoid.json"), SchedulerConfig.DEFAULTS);
  }

  @AfterClass
  public static void close() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript, sigmoid}) {
      if (m != null) {
        m.close();
      }
    }
    onnx = torchScript = sigmoid = null;
  }

  public void testEnginesAreTheOnesAsked() {
    assertTrue(onnx.engine(), onnx.engine().startsWith("OnnxRuntime"));
    assertTrue(torchScript.engine(), torchScript.engine().startsWith("PyTorch"));
    assertNotNull(onnx.crossEncoder());
    assertNull(onnx.denseEncoder());
  }

  public void testPairTokensMatchPythonIncludingLongestFirstTruncation() {
    boolean sawTruncated = false;
    for (Map<String, Object> p : pairs) {
      TokenizedText t = onnx.model.tokenizePair((String) p.get("query"), (String) p.get("document"));
      assertArrayEquals(p.get("query") + " / " + p.get("document"), ParityFixtures.longs(p.get("inputIds")), t.ids);
      assertArrayEquals(ParityFixtures.longs(p.get("tokenTypeIds")), t.typeIds);
      sawTruncated |= (Boolean) p.get("truncated");
    }
    assertTrue("the fixture has a truncated pair", sawTruncated);
  }

  public void testLogitsMatchPythonAloneAndBatchedOnBothEngines() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      // all pairs in one call: one padded batch (per query group the scheduler sorts by length)
      for (String query : queries()) {
        List<String> documents = new ArrayList<>();
        List<Double> expected = new ArrayList<>();
        for (Map<String, Object> p : pairs) {
          if (p.get("query").equals(query)) {
            documents.add((String) p.get("document"));
            expected.add(((Number) p.get("logit")).doubleValue());
          }
        }
        // pad the batch with the other documents, so that every expected pair has batch-mates of other lengths
        for (Map<String, Object> p : pairs) {
          if (!p.get("query").equals(query)) {
            documents.add((String) p.get("document"));
          }
        }
        float[] scores = m.crossEncoder().score(query, documents);
        assertEquals(documents.size(), scores.length);
        for (int i = 0; i < expected.size(); i++) {
          assertEquals(m.engine() + " batched: " + query + " / " + documents.get(i), expected.get(i), scores[i], TOLERANCE);
          float alone = m.crossEncoder().score(query, List.of(documents.get(i)))[0];
          assertEquals(m.engine() + " alone: " + query + " / " + documents.get(i), expected.get(i), alone, TOLERANCE);
        }
      }
    }
  }

  public void testSigmoidActivation() {
    for (Map<String, Object> p : pairs) {
      float s = sigmoid.crossEncoder().score((String) p.get("query"), List.of((String) p.get("document")))[0];
      assertEquals(((Number) p.get("sigmoid")).doubleValue(), s, TOLERANCE);
    }
  }

  private static List<String> queries() {
    List<String> queries = new ArrayList<>();
    for (Map<String, Object> p : pairs) {
      if (!queries.contains(p.get("query"))) {
        queries.add((String) p.get("query"));
      }
    }
    return queries;
  }
}
