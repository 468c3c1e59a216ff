package org.neuralsolr.codecs.sparse;

import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.BytesRef;

public class TestSparseVectorField extends LuceneTestCase {

  /** The quantisation error bound, on weights spread over the whole float range. */
  public void testQuantisationErrorBound() {
    int iters = atLeast(200_000);
    for (int i = 0; i < iters; i++) {
      float w;
      switch (random().nextInt(4)) {
        case 0:
          w = Float.intBitsToFloat(random().nextInt(0x7F7FFFFF)); // any finite positive float
          break;
        case 1:
          w = random().nextFloat() * 10f;
          break;
        case 2:
          w = Float.intBitsToFloat(random().nextInt(Float.floatToIntBits(Float.MIN_NORMAL)));
          break;
        default:
          w = (float) Math.exp(random().nextGaussian() * 5);
      }
      if (SparseWeights.isEncodable(w) == false) {
        assertTrue(w > 3.38e38f);
        continue;
      }
      float q = SparseVectorField.quantize(w);
      double error = Math.abs((double) q - w);
      if (w >= Float.MIN_NORMAL) {
        assertTrue(w + " -> " + q, error <= SparseVectorField.MAX_RELATIVE_ERROR * (double) w);
      } else {
        assertTrue(w + " -> " + q, error <= SparseWeights.MAX_SUBNORMAL_ABSOLUTE_ERROR);
      }
      // round to nearest: no neighbouring code is closer
      int code = SparseWeights.encode(w);
      for (int other : new int[] {code - 1, code + 1}) {
        if (other >= 1 && other <= SparseWeights.MAX_CODE) {
          assertTrue(Math.abs((double) SparseWeights.decode(other) - w) >= error);
        }
      }
      assertEquals(code, SparseWeights.encode(q)); // stored weights are fixed points
    }
    // the bound is tight: a tie at 1 + 2^-9 is off by 2^-9 / (1 + 2^-9)
    float worst = Float.intBitsToFloat(Float.floatToIntBits(1f) | 0x4000);
    assertEquals(
        SparseVectorField.MAX_RELATIVE_ERROR,
        Math.abs(SparseVectorField.quantize(worst) - worst) / worst,
        1e-2f * SparseVectorField.MAX_RELATIVE_ERROR);
    assertEquals(0f, SparseWeights.decode(SparseWeights.encode(0f)), 0f);
    assertTrue(SparseVectorField.quantize(Float.MIN_VALUE) > 0f);
  }

  private static void assertInvalid(Map<String, Float> vector, String... fragments) {
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> new SparseVectorField("vec", vector, 4));
    assertTrue(e.getMessage(), e.getMessage().contains("'vec'"));
    for (String fragment : fragments) {
      assertTrue(e.getMessage(), e.getMessage().contains(fragment));
    }
  }

  public void testValidation() {
    assertInvalid(Map.of(), "empty");
    assertInvalid(Map.of("good", 1f, "bad", -0.5f), "'bad'", "-0.5");
    assertInvalid(Map.of("nan", Float.NaN), "'nan'");
    assertInvalid(Map.of("inf", Float.POSITIVE_INFINITY), "'inf'");
    assertInvalid(Map.of("big", Float.MAX_VALUE), "'big'");
    assertInvalid(Map.of("", 1f), "empty term");
    assertInvalid(Map.of("a", 1f, "b", 1f, "c", 1f, "d", 1f, "e", 1f), "5 terms", "maximum of 4");
    assertInvalid(Map.of("x".repeat(IndexWriter.MAX_TERM_LENGTH + 1), 1f), "bytes long");
    Map<String, Float> nullWeight = new HashMap<>();
    nullWeight.put("n", null);
    assertInvalid(nullWeight, "'n'");
    expectThrows(
        IllegalArgumentException.class,
        () -> new SparseVectorField("vec", Map.of("a", 1f), SparseVectorField.HARD_MAX_TERMS + 1));
    // zero weights are valid and not indexed
    assertEquals(1, new SparseVectorField("vec", Map.of("a", 0f, "b", 2f)).size());
  }

  /** Weights round-trip through an index as their quantised value, in any postings format. */
  public void testIndexedWeights() throws Exception {
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      if (random().nextBoolean()) {
        iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
      }
      Map<String, Float> vector = new HashMap<>();
      int n = TestUtil.nextInt(random(), 1, 300);
      for (int i = 0; i < n; i++) {
        vector.put(TestUtil.randomUnicodeString(random(), 10) + i, random().nextFloat() * 20f);
      }
      try (IndexWriter w = new IndexWriter(dir, iwc)) {
        Document doc = new Document();
        doc.add(new SparseVectorField("vec", vector));
        w.addDocument(doc);
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        TermsEnum te = getOnlyLeafReader(reader).terms("vec").iterator();
        int seen = 0;
        for (BytesRef term = te.next(); term != null; term = te.next()) {
          Float w = vector.get(term.utf8ToString());
          PostingsEnum pe = te.postings(null, PostingsEnum.FREQS);
          assertEquals(0, pe.nextDoc());
          assertEquals(SparseVectorField.quantize(w), SparseWeights.decode(pe.freq()), 0f);
          seen++;
        }
        long nonZero = vector.values().stream().filter(v -> SparseWeights.encode(v) != 0).count();
        assertEquals(nonZero, seen);
      }
    }
  }
}
