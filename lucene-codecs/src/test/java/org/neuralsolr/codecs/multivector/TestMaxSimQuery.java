package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FilterBinaryDocValues;
import org.apache.lucene.index.FilterDirectoryReader;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.QueryRescorer;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.RandomIndexWriter;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.junit.AfterClass;
import org.junit.BeforeClass;

public class TestMaxSimQuery extends LuceneTestCase {

  private static Directory directory;
  private static IndexReader reader;
  private static int dim;
  private static boolean cosine;
  private static MultiVectorTestUtil.ClusteredVectors data;
  private static int docsWithVectors;

  @BeforeClass
  public static void buildIndex() throws IOException {
    dim = TestUtil.nextInt(random(), 4, 24);
    cosine = random().nextBoolean();
    int nbits = new int[] {0, 1, 2, 4}[random().nextInt(4)];
    FieldType type =
        MultiVectorField.createFieldType(
            dim,
            nbits,
            cosine ? VectorSimilarityFunction.COSINE : VectorSimilarityFunction.DOT_PRODUCT,
            16,
            0);
    data = new MultiVectorTestUtil.ClusteredVectors(random(), dim, 10, 0.8f, false);
    directory = newDirectory();
    IndexWriterConfig iwc = newIndexWriterConfig();
    iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
    try (RandomIndexWriter w = new RandomIndexWriter(random(), directory, iwc)) {
      for (int i = 0; i < 300; i++) {
        Document doc = new Document();
        doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
        doc.add(new StringField("parity", i % 2 == 0 ? "even" : "odd", Field.Store.NO));
        if (i % 7 != 3) {
          doc.add(new MultiVectorField("mv", data.matrix(random(), TestUtil.nextInt(random(), 1, 12)), type));
        }
        w.addDocument(doc);
      }
      reader = w.getReader(); // without deletions: QueryUtils expects scorers to skip none

    }
    docsWithVectors = MultiVectorTestUtil.decodedById(reader, "mv").size();
  }

  @AfterClass
  public static void closeIndex() throws IOException {
    reader.close();
    directory.close();
    reader = null;
    directory = null;
    data = null;
  }

  private static float[][] randomQuery() {
    return data.matrix(random(), TestUtil.nextInt(random(), 1, 8));
  }

  /** The exact MaxSim of every live document, from its decoded vectors, computed naively. */
  private static Map<String, Double> expectedMaxSim(float[][] query) throws IOException {
    float[][] q = MultiVectorTestUtil.asIndexed(query, cosine);
    Map<String, Double> out = new HashMap<>();
    for (Map.Entry<String, float[]> e : MultiVectorTestUtil.decodedById(reader, "mv").entrySet()) {
      out.put(e.getKey(), MultiVectorTestUtil.naiveMaxSim(q, e.getValue(), e.getValue().length / dim, dim));
    }
    return out;
  }

  /** {@link MaxSimScorer#similarities} holds the dot products the score takes its maxima of, bit for bit. */
  public void testSimilaritiesAreWhatTheScoreMaximises() throws IOException {
    float[][] query = randomQuery();
    for (LeafReaderContext leaf : reader.leaves()) {
      MultiVectorValues a = MultiVectorValues.get(leaf.reader(), "mv");
      MultiVectorValues b = MultiVectorValues.get(leaf.reader(), "mv");
      MultiVectorValues c = MultiVectorValues.get(leaf.reader(), "mv");
      if (a == null) {
        continue;
      }
      MaxSimScorer scorer = new MaxSimScorer(query);
      MaxSimScorer other = new MaxSimScorer(query);
      MaxSimScorer scoring = new MaxSimScorer(query); // {!colbert}'s path (2-bit codes: the document-lane kernel)
      float[] sims = null;
      int[] argmax = new int[query.length];
      float[] max = new float[query.length];
      while (a.nextDoc() != DocIdSetIterator.NO_MORE_DOCS) {
        b.advance(a.docID());
        c.advance(a.docID());
        sims = scorer.similarities(a, sims);
        float score = other.score(b, argmax, max);
        int tokens = a.tokenCount();
        double sum = 0;
        for (int i = 0; i < query.length; i++) {
          float best = Float.NEGATIVE_INFINITY;
          for (int t = 0; t < tokens; t++) {
            best = Math.max(best, sims[t * scorer.stride() + i]);
          }
          assertEquals(Float.floatToIntBits(max[i]), Float.floatToIntBits(best));
          assertEquals(Float.floatToIntBits(max[i]), Float.floatToIntBits(sims[argmax[i] * scorer.stride() + i]));
          sum += best;
        }
        assertEquals(Float.floatToIntBits(score), Float.floatToIntBits((float) sum));
        assertEquals(Float.floatToIntBits(score), Float.floatToIntBits(scoring.score(c)));
      }
    }
  }

  public void testScoresAreExactMaxSim() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    for (int iter = 0; iter < 5; iter++) {
      float[][] query = randomQuery();
      Map<String, Double> expected = expectedMaxSim(query);
      TopDocs hits = searcher.search(new MaxSimQuery("mv", query), reader.maxDoc());
      assertEquals(docsWithVectors, hits.totalHits.value);
      assertEquals(docsWithVectors, hits.scoreDocs.length);
      for (ScoreDoc hit : hits.scoreDocs) {
        String id = searcher.storedFields().document(hit.doc).get("id");
        double maxSim = expected.get(id);
        assertEquals(MaxSimScorer.toLuceneScore((float) maxSim), hit.score, 1e-4 * (1 + Math.abs(maxSim)));
        assertEquals(maxSim, MaxSimScorer.fromLuceneScore(hit.score), 1e-4 * (1 + Math.abs(maxSim)));
      }
    }
  }

  public void testQueryUtils() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    MaxSimQuery query = new MaxSimQuery("mv", randomQuery());
    QueryUtils.check(random(), query, searcher);
    // equality is by value
    float[][] q = randomQuery();
    assertEquals(new MaxSimQuery("mv", q), new MaxSimQuery("mv", q));
    assertEquals(new MaxSimQuery("mv", q).hashCode(), new MaxSimQuery("mv", q).hashCode());
    assertFalse(new MaxSimQuery("mv", q).equals(new MaxSimQuery("other", q)));
  }

  public void testExplain() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    float[][] query = randomQuery();
    MaxSimQuery q = new MaxSimQuery("mv", query);
    TopDocs hits = searcher.search(q, 5);
    for (ScoreDoc hit : hits.scoreDocs) {
      Explanation e = searcher.explain(q, hit.doc);
      assertTrue(e.isMatch());
      assertEquals(hit.score, e.getValue().floatValue(), 1e-5f);
      Explanation maxSim = e.getDetails()[e.getDetails().length - 1];
      assertEquals(query.length, maxSim.getDetails().length);
    }
    // a document without vectors does not match
    int noVectors = searcher.search(new TermQuery(new Term("id", "3")), 1).scoreDocs[0].doc;
    assertFalse(searcher.explain(q, noVectors).isMatch());
  }

  /** Re-ranking as Solr's {@code {!rerank}} does it: QueryRescorer advances to the candidates. */
  public void testRescorer() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    float[][] query = randomQuery();
    Map<String, Double> expected = expectedMaxSim(query);
    TopDocs firstPass = searcher.search(new TermQuery(new Term("parity", "even")), 40);
    TopDocs rescored =
        new QueryRescorer(new MaxSimQuery("mv", query)) {
          @Override
          protected float combine(float firstPassScore, boolean secondPassMatches, float secondPassScore) {
            return secondPassMatches ? secondPassScore : 0;
          }
        }.rescore(searcher, firstPass, 10);
    double previous = Double.POSITIVE_INFINITY;
    for (ScoreDoc hit : rescored.scoreDocs) {
      String id = searcher.storedFields().document(hit.doc).get("id");
      assertEquals(0, Integer.parseInt(id) % 2);
      double maxSim = expected.containsKey(id) ? expected.get(id) : Double.NEGATIVE_INFINITY;
      assertTrue(maxSim <= previous + 1e-4);
      previous = maxSim;
    }
  }

  /** Values are found behind FilterLeafReaders that hide the format's doc values. */
  public void testUnwrapsFilterReaders() throws IOException {
    DirectoryReader hiding =
        new FilterDirectoryReader((DirectoryReader) reader, new FilterDirectoryReader.SubReaderWrapper() {
          @Override
          public LeafReader wrap(LeafReader leaf) {
            return new FilterLeafReader(leaf) {
              @Override
              public BinaryDocValues getBinaryDocValues(String field) throws IOException {
                BinaryDocValues in = super.getBinaryDocValues(field);
                return in == null ? null : new FilterBinaryDocValues(in) {};
              }

              @Override
              public CacheHelper getCoreCacheHelper() {
                return in.getCoreCacheHelper();
              }

              @Override
              public CacheHelper getReaderCacheHelper() {
                return null;
              }
            };
          }
        }) {
          @Override
          protected DirectoryReader doWrapDirectoryReader(DirectoryReader in) {
            throw new UnsupportedOperationException();
          }

          @Override
          public CacheHelper getReaderCacheHelper() {
            return null;
          }
        };
    for (LeafReaderContext leaf : hiding.leaves()) {
      assertFalse(leaf.reader().getBinaryDocValues("mv") instanceof MultiVectorValues);
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), "mv");
      assertNotNull(values);
      assertTrue(values.nextDoc() != DocIdSetIterator.NO_MORE_DOCS);
    }
    float[][] query = randomQuery();
    TopDocs direct = new IndexSearcher(reader).search(new MaxSimQuery("mv", query), 10);
    TopDocs wrapped = new IndexSearcher(hiding).search(new MaxSimQuery("mv", query), 10);
    assertEquals(direct.scoreDocs.length, wrapped.scoreDocs.length);
    for (int i = 0; i < direct.scoreDocs.length; i++) {
      assertEquals(direct.scoreDocs[i].doc, wrapped.scoreDocs[i].doc);
      assertEquals(direct.scoreDocs[i].score, wrapped.scoreDocs[i].score, 0f);
    }
  }

  public void testDeletedDocumentsDoNotMatch() throws IOException {
    FieldType type = MultiVectorField.createFieldType(dim, 1, VectorSimilarityFunction.DOT_PRODUCT);
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
        for (int i = 0; i < 50; i++) {
          Document doc = new Document();
          doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
          doc.add(new MultiVectorField("mv", data.matrix(random(), 3), type));
          w.addDocument(doc);
        }
        w.deleteDocuments(new Term("id", "7"));
        w.deleteDocuments(new Term("id", "8"));
        try (IndexReader r = w.getReader()) {
          IndexSearcher searcher = newSearcher(r);
          TopDocs hits = searcher.search(new MaxSimQuery("mv", randomQuery()), 100);
          assertEquals(48, hits.scoreDocs.length);
          for (ScoreDoc hit : hits.scoreDocs) {
            String id = searcher.storedFields().document(hit.doc).get("id");
            assertFalse(id.equals("7") || id.equals("8"));
          }
        }
      }
    }
  }

  public void testBadParameters() throws IOException {
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> new MaxSimQuery("mv", new float[0][]));
    assertTrue(e.getMessage(), e.getMessage().contains("query"));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new MaxSimQuery("mv", new float[][] {{1, 2}, {1}}));
    assertTrue(e.getMessage(), e.getMessage().contains("dimension"));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new MaxSimQuery("mv", new float[][] {{1, Float.NaN}}));
    assertTrue(e.getMessage(), e.getMessage().contains("non-finite"));

    IndexSearcher searcher = newSearcher(reader);
    e = expectThrows(
        IllegalArgumentException.class,
        () -> searcher.search(new MaxSimQuery("mv", new float[][] {new float[dim + 1]}), 10));
    assertTrue(e.getMessage(), e.getMessage().contains("\"mv\"") && e.getMessage().contains("dimension"));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> searcher.search(new MaxSimQuery("id", new float[][] {new float[dim]}), 10));
    assertTrue(e.getMessage(), e.getMessage().contains("\"id\""));
    // a field no segment has matches nothing
    assertEquals(0, new IndexSearcher(reader).count(new MaxSimQuery("absent", new float[][] {new float[dim]})));
    assertEquals(reader.numDocs(), new IndexSearcher(reader).count(new MatchAllDocsQuery()));
  }
}
