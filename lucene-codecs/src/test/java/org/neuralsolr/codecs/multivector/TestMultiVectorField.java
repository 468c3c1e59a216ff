package org.neuralsolr.codecs.multivector;

import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;

public class TestMultiVectorField extends LuceneTestCase {

  private static void assertRejected(String expectedInMessage, Runnable r) {
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage(), e.getMessage().contains(expectedInMessage));
  }

  public void testFieldTypeValidation() {
    assertRejected("dimension", () -> MultiVectorField.createFieldType(0, 2, VectorSimilarityFunction.DOT_PRODUCT));
    assertRejected(
        "dimension",
        () -> MultiVectorField.createFieldType(MultiVectorField.MAX_DIMENSION + 1, 2, VectorSimilarityFunction.DOT_PRODUCT));
    assertRejected("nbits", () -> MultiVectorField.createFieldType(8, 3, VectorSimilarityFunction.DOT_PRODUCT));
    assertRejected("similarity", () -> MultiVectorField.createFieldType(8, 2, VectorSimilarityFunction.EUCLIDEAN));
    assertRejected(
        "numCentroids", () -> MultiVectorField.createFieldType(8, 2, VectorSimilarityFunction.DOT_PRODUCT, -1, 0));
    assertRejected(
        "trainingSample", () -> MultiVectorField.createFieldType(8, 2, VectorSimilarityFunction.DOT_PRODUCT, 0, -1));
    FieldType type = MultiVectorField.createFieldType(8, 2, VectorSimilarityFunction.DOT_PRODUCT);
    assertEquals(DocValuesType.BINARY, type.docValuesType());
    assertEquals("8", type.getAttributes().get(MultiVectorField.DIMENSION_ATTRIBUTE));
    expectThrows(IllegalStateException.class, () -> type.putAttribute("x", "y")); // frozen
  }

  public void testVectorValidation() {
    FieldType type = MultiVectorField.createFieldType(3, 1, VectorSimilarityFunction.DOT_PRODUCT);
    FieldType cosine = MultiVectorField.createFieldType(3, 1, VectorSimilarityFunction.COSINE);
    assertRejected("\"f\"", () -> new MultiVectorField("f", new float[0][], type));
    assertRejected("\"f\"", () -> new MultiVectorField("f", null, type));
    assertRejected("dimension 2", () -> new MultiVectorField("f", new float[][] {{1, 2, 3}, {1, 2}}, type));
    assertRejected("vector 1", () -> new MultiVectorField("f", new float[][] {{1, 2, 3}, null}, type));
    assertRejected("non-finite", () -> new MultiVectorField("f", new float[][] {{1, Float.NaN, 3}}, type));
    assertRejected(
        "non-finite", () -> new MultiVectorField("f", new float[][] {{Float.POSITIVE_INFINITY, 0, 3}}, type));
    assertRejected("zero length", () -> new MultiVectorField("f", new float[][] {{0, 0, 0}}, cosine));
    FieldType plain = new FieldType();
    plain.setDocValuesType(DocValuesType.BINARY);
    assertRejected("createFieldType", () -> new MultiVectorField("f", new float[][] {{1, 2, 3}}, plain));
  }

  public void testValueIsLittleEndianMatrix() {
    float[][] vectors = {{1, -2, 3}, {0.5f, 0, -0.25f}};
    for (VectorSimilarityFunction sim :
        new VectorSimilarityFunction[] {VectorSimilarityFunction.DOT_PRODUCT, VectorSimilarityFunction.COSINE}) {
      MultiVectorField field = new MultiVectorField("f", vectors, MultiVectorField.createFieldType(3, 2, sim));
      BytesRef bytes = field.binaryValue();
      assertEquals(2 * 3 * Float.BYTES, bytes.length);
      float[][] expected = MultiVectorTestUtil.asIndexed(vectors, sim == VectorSimilarityFunction.COSINE);
      for (int t = 0; t < 2; t++) {
        for (int j = 0; j < 3; j++) {
          float stored = (float) BitUtil.VH_LE_FLOAT.get(bytes.bytes, bytes.offset + (t * 3 + j) * Float.BYTES);
          assertEquals(expected[t][j], stored, 0f);
        }
      }
    }
    // the caller's arrays are not modified
    assertEquals(-2f, vectors[0][1], 0f);
  }
}
