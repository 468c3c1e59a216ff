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
 * The ColBERT encoder on both engines reproduces PyTorch's reference for the {@code tiny-colbert}
 * fixture (BERT + linear projection) to 1e-4: query ids with marker and [MASK] augmentation, the
 * attention mask on the pads, every query row, the punctuation-free document rows, and MaxSim of
 * every pair. Documents are encoded as one padded batch, so padding must not leak into the rows.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class ColbertParityTest extends SolrTestCase {
  private static final float TOLERANCE = 1e-4f;
  private static Map<String, Object> reference;
  private static ServedModel onnx;
  private static ServedModel torchScript;

  @BeforeClass
  public static void load() {
    reference = ParityFixtures.reference("tiny-colbert");
    onnx = new ServedModel(ParityFixtures.load("tiny-colbert", "neural-model.json"), SchedulerConfig.DEFAULTS);
    torchScript = new ServedModel(ParityFixtures.load("tiny-colbert", "neural-model-torchscript.json"), SchedulerConfig.DEFAULTS);
  }

  @AfterClass
  public static void close() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      if (m != null) {
        m.close();
      }
    }
    onnx = torchScript = null;
    reference = null;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(String key) {
    return (List<Map<String, Object>>) reference.get(key);
  }

  public void testEnginesAreTheOnesAsked() {
    assertTrue(onnx.engine(), onnx.engine().startsWith("OnnxRuntime"));
    assertTrue(torchScript.engine(), torchScript.engine().startsWith("PyTorch"));
    assertTrue(onnx.multiVectorEncoder().isColbert());
  }

  public void testQueryVectorsMatchPythonOnBothEngines() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      for (Map<String, Object> q : list("queries")) {
        float[][] vectors = m.multiVectorEncoder().encodeQuery((String) q.get("text"));
        assertEquals(((Number) reference.get("queryLength")).intValue(), vectors.length);
        assertClose(m.engine() + " " + q.get("text"), ParityFixtures.floats(q.get("vectors")), flatten(vectors));
      }
    }
  }

  public void testDocumentVectorsMatchPythonInOneBatch() {
    List<String> texts = new ArrayList<>();
    for (Map<String, Object> d : list("documents")) {
      texts.add((String) d.get("text"));
    }
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      List<float[][]> docs = m.multiVectorEncoder().encodeDocuments(texts);
      for (int i = 0; i < texts.size(); i++) {
        Map<String, Object> d = list("documents").get(i);
        assertEquals(texts.get(i), ((List<?>) d.get("keptPositions")).size(), docs.get(i).length);
        assertClose(m.engine() + " " + texts.get(i), ParityFixtures.floats(d.get("vectors")), flatten(docs.get(i)));
      }
    }
  }

  public void testMaxSimOfEveryPairMatchesPython() {
    List<float[][]> queries = new ArrayList<>();
    for (Map<String, Object> q : list("queries")) {
      queries.add(onnx.multiVectorEncoder().encodeQuery((String) q.get("text")));
    }
    List<String> texts = new ArrayList<>();
    for (Map<String, Object> d : list("documents")) {
      texts.add((String) d.get("text"));
    }
    List<float[][]> docs = onnx.multiVectorEncoder().encodeDocuments(texts);
    for (Map<String, Object> s : list("scores")) {
      int q = ((Number) s.get("query")).intValue();
      int d = ((Number) s.get("document")).intValue();
      float expected = ((Number) s.get("score")).floatValue();
      assertEquals("query " + q + " document " + d, expected, maxSim(queries.get(q), docs.get(d)), 1e-3f);
    }
  }

  static float maxSim(float[][] query, float[][] doc) {
    double sum = 0;
    for (float[] q : query) {
      float best = Float.NEGATIVE_INFINITY;
      for (float[] d : doc) {
        float dot = 0;
        for (int j = 0; j < q.length; j++) {
          dot += q[j] * d[j];
        }
        best = Math.max(best, dot);
      }
      sum += best;
    }
    return (float) sum;
  }

  static float[] flatten(float[][] rows) {
    int dim = rows[0].length;
    float[] flat = new float[rows.length * dim];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * dim, dim);
    }
    return flat;
  }

  private static void assertClose(String what, float[] expected, float[] actual) {
    assertEquals(what + ": length", expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > TOLERANCE) {
        fail(what + ": value " + i + " is " + actual[i] + ", expected " + expected[i]);
      }
    }
  }
}
