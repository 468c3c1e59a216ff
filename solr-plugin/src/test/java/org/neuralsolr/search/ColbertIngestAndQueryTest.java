package org.neuralsolr.search;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.Utils;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.util.RefCounted;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.ServedModel;

/**
 * ColBERT late interaction in one embedded core built from the configset: the {@code
 * neural-colbert} chain fills {@code vector} and {@code colbert} from one forward pass of
 * bge-small (int8) per document, the field is stored by the NeuralMultiVector format, {@code
 * {!colbert}} finds documents by PLAID and by exhaustive MaxSim with equal results here, Solr's
 * {@code {!rerank}} and {@code {!neural_rerank mode=multivector f=colbert}} re-rank with the stored
 * vectors, clients may send token vectors, and bad input gets HTTP 400 naming what is wrong.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class ColbertIngestAndQueryTest extends SolrTestCaseJ4 {
  private static final String[][] DOCS = {
    {"cat", "Cats", "A cat sleeps on the warm sofa all afternoon."},
    {"dog", "Dogs", "Dogs love to play fetch in the park."},
    {"stocks", "Markets", "Stock markets fell sharply after the interest rate decision."},
    {"bonds", "Bonds", "Government bond yields rose as inflation expectations climbed."},
    {"kitten", "Kittens", "Young kittens nap for most of the day."},
    {"cells", "Cells", "Stem cells can become any cell type of the body."},
    {"bread", "Bread", "Bread rises because yeast produces carbon dioxide!"},
    {"rates", "Rates", "The central bank raised interest rates again."},
  };
  private static final String CHAIN = "neural-colbert";
  /** Texts the model encoded while the documents were indexed. */
  private static long ingestTexts;

  @BeforeClass
  public static void beforeClass() throws Exception {
    System.setProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    System.setProperty("neural.model.roots", NeuralTestHomes.parityFixtures().toString());
    // a handful of documents: train the codebook at the first flush, so queries run on nbits-2
    // codes (the configset would keep them exact until 1M token vectors)
    System.setProperty("neural.colbert.trainingThreshold", "0");
    // bge-small reads 512 tokens: a lower cap than the configset's, so a test can exceed it cheaply
    System.setProperty("neural.colbert.maxTokenVectors", "512");
    Path home = NeuralTestHomes.solrHomeWithCore(createTempDir(), "collection1");
    NeuralTestHomes.addModels(home.resolve("collection1").resolve("conf"), Map.of("tiny-colbert", "tiny-colbert/neural-model.json"));
    initCore("solrconfig.xml", "managed-schema.xml", home.toString());
    long textsBefore = bge().stats().texts();
    List<Map<String, Object>> docs = new ArrayList<>();
    for (String[] d : DOCS) {
      docs.add(Map.of("id", d[0], "title", d[1], "text", d[2]));
    }
    updateJ(Utils.toJSONString(docs), params("update.chain", CHAIN));
    ingestTexts = bge().stats().texts() - textsBefore;
    assertU(commit());
  }

  @AfterClass
  public static void afterClass() {
    System.clearProperty("neural.dense.package");
    System.clearProperty("neural.colbert.maxTokenVectors");
    System.clearProperty("neural.colbert.trainingThreshold");
    System.clearProperty("neural.model.roots");
  }

  private static ServedModel bge() {
    return NeuralModelRegistry.of(h.getCore()).model("bge-small");
  }

  public void testOneForwardPassFillsBothFields() throws Exception {
    // each document went through the model once although two fields were filled from it
    assertEquals(DOCS.length, ingestTexts);
    assertTrue(bge().multiVectorEncoder().sharedPasses() >= 1);
    assertJQ(req("q", "{!dense f=vector model=bge-small topK=8}cats", "rows", "0"), "/response/numFound==8");
  }

  public void testFieldIsStoredByTheMultiVectorFormat() throws Exception {
    RefCounted<SolrIndexSearcher> ref = h.getCore().getSearcher();
    try {
      long docs = 0;
      for (LeafReaderContext leaf : ref.get().getIndexReader().leaves()) {
        MultiVectorValues values = MultiVectorValues.get(leaf.reader(), "colbert");
        if (values != null) {
          assertEquals(2, values.nbits());
          assertEquals(384, values.dimension());
          docs += values.docCount();
        }
      }
      assertEquals(DOCS.length, docs);
    } finally {
      ref.decref();
    }
  }

  public void testDocumentWithoutTextGetsNeitherField() throws Exception {
    updateJ(Utils.toJSONString(List.of(Map.of("id", "empty", "title", " "), Map.of("id", "cat2", "title", "Cat", "text", "A cat naps."))),
        params("update.chain", CHAIN));
    assertU(commit());
    try {
      assertJQ(req("q", "id:(empty cat2)", "rows", "0"), "/response/numFound==2");
      for (String plaid : new String[] {"true", "false"}) {
        List<String> ids = ids(req("q", "{!colbert f=colbert model=bge-small topK=100 plaid=" + plaid + "}sleepy cats", "fl", "id", "rows", "100"));
        assertTrue(ids.toString(), ids.contains("cat2") && !ids.contains("empty"));
      }
      assertJQ(req("q", "{!dense f=vector model=bge-small topK=100}sleepy cats", "fq", "id:(empty cat2)", "fl", "id"), "/response/numFound==1");
    } finally {
      assertU(delQ("id:(empty cat2)"));
      assertU(commit());
    }
  }

  public void testColbertRanksByMeaning() throws Exception {
    List<String> ids = ids(req("q", "{!colbert f=colbert model=bge-small topK=3}sleepy cats napping", "fl", "id"));
    assertEquals(3, ids.size());
    assertEquals(Set.of("cat", "kitten"), new HashSet<>(ids.subList(0, 2)));
    ids = ids(req("q", "{!colbert f=colbert model=bge-small topK=2}who sets interest rates", "fl", "id"));
    assertTrue(ids.toString(), ids.contains("rates"));
  }

  public void testPlaidMatchesExhaustiveMaxSim() throws Exception {
    // with few documents PLAID scores every candidate exactly: equal lists and scores
    String text = "markets and interest rates";
    List<Object> plaid = scores(req("q", "{!colbert f=colbert model=bge-small topK=5}" + text, "fl", "id,score", "rows", "5"));
    List<Object> exhaustive = scores(req("q", "{!colbert f=colbert model=bge-small plaid=false}" + text, "fl", "id,score", "rows", "5"));
    assertEquals(exhaustive, plaid);
    // and with knobs that force candidate generation and pruning, the best document survives
    List<String> pruned = ids(req("q", "{!colbert f=colbert model=bge-small topK=1 nprobe=2 ndocs=1 candidateCap=4}" + text, "fl", "id"));
    assertEquals(1, pruned.size());
  }

  public void testFiltersArePreFilters() throws Exception {
    assertJQ(
        req("q", "{!colbert f=colbert model=bge-small topK=2}sleepy cats napping", "fq", "id:(stocks OR bonds OR rates)", "fl", "id"),
        "/response/numFound==2");
  }

  public void testRerankWithStoredVectors() throws Exception {
    String text = "sleepy cats napping";
    List<String> exhaustive = ids(req("q", "{!colbert f=colbert model=bge-small plaid=false}" + text, "fl", "id", "rows", "8"));
    // BM25 first stage over every document, re-ranked by MaxSim only (weight 1 on top of BM25 0)
    List<String> solrRerank =
        ids(req("q", "*:*", "rq", "{!rerank reRankQuery=$cq reRankDocs=8 reRankWeight=1}",
            "cq", "{!colbert f=colbert model=bge-small plaid=false}" + text, "fl", "id", "rows", "8"));
    assertEquals(exhaustive, solrRerank);
    List<String> neuralRerank =
        ids(req("q", "*:*", "rq", "{!neural_rerank model=bge-small mode=multivector f=colbert reRankDocs=8}",
            "rq.text", text, "fl", "id", "rows", "8"));
    assertEquals(exhaustive, neuralRerank);
  }

  public void testClientTokenVectorsAreAccepted() throws Exception {
    float[][] vectors = new float[3][384];
    for (int t = 0; t < 3; t++) {
      vectors[t][t] = 1;
    }
    List<List<Float>> rows = new ArrayList<>();
    for (float[] v : vectors) {
      List<Float> row = new ArrayList<>();
      for (float x : v) {
        row.add(x);
      }
      rows.add(row);
    }
    updateJ(Utils.toJSONString(List.of(Map.of("id", "client", "title", "Client", "text", "vectors from the client", "colbert", rows))),
        params("update.chain", CHAIN));
    assertU(commit());
    assertJQ(req("q", "id:client", "fl", "id"), "/response/numFound==1");
    assertU(delI("client"));
    assertU(commit());
  }

  public void testBadClientVectorsAre400AndIndexIntact() throws Exception {
    assertBadDoc("has 2 dimensions, the field has 384", "[[0.5, 0.5]]");
    assertBadDoc("needs at least one token vector", "[]");
    assertBadDoc("non-finite value", "[[" + "\"NaN\"" + ", 0" + ", 0".repeat(382) + "]]");
    assertBadDoc("a list of lists of numbers", "[0.5, 0.5]");
    String row = "[1" + ", 0".repeat(383) + "]";
    assertBadDoc("has 513 token vectors, the field takes at most 512 (maxTokenVectors)", "[" + String.join(",", java.util.Collections.nCopies(513, row)) + "]");
    assertJQ(req("q", "*:*", "rows", "0"), "/response/numFound==" + DOCS.length);
  }

  private void assertBadDoc(String why, String colbertJson) throws Exception {
    String doc = "[{\"id\":\"good\",\"text\":\"a good document\"},{\"id\":\"bad\",\"text\":\"x\",\"colbert\":" + colbertJson + "}]";
    try {
      updateJ(doc, params("update.chain", CHAIN));
      fail("accepted " + colbertJson);
    } catch (Exception e) {
      String msg = String.valueOf(e.getMessage());
      assertTrue(msg, msg.contains("document 'bad', field 'colbert'"));
      assertTrue(msg, msg.contains(why));
    }
    assertU(commit());
  }

  public void testBadQueryParamsAre400() {
    assertQEx("unknown param", "unknown local param 'nprobes'", req("q", "{!colbert f=colbert model=bge-small nprobes=3}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("missing field", "missing local param 'f'", req("q", "{!colbert model=bge-small}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("missing model", "missing local param 'model'", req("q", "{!colbert f=colbert}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("not multivector", "not a MultiVectorField", req("q", "{!colbert f=vector model=bge-small}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("dimension", "has 384 dimensions but model 'tiny-colbert' produces 16", req("q", "{!colbert f=colbert model=tiny-colbert}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("topK", "param 'topK'", req("q", "{!colbert f=colbert model=bge-small topK=0}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("nprobe", "param 'nprobe'", req("q", "{!colbert f=colbert model=bge-small nprobe=x}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("plaid", "param 'plaid'", req("q", "{!colbert f=colbert model=bge-small plaid=maybe}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("threshold", "param 'threshold'", req("q", "{!colbert f=colbert model=bge-small threshold=NaN}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("empty", "query text is empty", req("q", "{!colbert f=colbert model=bge-small}"), ErrorCode.BAD_REQUEST);
    assertQEx("field query", "is searched with {!colbert", req("q", "colbert:foo"), ErrorCode.BAD_REQUEST);
    assertQEx("rerank dimension", "produces 16", req("q", "*:*", "rq", "{!neural_rerank model=tiny-colbert mode=multivector f=colbert}", "rq.text", "cats"), ErrorCode.BAD_REQUEST);
  }

  @SuppressWarnings("unchecked")
  private static List<String> ids(SolrQueryRequest request) throws Exception {
    List<String> ids = new ArrayList<>();
    for (Object doc : docs(request)) {
      ids.add((String) ((Map<String, Object>) doc).get("id"));
    }
    return ids;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> scores(SolrQueryRequest request) throws Exception {
    List<Object> out = new ArrayList<>();
    for (Object doc : docs(request)) {
      out.add(((Map<String, Object>) doc).get("id") + "=" + ((Map<String, Object>) doc).get("score"));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> docs(SolrQueryRequest request) throws Exception {
    String json = JQ(request);
    Map<String, Object> response = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(json)).get("response");
    return (List<Object>) response.get("docs");
  }
}
