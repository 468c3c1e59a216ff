package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.RandomIndexWriter;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;

/**
 * SparseQuery against brute force: the exhaustive dot product over the stored (quantised)
 * weights, ranked by score then doc id, on random Zipf-like data with deletions, filters and
 * paging.
 */
public class TestSparseQuery extends LuceneTestCase {

  private static final String FIELD = "vec";

  private Directory dir;
  private IndexReader reader;
  private IndexSearcher searcher;
  private List<Map<String, Float>> vectors; // by id
  private int[] idOfDoc; // global doc id -> id, -1 for deleted or no vector
  private boolean[] red;
  private int vocabulary;

  private int zipf(int n) {
    // P(i) ~ 1/(i+1): inverse CDF of the continuous approximation
    double u = random().nextDouble();
    return Math.min(n - 1, (int) Math.floor(Math.exp(u * Math.log(n + 1)) - 1));
  }

  private float randomWeight() {
    if (random().nextInt(10) == 0) {
      return 1 + random().nextInt(2); // ties
    }
    return (float) Math.exp(random().nextGaussian());
  }

  private Map<String, Float> randomVector(int maxLength) {
    Map<String, Float> v = new HashMap<>();
    int length = 1 + random().nextInt(maxLength);
    for (int i = 0; i < length; i++) {
      v.put("t" + zipf(vocabulary), randomWeight());
    }
    return v;
  }

  @Override
  public void setUp() throws Exception {
    super.setUp();
    // the bulk scorer's windows: small ones make these small indexes span many of them
    SparseBulkScorer.windowForTests = 64 << random().nextInt(4);
  }

  private void buildIndex() throws IOException {
    vocabulary = TestUtil.nextInt(random(), 20, 2000);
    int numDocs = atLeast(1500);
    dir = newDirectory();
    IndexWriterConfig iwc = newIndexWriterConfig();
    if (random().nextInt(4) != 0) {
      iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
    }
    RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc);
    vectors = new ArrayList<>();
    List<Boolean> colors = new ArrayList<>();
    for (int id = 0; id < numDocs; id++) {
      Document doc = new Document();
      doc.add(new NumericDocValuesField("id", id));
      doc.add(new StringField("idterm", Integer.toString(id), Field.Store.NO));
      boolean isRed = random().nextInt(3) == 0;
      colors.add(isRed);
      doc.add(new StringField("color", isRed ? "red" : "blue", Field.Store.NO));
      Map<String, Float> v = random().nextInt(20) == 0 ? null : randomVector(60);
      if (v != null) {
        doc.add(new SparseVectorField(FIELD, v));
      }
      vectors.add(v);
      w.addDocument(doc);
    }
    int numDeletes = random().nextBoolean() ? 0 : random().nextInt(numDocs / 10);
    for (int i = 0; i < numDeletes; i++) {
      int id = random().nextInt(numDocs);
      w.deleteDocuments(new Term("idterm", Integer.toString(id)));
      vectors.set(id, null);
    }
    if (random().nextBoolean()) {
      w.forceMerge(1 + random().nextInt(3));
    }
    reader = w.getReader();
    w.close();
    searcher = newSearcher(reader);
    idOfDoc = new int[reader.maxDoc()];
    red = new boolean[reader.maxDoc()];
    Arrays.fill(idOfDoc, -1);
    for (LeafReaderContext ctx : reader.leaves()) {
      NumericDocValues ids = ctx.reader().getNumericDocValues("id");
      Bits live = ctx.reader().getLiveDocs();
      for (int d = ids.nextDoc(); d != NumericDocValues.NO_MORE_DOCS; d = ids.nextDoc()) {
        int id = (int) ids.longValue();
        if ((live == null || live.get(d)) && vectors.get(id) != null) {
          idOfDoc[ctx.docBase + d] = id;
          red[ctx.docBase + d] = colors.get(id);
        }
      }
    }
  }

  @Override
  public void tearDown() throws Exception {
    if (reader != null) {
      reader.close();
      dir.close();
    }
    SparseBulkScorer.windowForTests = SparseBulkScorer.WINDOW;
    super.tearDown();
  }

  /** Exhaustive top k: scores summed in the terms' byte order, as documented. */
  private List<ScoreDoc> bruteForce(Map<String, Float> query, boolean onlyRed) {
    TreeMap<BytesRef, Float> sortedQuery = new TreeMap<>();
    for (Map.Entry<String, Float> e : query.entrySet()) {
      if (e.getValue() > 0) {
        sortedQuery.put(new BytesRef(e.getKey()), e.getValue());
      }
    }
    List<ScoreDoc> hits = new ArrayList<>();
    for (int doc = 0; doc < idOfDoc.length; doc++) {
      if (idOfDoc[doc] < 0 || (onlyRed && red[doc] == false)) {
        continue;
      }
      Map<String, Float> v = vectors.get(idOfDoc[doc]);
      double sum = 0;
      boolean match = false;
      for (Map.Entry<BytesRef, Float> e : sortedQuery.entrySet()) {
        Float d = v.get(e.getKey().utf8ToString());
        if (d != null && SparseWeights.encode(d) != 0) {
          sum += (double) e.getValue() * SparseVectorField.quantize(d);
          match = true;
        }
      }
      if (match) {
        hits.add(new ScoreDoc(doc, (float) sum));
      }
    }
    hits.sort((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : a.doc - b.doc);
    return hits;
  }

  private static void assertSameHits(List<ScoreDoc> expected, ScoreDoc[] actual, String message) {
    assertEquals(message, expected.size(), actual.length);
    for (int i = 0; i < actual.length; i++) {
      assertEquals(message + " rank " + i, expected.get(i).doc, actual[i].doc);
      assertEquals(message + " rank " + i, expected.get(i).score, actual[i].score, 0f);
    }
  }

  private Map<String, Float> randomQuery() {
    Map<String, Float> q = randomVector(random().nextBoolean() ? 8 : 40);
    if (random().nextInt(10) == 0) {
      q.put("absent-term", 1f);
    }
    return q;
  }

  public void testExactTopKMatchesBruteForce() throws IOException {
    int numIndexes = atLeast(3);
    for (int index = 0; index < numIndexes; index++) {
      buildIndex();
      int numQueries = atLeast(15);
      for (int iter = 0; iter < numQueries; iter++) {
        Map<String, Float> q = randomQuery();
        int k = random().nextBoolean() ? TestUtil.nextInt(random(), 1, 20) : random().nextInt(200) + 1;
        SparseQuery query = new SparseQuery(FIELD, q);
        List<ScoreDoc> expected = bruteForce(q, false);

        TopDocs top = searcher.search(query, k);
        assertSameHits(expected.subList(0, Math.min(k, expected.size())), top.scoreDocs, "top " + k);

        // paging
        if (top.scoreDocs.length == k) {
          TopDocs next = searcher.searchAfter(top.scoreDocs[k - 1], query, k);
          assertSameHits(
              expected.subList(k, Math.min(2 * k, expected.size())), next.scoreDocs, "page 2");
        }

        // a filter
        BooleanQuery filtered =
            new BooleanQuery.Builder()
                .add(query, Occur.MUST)
                .add(new TermQuery(new Term("color", "red")), Occur.FILTER)
                .build();
        List<ScoreDoc> expectedRed = bruteForce(q, true);
        assertSameHits(
            expectedRed.subList(0, Math.min(k, expectedRed.size())),
            searcher.search(filtered, k).scoreDocs,
            "filtered");

        // explain agrees with the score
        for (ScoreDoc sd : Arrays.copyOf(top.scoreDocs, Math.min(3, top.scoreDocs.length))) {
          Explanation e = searcher.explain(query, sd.doc);
          assertTrue(e.isMatch());
          assertEquals(sd.score, e.getValue().floatValue(), 0f);
        }

        // the number of matches, through a collector that needs every doc
        assertEquals(expected.size(), searcher.count(query));
        if (iter == 0 && reader.hasDeletions() == false) {
          // QueryUtils' skipping checks assume that every doc a scorer returns is live
          QueryUtils.check(random(), query, searcher);
        }
      }
      reader.close();
      dir.close();
      reader = null;
    }
  }

  /** With only the heap factor h, the approximate k-th score is at least h times the exact one. */
  public void testHeapFactorBound() throws IOException {
    buildIndex();
    int numQueries = atLeast(20);
    for (int iter = 0; iter < numQueries; iter++) {
      Map<String, Float> q = randomQuery();
      int k = TestUtil.nextInt(random(), 1, 50);
      float h = 0.5f + random().nextFloat() * 0.5f;
      SparseQuery query = new SparseQuery(FIELD, q, SparseApproximation.EXACT.withHeapFactor(h));
      List<ScoreDoc> expected = bruteForce(q, false);
      Map<Integer, Float> exactScores = new HashMap<>();
      for (ScoreDoc sd : expected) {
        exactScores.put(sd.doc, sd.score);
      }
      ScoreDoc[] approx = searcher.search(query, k).scoreDocs;
      assertEquals(Math.min(k, expected.size()), approx.length);
      for (ScoreDoc sd : approx) {
        assertEquals("scores stay exact", exactScores.get(sd.doc), sd.score, 0f);
      }
      if (approx.length == k) {
        float exactKth = expected.get(k - 1).score;
        assertTrue(approx[k - 1].score >= h * exactKth * (1 - 1e-6f));
      }
    }
  }

  /** Query-term pruning scores the pruned query exactly, and explain names the dropped terms. */
  public void testQueryTermPruning() throws IOException {
    buildIndex();
    for (int iter = 0; iter < 10; iter++) {
      Map<String, Float> q = randomVector(40);
      int maxTerms = TestUtil.nextInt(random(), 1, 10);
      SparseQuery query =
          new SparseQuery(FIELD, q, SparseApproximation.EXACT.withMaxQueryTerms(maxTerms));
      Map<String, Float> kept = new HashMap<>();
      List<Map.Entry<String, Float>> entries = new ArrayList<>(q.entrySet());
      entries.sort(
          (a, b) ->
              a.getValue().equals(b.getValue())
                  ? new BytesRef(a.getKey()).compareTo(new BytesRef(b.getKey()))
                  : Float.compare(b.getValue(), a.getValue()));
      for (Map.Entry<String, Float> e : entries.subList(0, Math.min(maxTerms, entries.size()))) {
        kept.put(e.getKey(), e.getValue());
      }
      assertEquals(kept.size(), query.numTerms());
      List<ScoreDoc> expected = bruteForce(kept, false);
      assertSameHits(expected.subList(0, Math.min(10, expected.size())), searcher.search(query, 10).scoreDocs, "pruned");
      if (entries.size() > maxTerms && expected.isEmpty() == false) {
        Explanation e = searcher.explain(query, expected.get(0).doc);
        assertTrue(e.toString(), e.toString().contains("dropped by query-term pruning"));
      }
    }
  }

  public void testPostingPruningKeepsOnlyTopPostings() throws IOException {
    buildIndex();
    for (int iter = 0; iter < 10; iter++) {
      Map<String, Float> q = randomQuery();
      SparseQuery query =
          new SparseQuery(FIELD, q, SparseApproximation.EXACT.withPostingWeightFraction(0.5f));
      for (ScoreDoc sd : searcher.search(query, 20).scoreDocs) {
        Explanation e = searcher.explain(query, sd.doc);
        assertEquals(sd.score, e.getValue().floatValue(), 0f);
      }
    }
  }

  public void testExplainShowsTermContributions() throws IOException {
    buildIndex();
    Map<String, Float> q = Map.of("t0", 2f, "t1", 0.5f, "zzz-expansion", 1f);
    SparseQuery query = new SparseQuery(FIELD, q);
    TopDocs top = searcher.search(query, 1);
    if (top.scoreDocs.length == 0) {
      return;
    }
    Explanation e = searcher.explain(query, top.scoreDocs[0].doc);
    String s = e.toString();
    assertTrue(s, s.contains("q_w * d_w"));
    assertTrue(s, s.contains("d_w, stored document weight"));
    assertTrue(s, s.contains("q_w, query weight"));
    Map<String, Float> v = vectors.get(idOfDoc[top.scoreDocs[0].doc]);
    for (String term : q.keySet()) {
      assertEquals(s, v.containsKey(term), s.contains("term '" + term + "'"));
    }
  }

  /**
   * Candidate generation, against its definition computed from the postings: per segment the
   * candidateTerms query terms with the largest q_w * (largest stored weight) generate, the top
   * {@code candidates} documents by their partial score are kept, and those are ranked by their
   * exact score.
   */
  public void testCandidateGenerationMatchesItsDefinition() throws IOException {
    vocabulary = TestUtil.nextInt(random(), 20, 500);
    // with the forward index candidates are scored from it; without, from the postings
    boolean forwardIndex = random().nextBoolean();
    org.apache.lucene.document.FieldType type =
        forwardIndex ? SparseVectorField.TYPE : SparseVectorField.TYPE_WITHOUT_FORWARD_INDEX;
    try (Directory d = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
      List<Map<String, Float>> docVectors = new ArrayList<>();
      try (RandomIndexWriter w = new RandomIndexWriter(random(), d, iwc)) {
        int numDocs = atLeast(800);
        for (int id = 0; id < numDocs; id++) {
          Document doc = new Document();
          doc.add(new NumericDocValuesField("id", id));
          Map<String, Float> v = randomVector(40);
          doc.add(new SparseVectorField(FIELD, v, SparseVectorField.DEFAULT_MAX_TERMS, type));
          docVectors.add(v);
          w.addDocument(doc);
        }
        try (IndexReader r = w.getReader()) {
          for (org.apache.lucene.index.LeafReaderContext leaf : r.leaves()) {
            org.apache.lucene.index.LeafReader unwrapped = org.apache.lucene.index.FilterLeafReader.unwrap(leaf.reader());
            if (unwrapped instanceof org.apache.lucene.index.CodecReader codecReader) {
              // the producer hands out its forward index with the terms when it has one; file names
              // would not do: RandomIndexWriter may switch to compound files at any time
              assertEquals(
                  "forward index written",
                  forwardIndex,
                  codecReader.getPostingsReader().terms(FIELD) instanceof SparseFieldsProducer.SparseTerms);
            }
          }
          IndexSearcher s = newSearcher(r, false);
          for (int iter = 0; iter < 20; iter++) {
            Map<String, Float> q = randomVector(30);
            int m = TestUtil.nextInt(random(), 1, 6);
            int c = TestUtil.nextInt(random(), 1, 60);
            int k = TestUtil.nextInt(random(), 1, 30);
            SparseQuery query =
                new SparseQuery(FIELD, q, SparseApproximation.EXACT.withCandidateTerms(m).withCandidates(c));
            List<ScoreDoc> expected = candidateDefinition(r, docVectors, new SparseQuery(FIELD, q), m, c);
            assertSameHits(
                expected.subList(0, Math.min(k, expected.size())), s.search(query, k).scoreDocs, "m=" + m + " c=" + c);
          }
        }
      }
    }
  }

  /**
   * Candidate generation from each generating term's heaviest postings (the impact-ordered lists
   * of the forward index), against its definition; and the forward index is what scores them.
   */
  public void testHeaviestPostingsCandidatesMatchTheirDefinition() throws IOException {
    vocabulary = TestUtil.nextInt(random(), 20, 500);
    try (Directory d = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
      List<Map<String, Float>> docVectors = new ArrayList<>();
      try (RandomIndexWriter w = new RandomIndexWriter(random(), d, iwc)) {
        int numDocs = atLeast(800);
        for (int id = 0; id < numDocs; id++) {
          Document doc = new Document();
          doc.add(new NumericDocValuesField("id", id));
          Map<String, Float> v = randomVector(40);
          doc.add(new SparseVectorField(FIELD, v));
          docVectors.add(v);
          w.addDocument(doc);
        }
        w.commit();
      }
      // half the time behind a reader wrapper (Solr adds one with solr.useExitableDirectoryReader),
      // whose terms hide the forward index: candidate generation must look beneath, or
      // candidatePostings would be ignored
      boolean wrapped = random().nextBoolean();
      org.apache.lucene.index.DirectoryReader open = org.apache.lucene.index.DirectoryReader.open(d);
      try (IndexReader r = wrapped ? new org.apache.lucene.index.ExitableDirectoryReader(open, () -> false) : open) {
        for (LeafReaderContext ctx : r.leaves()) {
          assertEquals(wrapped == false, ctx.reader().terms(FIELD) instanceof SparseFieldsProducer.SparseTerms);
        }
        IndexSearcher s = newSearcher(r, false);
        for (int iter = 0; iter < 20; iter++) {
          Map<String, Float> q = randomVector(30);
          int m = TestUtil.nextInt(random(), 1, 40);
          int c = TestUtil.nextInt(random(), 1, 60);
          int l = TestUtil.nextInt(random(), 1, 100);
          int k = TestUtil.nextInt(random(), 1, 30);
          SparseQuery query =
              new SparseQuery(
                  FIELD,
                  q,
                  SparseApproximation.EXACT.withCandidateTerms(m).withCandidates(c).withCandidatePostings(l));
          List<ScoreDoc> expected = candidateDefinition(r, docVectors, new SparseQuery(FIELD, q), m, c, l);
          assertSameHits(
              expected.subList(0, Math.min(k, expected.size())),
              s.search(query, k).scoreDocs,
              "m=" + m + " c=" + c + " l=" + l);
        }
      }
    }
  }

  /** Candidate generation computed from the postings and the vectors, without the scorer. */
  private static List<ScoreDoc> candidateDefinition(
      IndexReader r, List<Map<String, Float>> docVectors, SparseQuery exact, int m, int c) throws IOException {
    return candidateDefinition(r, docVectors, exact, m, c, 0);
  }

  /**
   * @param heaviest 0, or how many of each generating term's heaviest postings (by stored weight,
   *     ties to the lower doc id) generate
   */
  private static List<ScoreDoc> candidateDefinition(
      IndexReader r, List<Map<String, Float>> docVectors, SparseQuery exact, int m, int c, int heaviest)
      throws IOException {
    BytesRef[] terms = exact.terms();
    float[] weights = exact.weights();
    List<ScoreDoc> hits = new ArrayList<>();
    for (LeafReaderContext ctx : r.leaves()) {
      NumericDocValues ids = ctx.reader().getNumericDocValues("id");
      int[] idOf = new int[ctx.reader().maxDoc()];
      for (int doc = ids.nextDoc(); doc != NumericDocValues.NO_MORE_DOCS; doc = ids.nextDoc()) {
        idOf[doc] = (int) ids.longValue();
      }
      // the bound of each query term present in the segment: q_w times its largest stored weight
      List<Integer> present = new ArrayList<>();
      Map<Integer, Double> bound = new HashMap<>();
      Map<Integer, java.util.Set<Integer>> heads = new HashMap<>();
      org.apache.lucene.index.TermsEnum te = ctx.reader().terms(FIELD).iterator();
      for (int i = 0; i < terms.length; i++) {
        if (te.seekExact(terms[i])) {
          org.apache.lucene.index.PostingsEnum pe = te.postings(null, org.apache.lucene.index.PostingsEnum.FREQS);
          int max = 0;
          List<int[]> byWeight = new ArrayList<>();
          while (pe.nextDoc() != org.apache.lucene.index.PostingsEnum.NO_MORE_DOCS) {
            max = Math.max(max, pe.freq());
            byWeight.add(new int[] {pe.docID(), pe.freq()});
          }
          byWeight.sort((a, b) -> a[1] != b[1] ? b[1] - a[1] : a[0] - b[0]);
          java.util.Set<Integer> head = new java.util.HashSet<>();
          for (int[] p : byWeight.subList(0, heaviest == 0 ? byWeight.size() : Math.min(heaviest, byWeight.size()))) {
            head.add(p[0]);
          }
          heads.put(i, head);
          present.add(i);
          bound.put(i, weights[i] * SparseWeights.upperBound(max));
        }
      }
      List<Integer> generating = new ArrayList<>(present);
      generating.sort((a, b) -> Double.compare(bound.get(b), bound.get(a))); // stable: ties by query order
      boolean all = heaviest == 0 && m >= present.size();
      java.util.Set<Integer> gen = new java.util.HashSet<>(generating.subList(0, Math.min(m, generating.size())));
      List<ScoreDoc> candidates = new ArrayList<>();
      for (int doc = 0; doc < idOf.length; doc++) {
        Map<String, Float> v = docVectors.get(idOf[doc]);
        double partial = 0;
        double full = 0;
        boolean inGenerator = false;
        boolean any = false;
        for (int i : present) {
          Float dw = v.get(terms[i].utf8ToString());
          if (dw == null || SparseWeights.encode(dw) == 0) {
            continue;
          }
          double contribution = (double) weights[i] * SparseVectorField.quantize(dw);
          full += contribution;
          any = true;
          if (gen.contains(i) && heads.get(i).contains(doc)) {
            partial += contribution;
            inGenerator = true;
          }
        }
        if (all ? any : inGenerator) {
          candidates.add(new PartialScoreDoc(ctx.docBase + doc, (float) full, (float) partial));
        }
      }
      if (all == false) {
        candidates.sort(
            (a, b) -> partialOf(a) != partialOf(b) ? Float.compare(partialOf(b), partialOf(a)) : a.doc - b.doc);
        candidates = new ArrayList<>(candidates.subList(0, Math.min(c, candidates.size())));
      }
      hits.addAll(candidates);
    }
    hits.sort((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : a.doc - b.doc);
    return hits;
  }

  private static float partialOf(ScoreDoc sd) {
    return ((PartialScoreDoc) sd).partial;
  }

  /** A hit with the partial score of candidate generation beside its score. */
  private static final class PartialScoreDoc extends ScoreDoc {
    final float partial;

    PartialScoreDoc(int doc, float score, float partial) {
      super(doc, score);
      this.partial = partial;
    }
  }

  public void testCandidateGenerationIsConsistentWithExplainAndFilters() throws IOException {
    buildIndex();
    for (int iter = 0; iter < 15; iter++) {
      Map<String, Float> q = randomVector(40);
      int k = TestUtil.nextInt(random(), 1, 20);
      SparseApproximation a =
          SparseApproximation.EXACT
              .withCandidateTerms(TestUtil.nextInt(random(), 1, 5))
              .withCandidates(TestUtil.nextInt(random(), 1, 50));
      if (random().nextBoolean()) { // explain must select candidates as the search did
        a = a.withCandidatePostings(TestUtil.nextInt(random(), 1, 20));
      }
      SparseQuery query = new SparseQuery(FIELD, q, a);
      List<ScoreDoc> exact = bruteForce(q, false);
      Map<Integer, Float> exactScores = new HashMap<>();
      for (ScoreDoc sd : exact) {
        exactScores.put(sd.doc, sd.score);
      }
      ScoreDoc[] approx = searcher.search(query, k).scoreDocs;
      java.util.Set<Integer> returned = new java.util.HashSet<>();
      for (ScoreDoc sd : approx) {
        assertEquals("scores stay exact", exactScores.get(sd.doc), sd.score, 0f);
        returned.add(sd.doc);
        Explanation e = searcher.explain(query, sd.doc);
        assertTrue(e.toString(), e.isMatch());
        assertEquals(sd.score, e.getValue().floatValue(), 0f);
      }
      // an exact top-k document that is a candidate must be returned; explain says which are not
      for (ScoreDoc sd : exact.subList(0, Math.min(k, exact.size()))) {
        Explanation e = searcher.explain(query, sd.doc);
        if (returned.contains(sd.doc) == false) {
          assertFalse(e.toString(), e.isMatch());
          assertTrue(e.toString(), e.getDescription().contains("not among the"));
        }
      }
      BooleanQuery filtered =
          new BooleanQuery.Builder()
              .add(query, Occur.MUST)
              .add(new TermQuery(new Term("color", "red")), Occur.FILTER)
              .build();
      for (ScoreDoc sd : searcher.search(filtered, k).scoreDocs) {
        assertTrue(red[sd.doc]);
        assertEquals(exactScores.get(sd.doc), sd.score, 0f);
      }
      // as many candidate terms as query terms: exact
      SparseQuery allTerms = new SparseQuery(FIELD, q, SparseApproximation.EXACT.withCandidateTerms(q.size()));
      assertSameHits(exact.subList(0, Math.min(k, exact.size())), searcher.search(allTerms, k).scoreDocs, "all terms");
    }
  }

  /**
   * A zero boost makes every contribution 0: candidate generation must still count each document
   * once (a zero partial sum is no "not seen yet" marker), or duplicates take candidates' places.
   */
  public void testCandidateGenerationWithZeroContributions() throws IOException {
    try (Directory d = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
      int numDocs = TestUtil.nextInt(random(), 10, 200);
      try (RandomIndexWriter w = new RandomIndexWriter(random(), d, iwc)) {
        for (int i = 0; i < numDocs; i++) {
          Document doc = new Document();
          doc.add(new SparseVectorField(FIELD, Map.of("a", 1f + i, "b", 2f, "c", 0.5f)));
          w.addDocument(doc);
        }
        w.forceMerge(1);
        try (IndexReader r = w.getReader()) {
          IndexSearcher s = newSearcher(r, false);
          SparseQuery q =
              new SparseQuery(
                  FIELD,
                  Map.of("a", 1f, "b", 1f, "c", 1f),
                  SparseApproximation.EXACT.withCandidateTerms(2).withCandidates(numDocs));
          // straight to the weight: IndexSearcher would rewrite a zero boost to constant scores
          org.apache.lucene.search.Weight weight =
              s.createWeight(s.rewrite(q), org.apache.lucene.search.ScoreMode.TOP_SCORES, 0f);
          org.apache.lucene.search.Scorer scorer = weight.scorer(r.leaves().get(0));
          int hits = 0;
          for (int doc = scorer.iterator().nextDoc();
              doc != org.apache.lucene.search.DocIdSetIterator.NO_MORE_DOCS;
              doc = scorer.iterator().nextDoc()) {
            assertEquals(0f, scorer.score(), 0f);
            hits++;
          }
          assertEquals("every document is a candidate, once", numDocs, hits);
        }
      }
    }
  }

  public void testExplainLabelsExpansionTerms() throws IOException {
    try (Directory d = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
      try (RandomIndexWriter w = new RandomIndexWriter(random(), d, iwc)) {
        Document doc = new Document();
        doc.add(new SparseVectorField(FIELD, Map.of("solar", 2f, "sun", 1.5f, "energy", 1f)));
        w.addDocument(doc);
        try (IndexReader r = w.getReader()) {
          IndexSearcher s = newSearcher(r);
          SparseQuery plain = new SparseQuery(FIELD, Map.of("solar", 1f, "sun", 0.5f));
          SparseQuery labelled = plain.withTextTerms(List.of("solar", "panels"));
          assertEquals(s.explain(plain, 0).getValue(), s.explain(labelled, 0).getValue());
          String e = s.explain(labelled, 0).toString();
          assertTrue(e, e.contains("term 'solar': q_w * d_w"));
          assertTrue(e, e.contains("term 'sun' (expansion term, not in the query text): q_w * d_w"));
          assertFalse(s.explain(plain, 0).toString().contains("expansion"));
          assertFalse(plain.equals(labelled));
        }
      }
    }
  }

  public void testInvalidQueries() {
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> new SparseQuery(FIELD, Map.of("a", -1f)));
    assertTrue(e.getMessage().contains("'a'"));
    expectThrows(IllegalArgumentException.class, () -> new SparseQuery(FIELD, Map.of("a", Float.NaN)));
    expectThrows(IllegalArgumentException.class, () -> new SparseQuery(FIELD, Map.of("", 1f)));
    expectThrows(
        IllegalArgumentException.class, () -> new SparseApproximation(0, 0f, 0f, 1f));
    expectThrows(
        IllegalArgumentException.class, () -> new SparseApproximation(1, 0f, 0f, 0f));
    Query q1 = new SparseQuery(FIELD, Map.of("a", 1f, "b", 2f));
    Query q2 = new SparseQuery(FIELD, Map.of("b", 2f, "a", 1f, "c", 0f));
    assertEquals(q1, q2);
    assertEquals(q1.hashCode(), q2.hashCode());
  }
}
