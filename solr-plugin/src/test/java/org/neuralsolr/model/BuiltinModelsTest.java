package org.neuralsolr.model;

import java.util.List;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/** The built-in bge-small packages load from their carrier jars and produce sensible vectors. */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class BuiltinModelsTest extends SolrTestCase {
  private static ServedModel bge;
  private static ServedModel bgeInt8;

  @BeforeClass
  public static void load() {
    bge = serve("builtin:bge-small-en-v1.5");
    bgeInt8 = serve("builtin:bge-small-en-v1.5-int8");
  }

  static ServedModel serve(String ref) {
    return new ServedModel(LoadedModel.load(ModelPackage.resolve(ref, ModelRoots.of(List.of())), null), SchedulerConfig.DEFAULTS);
  }

  @AfterClass
  public static void close() {
    for (ServedModel m : new ServedModel[] {bge, bgeInt8}) {
      if (m != null) {
        m.close();
      }
    }
    bge = bgeInt8 = null;
  }

  public void testEncodesUnitVectorsOnCpu() {
    DenseEncoder encoder = bgeInt8.denseEncoder();
    float[][] v = encoder.encode(List.of("a cat sleeps on the sofa", "stock markets fell sharply"), TextRole.DOCUMENT);
    assertEquals(2, v.length);
    assertEquals(384, v[0].length);
    for (float[] x : v) {
      double norm = 0;
      for (float f : x) {
        norm += f * f;
      }
      assertEquals(1.0, norm, 1e-4);
    }
    assertEquals("cpu", bge.device());
    assertTrue(bge.engine(), bge.engine().startsWith("OnnxRuntime"));
  }

  public void testQueryIsCloserToRelatedDocument() {
    DenseEncoder encoder = bge.denseEncoder();
    float[] q = encoder.encodeQuery("where do pets like to nap?");
    float[][] d = encoder.encode(List.of("a cat sleeps on the sofa", "stock markets fell sharply"), TextRole.DOCUMENT);
    assertTrue(dot(q, d[0]) > dot(q, d[1]) + 0.05);
  }

  /** fp32: padding and batch-mates do not change a text's vector. */
  public void testBatchingDoesNotChangeFp32Vectors() {
    assertBatchInvariant(bge.denseEncoder(), 1e-5f);
  }

  /**
   * int8: the dynamically quantised graph computes each activation's quantisation scale over the
   * whole batch tensor, padding included, so batch-mates move a vector slightly. The cosine to the
   * vector encoded alone stays above 0.99.
   */
  public void testBatchingMovesInt8VectorsOnlySlightly() {
    DenseEncoder encoder = bgeInt8.denseEncoder();
    float[][] batched = encoder.encode(TEXTS, TextRole.DOCUMENT);
    for (int i = 0; i < TEXTS.size(); i++) {
      float[] alone = encoder.encode(List.of(TEXTS.get(i)), TextRole.DOCUMENT)[0];
      assertTrue(dot(alone, batched[i]) > 0.99);
    }
  }

  public void testInt8IsCloseToFp32() {
    float[][] fp32 = bge.denseEncoder().encode(TEXTS, TextRole.DOCUMENT);
    float[][] int8 = bgeInt8.denseEncoder().encode(TEXTS, TextRole.DOCUMENT);
    for (int i = 0; i < TEXTS.size(); i++) {
      assertTrue(dot(fp32[i], int8[i]) > 0.97);
    }
  }

  private static final List<String> TEXTS =
      List.of("short", "a considerably longer text that needs many more tokens than the first one does", "mid length text here");

  private static void assertBatchInvariant(DenseEncoder encoder, float tolerance) {
    float[][] batched = encoder.encode(TEXTS, TextRole.DOCUMENT);
    for (int i = 0; i < TEXTS.size(); i++) {
      float[] alone = encoder.encode(List.of(TEXTS.get(i)), TextRole.DOCUMENT)[0];
      for (int d = 0; d < alone.length; d++) {
        assertEquals(alone[d], batched[i][d], tolerance);
      }
    }
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
