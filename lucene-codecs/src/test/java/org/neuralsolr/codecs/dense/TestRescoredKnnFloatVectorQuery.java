package org.neuralsolr.codecs.dense;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestRescoredKnnFloatVectorQuery extends LuceneTestCase {
  private static final int DIM = 64;
  private static final VectorSimilarityFunction SIM = VectorSimilarityFunction.DOT_PRODUCT;

  /** Unit vectors around a few directions, so near neighbours are close and quantisation reorders them. */
  private static float[][] vectors(Random r, int n) {
    float[][] centres = new float[8][];
    for (int c = 0; c < centres.length; c++) {
      centres[c] = gaussian(r, 1f);
    }
    float[][] v = new float[n][];
    for (int i = 0; i < n; i++) {
      float[] noise = gaussian(r, 0.5f);
      float[] centre = centres[r.nextInt(centres.length)];
      for (int d = 0; d < DIM; d++) {
        noise[d] += centre[d];
      }
      v[i] = normalise(noise);
    }
    return v;
  }

  private static float[] gaussian(Random r, float scale) {
    float[] v = new float[DIM];
    for (int d = 0; d < DIM; d++) {
      v[d] = (float) r.nextGaussian() * scale;
    }
    return v;
  }

  private static float[] normalise(float[] v) {
    double n = 0;
    for (float x : v) {
      n += x * x;
    }
    float inv = (float) (1 / Math.sqrt(n));
    for (int d = 0; d < v.length; d++) {
      v[d] *= inv;
    }
    return v;
  }

  private static Directory index(float[][] vectors, KnnVectorsFormat format) throws IOException {
    Directory dir = newDirectory();
    IndexWriterConfig iwc = newIndexWriterConfig();
    iwc.setCodec(
        new Lucene912Codec() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return format;
          }
        });
    iwc.setMaxBufferedDocs(TestUtil.nextInt(random(), 150, 700)); // one to several segments
    iwc.setMergePolicy(newLogMergePolicy());
    try (IndexWriter w = new IndexWriter(dir, iwc)) {
      for (int i = 0; i < vectors.length; i++) {
        Document doc = new Document();
        doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
        doc.add(new StringField("parity", Integer.toString(i % 2), Field.Store.NO));
        doc.add(new KnnFloatVectorField("v", vectors[i], SIM));
        w.addDocument(doc);
      }
    }
    return dir;
  }

  /** The ids of the exact top k by float32 similarity (ties by id, which is also doc order here). */
  private static int[] exactTop(float[][] vectors, float[] q, int k, boolean evenOnly) {
    return java.util.stream.IntStream.range(0, vectors.length)
        .filter(i -> !evenOnly || i % 2 == 0)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> -SIM.compare(q, vectors[i])).thenComparingInt(i -> i))
        .limit(k)
        .mapToInt(Integer::intValue)
        .toArray();
  }

  private static int[] ids(IndexSearcher s, TopDocs td) throws IOException {
    int[] ids = new int[td.scoreDocs.length];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = Integer.parseInt(s.storedFields().document(td.scoreDocs[i].doc).get("id"));
    }
    return ids;
  }

  private static int overlap(int[] a, int[] b) {
    Set<Integer> s = new HashSet<>();
    for (int x : a) {
      s.add(x);
    }
    int n = 0;
    for (int x : b) {
      n += s.contains(x) ? 1 : 0;
    }
    return n;
  }

  public void testOversamplingEverythingIsExact() throws IOException {
    float[][] vectors = vectors(random(), 600);
    try (Directory dir = index(vectors, new Lucene99HnswScalarQuantizedVectorsFormat(16, 100, 1, 4, true, null, null));
        IndexReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = newSearcher(reader, true, true, false);
      for (int q = 0; q < 5; q++) {
        float[] query = vectors(random(), 1)[0];
        TopDocs td = searcher.search(new RescoredKnnFloatVectorQuery("v", query, 10, vectors.length, null), 10);
        int[] got = ids(searcher, td);
        assertArrayEquals(exactTop(vectors, query, 10, false), got);
        for (int i = 0; i < got.length; i++) {
          // the float32 score, not the quantised one
          assertEquals(SIM.compare(query, vectors[got[i]]), td.scoreDocs[i].score, 0f);
        }
      }
    }
  }

  public void testRescoringRecoversInt4Recall() throws IOException {
    float[][] vectors = vectors(random(), 1000);
    try (Directory dir = index(vectors, new Lucene99HnswScalarQuantizedVectorsFormat(16, 100, 1, 4, true, null, null));
        IndexReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = newSearcher(reader, true, true, false);
      int plain = 0;
      int rescored = 0;
      int queries = 20;
      for (int q = 0; q < queries; q++) {
        float[] query = vectors(random(), 1)[0];
        int[] exact = exactTop(vectors, query, 10, false);
        plain += overlap(exact, ids(searcher, searcher.search(new KnnFloatVectorQuery("v", query, 10), 10)));
        rescored += overlap(exact, ids(searcher, searcher.search(new RescoredKnnFloatVectorQuery("v", query, 10, 100, null), 10)));
      }
      assertTrue("rescored " + rescored + " vs plain " + plain, rescored >= plain);
      assertTrue("recall@10 after re-scoring the top 100: " + rescored / (10.0 * queries), rescored >= 0.95 * 10 * queries);
    }
  }

  public void testFloatFieldScoresEqualKnn() throws IOException {
    float[][] vectors = vectors(random(), 300);
    try (Directory dir = index(vectors, new Lucene99HnswVectorsFormat());
        IndexReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = newSearcher(reader, true, true, false);
      float[] query = vectors(random(), 1)[0];
      ScoreDoc[] knn = searcher.search(new KnnFloatVectorQuery("v", query, 300), 300).scoreDocs;
      ScoreDoc[] rescored = searcher.search(new RescoredKnnFloatVectorQuery("v", query, 5, 300, null), 5).scoreDocs;
      assertEquals(5, rescored.length);
      for (int i = 0; i < 5; i++) {
        assertEquals(knn[i].doc, rescored[i].doc);
        assertEquals(knn[i].score, rescored[i].score, 0f);
      }
    }
  }

  public void testFilterAndExplain() throws IOException {
    float[][] vectors = vectors(random(), 400);
    try (Directory dir = index(vectors, new Lucene99HnswScalarQuantizedVectorsFormat(16, 100, 1, 7, false, null, null));
        IndexReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = newSearcher(reader, true, true, false);
      float[] query = vectors(random(), 1)[0];
      RescoredKnnFloatVectorQuery q = new RescoredKnnFloatVectorQuery("v", query, 10, 400, new TermQuery(new Term("parity", "0")));
      TopDocs td = searcher.search(q, 10);
      assertArrayEquals(exactTop(vectors, query, 10, true), ids(searcher, td));
      Explanation e = searcher.explain(q, td.scoreDocs[0].doc);
      assertTrue(e.isMatch());
      assertEquals(td.scoreDocs[0].score, e.getValue().floatValue(), 0f);
      int odd = exactTop(vectors, query, 1, false)[0] % 2 == 1 ? exactTop(vectors, query, 1, false)[0] : -1;
      if (odd >= 0) {
        int doc = searcher.search(new TermQuery(new Term("id", Integer.toString(odd))), 1).scoreDocs[0].doc;
        assertFalse(searcher.explain(q, doc).isMatch());
      }
    }
  }

  public void testArguments() {
    float[] v = new float[DIM];
    expectThrows(IllegalArgumentException.class, () -> new RescoredKnnFloatVectorQuery("v", v, 0, 10, null));
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> new RescoredKnnFloatVectorQuery("v", v, 10, 9, null));
    assertTrue(e.getMessage(), e.getMessage().contains("oversample"));
    assertEquals(new RescoredKnnFloatVectorQuery("v", v, 10, 20, null), new RescoredKnnFloatVectorQuery("v", v, 10, 20, null));
    assertNotEquals(new RescoredKnnFloatVectorQuery("v", v, 10, 20, null), new RescoredKnnFloatVectorQuery("v", v, 10, 30, null));
  }

  public void testVectorBytes() throws IOException {
    float[][] vectors = vectors(random(), 500);
    for (int bits : new int[] {7, 4}) {
      try (Directory dir = index(vectors, new Lucene99HnswScalarQuantizedVectorsFormat(16, 100, 1, bits, bits == 4, null, null));
          IndexReader reader = DirectoryReader.open(dir)) {
        Map<String, DenseVectorStats.Field> stats = DenseVectorStats.of(reader);
        DenseVectorStats.Field f = stats.get("v");
        assertEquals(500, f.vectors());
        assertTrue(f.quantized());
        // float32: 4 bytes a dimension; quantised: 1 (int7) or 1/2 (int4) a dimension plus one correction float;
        // headers, footers and alignment are spread over the vectors
        assertEquals(4.0 * DIM, f.floatBytesPerVector(), 4.0 * DIM * 0.1);
        double quantised = (bits == 7 ? DIM : DIM / 2.0) + 4;
        assertEquals(quantised, f.bytesPerVector(), quantised * 0.1);
      }
    }
    try (Directory dir = index(vectors, new Lucene99HnswVectorsFormat());
        IndexReader reader = DirectoryReader.open(dir)) {
      DenseVectorStats.Field f = DenseVectorStats.of(reader).get("v");
      assertFalse(f.quantized());
      assertEquals(f.floatBytesPerVector(), f.bytesPerVector(), 0);
    }
  }
}
