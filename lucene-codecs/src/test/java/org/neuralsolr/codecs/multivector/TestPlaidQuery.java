package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.RandomIndexWriter;
import org.apache.lucene.tests.search.CheckHits;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.IOUtils;
import org.junit.AfterClass;
import org.junit.BeforeClass;

public class TestPlaidQuery extends LuceneTestCase {

  private static final int NUM_DOCS = 800;
  private static final int VOCABULARY = 48;
  private static int dim;
  /** Noisy clustered token vectors: centroid-only scores are approximations. */
  private static MultiVectorTestUtil.ClusteredVectors data;
  private static Directory directory;
  private static IndexReader reader;
  /**
   * Tokens drawn from {@value #VOCABULARY} distinct vectors and more centroids than that: every
   * vector is a centroid, so centroid-only scores are exact and PLAID's stages can be checked
   * against the exhaustive search exactly.
   */
  private static MultiVectorTestUtil.ClusteredVectors vocabulary;
  private static Directory vocabularyDirectory;
  private static IndexReader vocabularyReader;

  @BeforeClass
  public static void buildIndexes() throws IOException {
    dim = TestUtil.nextInt(random(), 8, 32);
    data = new MultiVectorTestUtil.ClusteredVectors(random(), dim, 64, 0.6f, true);
    directory = newDirectory();
    reader = buildIndex(directory, data, 0);
    // centroids are stored as bfloat16: exact centroid-only scores need bfloat16-exact vectors
    vocabulary = MultiVectorTestUtil.ClusteredVectors.exactInBfloat16(random(), dim, VOCABULARY);
    vocabularyDirectory = newDirectory();
    vocabularyReader = buildIndex(vocabularyDirectory, vocabulary, 64);
  }

  private static IndexReader buildIndex(
      Directory dir, MultiVectorTestUtil.ClusteredVectors tokens, int numCentroids)
      throws IOException {
    FieldType type =
        MultiVectorField.createFieldType(
            dim,
            new int[] {1, 2, 4}[random().nextInt(3)],
            VectorSimilarityFunction.DOT_PRODUCT,
            numCentroids,
            0);
    IndexWriterConfig iwc = newIndexWriterConfig();
    iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
    iwc.setMaxBufferedDocs(TestUtil.nextInt(random(), 200, 1000)); // one to four segments
    try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
      w.setDoRandomForceMerge(false);
      for (int i = 0; i < NUM_DOCS; i++) {
        Document doc = new Document();
        doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
        doc.add(new StringField("bucket", Integer.toString(i % 10), Field.Store.NO));
        doc.add(new MultiVectorField("mv", tokens.matrix(random(), TestUtil.nextInt(random(), 4, 24)), type));
        w.addDocument(doc);
      }
      return w.getReader();
    }
  }

  @AfterClass
  public static void closeIndexes() throws IOException {
    IOUtils.close(reader, directory, vocabularyReader, vocabularyDirectory);
    reader = vocabularyReader = null;
    directory = vocabularyDirectory = null;
    data = vocabulary = null;
  }

  private static float[][] randomQuery() {
    return data.matrix(random(), TestUtil.nextInt(random(), 2, 16));
  }

  private static Set<Integer> docs(TopDocs hits) {
    Set<Integer> out = new HashSet<>();
    for (ScoreDoc hit : hits.scoreDocs) {
      out.add(hit.doc);
    }
    return out;
  }

  /**
   * Same top k up to ties: equal scores rank by rank, and the same documents above the k-th score
   * (documents tied at the k-th score may differ: exhaustive search keeps the lowest doc ids).
   */
  private static void assertSameTopK(TopDocs expected, TopDocs actual) {
    assertEquals(expected.scoreDocs.length, actual.scoreDocs.length);
    for (int i = 0; i < expected.scoreDocs.length; i++) {
      assertEquals(expected.scoreDocs[i].score, actual.scoreDocs[i].score, 1e-5f);
    }
    float last = expected.scoreDocs[expected.scoreDocs.length - 1].score;
    Set<Integer> above = new HashSet<>(), actualDocs = docs(actual);
    for (ScoreDoc hit : expected.scoreDocs) {
      if (hit.score > last + 1e-5f) {
        above.add(hit.doc);
      }
    }
    assertTrue(above + " not all in " + actualDocs, actualDocs.containsAll(above));
  }

  /**
   * Where centroid-only scores are exact, probing every centroid finds exactly the exhaustive top
   * k even when only k candidates reach the exact stage.
   */
  public void testExactCentroidsGiveExhaustiveResults() throws IOException {
    IndexSearcher searcher = newSearcher(vocabularyReader);
    for (int iter = 0; iter < 5; iter++) {
      float[][] query = vocabulary.matrix(random(), TestUtil.nextInt(random(), 2, 16));
      int k = TestUtil.nextInt(random(), 1, 20);
      TopDocs exact = searcher.search(new MaxSimQuery("mv", query), k);
      PlaidQuery plaid =
          new PlaidQuery("mv", query, k, 1 << 20, Integer.MAX_VALUE, k, Float.NEGATIVE_INFINITY, null);
      TopDocs approx = searcher.search(plaid, k);
      assertSameTopK(exact, approx);
    }
  }

  /** Default knobs: most of the exhaustive top 10, and every score exact. */
  public void testDefaultsAgreeWithExhaustive() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    double overlap = 0;
    int queries = 20;
    for (int iter = 0; iter < queries; iter++) {
      float[][] query = randomQuery();
      TopDocs exact = searcher.search(new MaxSimQuery("mv", query), 10);
      TopDocs approx = searcher.search(new PlaidQuery("mv", query, 10), 10);
      Set<Integer> common = docs(exact);
      common.retainAll(docs(approx));
      overlap += common.size() / 10.0;
      // whatever PLAID returns carries its exact MaxSim score
      TopDocs all = searcher.search(new MaxSimQuery("mv", query), NUM_DOCS);
      for (ScoreDoc hit : approx.scoreDocs) {
        for (ScoreDoc e : all.scoreDocs) {
          if (e.doc == hit.doc) {
            assertEquals(e.score, hit.score, 1e-5f);
          }
        }
      }
    }
    // a loose bound: small random dimensions and per-segment codebooks trained on a few thousand
    // vectors make this harder than real data; MultiVectorBenchmark measures the real figure
    assertTrue("overlap " + overlap / queries, overlap / queries >= 0.8);
  }

  public void testFilter() throws IOException {
    IndexSearcher searcher = newSearcher(vocabularyReader);
    float[][] query = vocabulary.matrix(random(), TestUtil.nextInt(random(), 2, 16));
    for (Query filter :
        new Query[] {
          new TermQuery(new Term("bucket", "3")), // 80 documents: all scored exactly by default
          new BooleanQuery.Builder() // 400 documents: PLAID over the accepted ones
              .add(new TermQuery(new Term("bucket", "0")), BooleanClause.Occur.SHOULD)
              .add(new TermQuery(new Term("bucket", "2")), BooleanClause.Occur.SHOULD)
              .add(new TermQuery(new Term("bucket", "4")), BooleanClause.Occur.SHOULD)
              .add(new TermQuery(new Term("bucket", "6")), BooleanClause.Occur.SHOULD)
              .add(new TermQuery(new Term("bucket", "8")), BooleanClause.Occur.SHOULD)
              .build()
        }) {
      Query exhaustive =
          new BooleanQuery.Builder()
              .add(new MaxSimQuery("mv", query), BooleanClause.Occur.MUST)
              .add(filter, BooleanClause.Occur.FILTER)
              .build();
      TopDocs expected = searcher.search(exhaustive, 10);
      TopDocs unbounded =
          searcher.search(
              new PlaidQuery("mv", query, 10, 1 << 20, Integer.MAX_VALUE, 10, Float.NEGATIVE_INFINITY, filter),
              10);
      assertSameTopK(expected, unbounded);
      TopDocs defaults = searcher.search(new PlaidQuery("mv", query, 10, filter), 10);
      for (ScoreDoc hit : defaults.scoreDocs) {
        int id = Integer.parseInt(searcher.storedFields().document(hit.doc).get("id"));
        assertTrue(searcher.count(filter) == NUM_DOCS / 10 ? id % 10 == 3 : id % 2 == 0);
      }
    }
  }

  public void testPaging() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    PlaidQuery plaid = new PlaidQuery("mv", randomQuery(), 20);
    TopDocs all = searcher.search(plaid, 20);
    assertEquals(20, all.scoreDocs.length);
    TopDocs first = searcher.search(plaid, 10);
    TopDocs second = searcher.searchAfter(first.scoreDocs[9], plaid, 10);
    for (int i = 0; i < 10; i++) {
      assertEquals(all.scoreDocs[i].doc, first.scoreDocs[i].doc);
      assertEquals(all.scoreDocs[10 + i].doc, second.scoreDocs[i].doc);
    }
  }

  public void testExplainAndQueryUtils() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    float[][] query = randomQuery();
    PlaidQuery plaid = new PlaidQuery("mv", query, 5);
    // (QueryUtils.check would reuse the rewritten query on other readers, which it refuses)
    QueryUtils.checkEqual(plaid, new PlaidQuery("mv", query, 5));
    QueryUtils.checkUnequal(plaid, new PlaidQuery("mv", query, 6));
    QueryUtils.checkUnequal(plaid, new PlaidQuery("mv", query, 5, new TermQuery(new Term("bucket", "1"))));
    CheckHits.checkExplanations(plaid, "mv", searcher, true);
    TopDocs hits = searcher.search(plaid, 5);
    for (ScoreDoc hit : hits.scoreDocs) {
      Explanation e = searcher.explain(plaid, hit.doc);
      assertTrue(e.isMatch());
      assertEquals(hit.score, e.getValue().floatValue(), 0f);
      assertTrue(e.toString(), e.toString().contains("MaxSim"));
    }
    int notAHit = 0;
    while (docs(hits).contains(notAHit)) {
      notAHit++;
    }
    assertFalse(searcher.explain(plaid, notAHit).isMatch());
  }

  public void testBadParameters() {
    float[][] q = randomQuery();
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> new PlaidQuery("mv", q, 0));
    assertTrue(e.getMessage(), e.getMessage().startsWith("k "));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new PlaidQuery("mv", q, 10, 0, 100, 100, 0f, null));
    assertTrue(e.getMessage(), e.getMessage().startsWith("nprobe "));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new PlaidQuery("mv", q, 10, 1, 0, 100, 0f, null));
    assertTrue(e.getMessage(), e.getMessage().startsWith("candidateCap "));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new PlaidQuery("mv", q, 10, 1, 1, -1, 0f, null));
    assertTrue(e.getMessage(), e.getMessage().startsWith("ndocs "));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> new PlaidQuery("mv", q, 10, 1, 1, 1, Float.NaN, null));
    assertTrue(e.getMessage(), e.getMessage().startsWith("centroidScoreThreshold "));
    e = expectThrows(IllegalArgumentException.class, () -> new PlaidQuery("mv", new float[][] {}, 10));
    assertTrue(e.getMessage(), e.getMessage().startsWith("query "));

    IndexSearcher searcher = newSearcher(reader);
    e = expectThrows(
        IllegalArgumentException.class,
        () -> searcher.search(new PlaidQuery("mv", new float[][] {new float[dim + 2]}, 10), 10));
    assertTrue(e.getMessage(), e.getMessage().contains("\"mv\"") && e.getMessage().contains("dimension"));
    e = expectThrows(
        IllegalArgumentException.class,
        () -> searcher.search(new PlaidQuery("bucket", new float[][] {new float[dim]}, 10), 10));
    assertTrue(e.getMessage(), e.getMessage().contains("\"bucket\""));
  }

  public void testCentroidPruning() throws IOException {
    IndexSearcher searcher = newSearcher(reader);
    float[][] query = randomQuery();
    // a threshold above every score prunes every centroid: candidates still come back, scored exactly
    TopDocs pruned =
        searcher.search(new PlaidQuery("mv", query, 10, 4, 8192, 64, Float.MAX_VALUE, null), 10);
    assertEquals(10, pruned.scoreDocs.length);
    TopDocs exact = searcher.search(new MaxSimQuery("mv", query), NUM_DOCS);
    for (ScoreDoc hit : pruned.scoreDocs) {
      for (ScoreDoc e : exact.scoreDocs) {
        if (e.doc == hit.doc) {
          assertEquals(e.score, hit.score, 1e-5f);
        }
      }
    }
  }
}
