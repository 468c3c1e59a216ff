package org.neuralsolr.search;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.Utils;
import org.apache.solr.request.SolrQueryRequest;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.SpladeFixture;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * Learned sparse retrieval through the configset in one embedded core, with the {@code tiny-splade}
 * parity fixture as the sparse model: the {@code sparse} update chain stores PyTorch's SPLADE
 * vectors, {@code {!sparse}} scores by the dot product computed from the reference vectors (with
 * model or client weights, exact or approximate, with filters and paging), {@code debugQuery}
 * labels expansion terms, and bad input is HTTP 400 naming the document, field or param.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SparseIngestAndQueryTest extends SolrTestCaseJ4 {
  private static final String[] PROPERTIES = {"neural.dense.package", "neural.sparse.package", "neural.model.roots"};
  private static SpladeFixture fixture;

  @BeforeClass
  public static void beforeClass() throws Exception {
    fixture = SpladeFixture.at(SpladeFixture.classpathRoot());
    System.setProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    System.setProperty("neural.sparse.package", SpladeFixture.PACKAGE);
    System.setProperty("neural.model.roots", SpladeFixture.classpathRoot().toString());
    Path home = NeuralTestHomes.solrHomeWithCore(createTempDir(), "collection1");
    initCore("solrconfig.xml", "managed-schema.xml", home.toString());
    StringBuilder docs = new StringBuilder("[");
    for (int i = 0; i < fixture.size(); i++) {
      docs.append(i == 0 ? "" : ",")
          .append("{'id':'s").append(i).append("','text':").append(Utils.toJSONString(fixture.text(i)))
          .append(",'category_s':'").append(i % 2 == 0 ? "even" : "odd").append("'}");
    }
    ModifiableSolrParams chain = new ModifiableSolrParams();
    chain.set("update.chain", "sparse");
    updateJ(json(docs.append(']').toString()), chain);
    assertU(commit());
  }

  @AfterClass
  public static void afterClass() {
    for (String p : PROPERTIES) {
      System.clearProperty(p);
    }
    fixture = null;
  }

  /** Ids and scores of a request, in order. */
  @SuppressWarnings("unchecked")
  private static LinkedHashMap<String, Double> hits(SolrQueryRequest request) throws Exception {
    Map<String, Object> response = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(JQ(request))).get("response");
    LinkedHashMap<String, Double> hits = new LinkedHashMap<>();
    for (Object doc : (List<Object>) response.get("docs")) {
      Map<String, Object> d = (Map<String, Object>) doc;
      hits.put((String) d.get("id"), ((Number) d.get("score")).doubleValue());
    }
    return hits;
  }

  /** Documents ranked by the dot product of the reference vectors: what {!sparse} must return. */
  private static List<Map.Entry<String, Double>> expectedRanking(Map<String, Float> query, String parity) {
    List<Map.Entry<String, Double>> ranked = new ArrayList<>();
    for (int i = 0; i < fixture.size(); i++) {
      double s = SpladeFixture.score(query, fixture.vector(i));
      if (s > 0 && (parity == null || parity.equals(i % 2 == 0 ? "even" : "odd"))) {
        ranked.add(Map.entry("s" + i, s));
      }
    }
    ranked.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()));
    return ranked;
  }

  private static void assertRanking(String what, List<Map.Entry<String, Double>> expected, Map<String, Double> actual) {
    assertEquals(what + ": " + actual, expected.size(), actual.size());
    int i = 0;
    for (Map.Entry<String, Double> a : actual.entrySet()) {
      assertEquals(what + " rank " + i, expected.get(i).getKey(), a.getKey());
      assertEquals(what + " score of " + a.getKey(), expected.get(i).getValue(), a.getValue(), 1e-4 * expected.get(i).getValue() + 1e-4);
      i++;
    }
  }

  public void testConfigsetKeepsTheForwardIndexForCandidateGeneration() throws Exception {
    // the configset's sparse_vector type sets forwardIndex="${neural.sparse.forwardIndex:true}"
    org.neuralsolr.schema.SparseVectorFieldType type =
        (org.neuralsolr.schema.SparseVectorFieldType) h.getCore().getLatestSchema().getField("sparse").getType();
    assertSame(org.neuralsolr.codecs.sparse.SparseVectorField.TYPE, type.toLuceneField("sparse", "solar:1").fieldType());
    h.getCore().withSearcher(searcher -> {
      for (org.apache.lucene.index.LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
        org.apache.lucene.index.FieldInfo info = leaf.reader().getFieldInfos().fieldInfo("sparse");
        assertNull(info.getAttribute(org.neuralsolr.codecs.sparse.SparsePostingsFormat.FORWARD_INDEX_ATTRIBUTE));
      }
      return null;
    });
  }

  public void testUpdateChainStoresTheModelsVectors() throws Exception {
    // FIELD:term scores a document by its stored weight of term
    for (int i = 0; i < fixture.size(); i++) {
      for (Map.Entry<String, Float> e : fixture.vector(i).entrySet()) {
        String term = e.getKey().replaceAll("([\\\\+\\-!():^\\[\\]\"{}~*?|&/ ])", "\\\\$1");
        Map<String, Double> hit = hits(req("q", "sparse:" + term, "fq", "id:s" + i, "fl", "id,score"));
        assertEquals("s" + i + " " + e.getKey(), Map.of("s" + i, 0.0).keySet(), hit.keySet());
        assertEquals("s" + i + " " + e.getKey(), e.getValue(), hit.get("s" + i), 1e-4 + e.getValue() / 512);
      }
    }
  }

  public void testModelQueryRanksByTheDotProductOfTheReferenceVectors() throws Exception {
    for (int q = 0; q < fixture.size(); q++) {
      String query = "{!sparse f=sparse model=splade}" + fixture.text(q);
      assertRanking("query " + q, expectedRanking(fixture.vector(q), null), hits(req("q", query, "fl", "id,score", "rows", "10")));
    }
  }

  public void testClientWeightsInBothForms() throws Exception {
    Map<String, Float> q = fixture.vector(1);
    List<Map.Entry<String, Double>> expected = expectedRanking(q, null);
    assertRanking("json", expected, hits(req("q", "{!sparse f=sparse weights=$qw}", "qw", SparseWeightsFormat.toJson(q), "fl", "id,score")));
    StringBuilder pairs = new StringBuilder();
    q.forEach((t, w) -> pairs.append(pairs.length() == 0 ? "" : ",").append(t.replace("\\", "\\\\").replace(",", "\\,")).append(':').append(w));
    assertRanking("pairs", expected, hits(req("q", "{!sparse f=sparse weights=$qw}", "qw", pairs.toString(), "fl", "id,score")));
  }

  public void testFiltersAndPaging() throws Exception {
    String query = "{!sparse f=sparse model=splade}" + fixture.text(4);
    assertRanking("fq even", expectedRanking(fixture.vector(4), "even"),
        hits(req("q", query, "fq", "category_s:even", "fl", "id,score")));
    List<String> all = new ArrayList<>(hits(req("q", query, "fl", "id,score")).keySet());
    assertTrue(all.size() >= 3);
    assertEquals(all.subList(1, 3), new ArrayList<>(hits(req("q", query, "fl", "id,score", "start", "1", "rows", "2")).keySet()));
  }

  public void testApproximateModeKeepsTheHeaviestQueryTerms() throws Exception {
    Map<String, Float> q = fixture.vector(2);
    // maxQueryTerms=3: exactly the dot product over the three heaviest query terms
    Map<String, Float> top3 = new LinkedHashMap<>();
    q.entrySet().stream().sorted(Map.Entry.<String, Float>comparingByValue().reversed()).limit(3)
        .forEach(e -> top3.put(e.getKey(), e.getValue()));
    assertRanking("maxQueryTerms=3", expectedRanking(top3, null),
        hits(req("q", "{!sparse f=sparse maxQueryTerms=3 weights=$qw}", "qw", SparseWeightsFormat.toJson(q), "fl", "id,score")));
    // candidate generation keeps exact scores: each hit scores what the reference vectors give
    Map<String, Double> candidates =
        hits(req("q", "{!sparse f=sparse candidateTerms=2 candidates=3 weights=$qw}", "qw", SparseWeightsFormat.toJson(q), "fl", "id,score"));
    assertFalse(candidates.isEmpty());
    for (Map.Entry<String, Double> hit : candidates.entrySet()) {
      double expected = SpladeFixture.score(q, fixture.vector(Integer.parseInt(hit.getKey().substring(1))));
      assertEquals(hit.getKey(), expected, hit.getValue(), 1e-4 * expected);
    }
    // approx=true with the defaults still finds the exact top document here
    String query = "{!sparse f=sparse model=splade approx=true}" + fixture.text(2);
    assertEquals(expectedRanking(q, null).get(0).getKey(), hits(req("q", query, "fl", "id,score")).keySet().iterator().next());
  }

  public void testDebugLabelsExpansionTerms() throws Exception {
    String json = JQ(req("q", "{!sparse f=sparse model=splade}" + fixture.text(1), "fl", "id,score", "debugQuery", "true", "rows", "1"));
    @SuppressWarnings("unchecked")
    Map<String, Object> debug = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(json)).get("debug");
    @SuppressWarnings("unchecked")
    Map<String, Object> sparse = (Map<String, Object>) debug.get("sparse");
    assertEquals("splade", sparse.get("model"));
    assertEquals("exact", sparse.get("mode"));
    @SuppressWarnings("unchecked")
    Map<String, Object> textTerms = (Map<String, Object>) sparse.get("textTerms");
    @SuppressWarnings("unchecked")
    Map<String, Object> expansions = (Map<String, Object>) sparse.get("expansionTerms");
    Set<String> inText = new HashSet<>(fixture.vector(1).keySet());
    inText.retainAll(fixture.tokens(1));
    Set<String> expanded = new HashSet<>(fixture.vector(1).keySet());
    expanded.removeAll(fixture.tokens(1));
    assertEquals(inText, textTerms.keySet());
    assertEquals(expanded, expansions.keySet());
    assertFalse("the fixture's vector has terms of both kinds", inText.isEmpty() || expanded.isEmpty());
    String explain = debug.get("explain").toString();
    assertTrue(explain, explain.contains("(expansion term, not in the query text): q_w * d_w"));
    assertTrue(explain, explain.contains("sparse dot product over"));
  }

  public void testBadParamsAre400NamingTheParam() {
    String text = fixture.text(0);
    assertQEx("unknown model", "unknown model 'nope'", req("q", "{!sparse f=sparse model=nope}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("dense model", "not a sparse model", req("q", "{!sparse f=sparse model=bge-small}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("missing f", "missing local param 'f'", req("q", "{!sparse model=splade}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("undefined f", "undefined field 'nofield'", req("q", "{!sparse f=nofield model=splade}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("wrong type", "not a SparseVectorFieldType (param 'f')", req("q", "{!sparse f=title model=splade}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("no model", "missing local param 'model'", req("q", "{!sparse f=sparse}" + text), ErrorCode.BAD_REQUEST);
    assertQEx("empty text", "query text is empty", req("q", "{!sparse f=sparse model=splade}  "), ErrorCode.BAD_REQUEST);
    assertQEx("both", "cannot be combined", req("q", "{!sparse f=sparse model=splade weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("negative", "param 'weights': field 'sparse': query term 'a' has an invalid weight -1.0",
        req("q", "{!sparse f=sparse weights='a:-1,b:2'}"), ErrorCode.BAD_REQUEST);
    assertQEx("NaN", "query term 'b' has an invalid weight NaN", req("q", "{!sparse f=sparse weights='a:1,b:NaN'}"), ErrorCode.BAD_REQUEST);
    assertQEx("not a number", "param 'weights': the weight of term 'a' is not a number", req("q", "{!sparse f=sparse weights='a:x'}"), ErrorCode.BAD_REQUEST);
    assertQEx("empty weights", "param 'weights' holds no term", req("q", "{!sparse f=sparse weights=''}"), ErrorCode.BAD_REQUEST);
    int maxTerms = ((org.neuralsolr.schema.SparseVectorFieldType) h.getCore().getLatestSchema().getField("sparse").getType()).maxTerms();
    StringBuilder many = new StringBuilder();
    for (int t = 0; t <= maxTerms; t++) {
      many.append(t == 0 ? "" : ",").append("t").append(t).append(":1");
    }
    assertQEx("too many terms", "param 'weights' has " + (maxTerms + 1) + " terms; field 'sparse' takes at most " + maxTerms + " (maxTerms)",
        req("q", "{!sparse f=sparse weights='" + many + "'}"), ErrorCode.BAD_REQUEST);
    assertQEx("maxQueryTerms", "param maxQueryTerms must be >= 1", req("q", "{!sparse f=sparse maxQueryTerms=0 weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("maxQueryTerms text", "param 'maxQueryTerms' must be an integer", req("q", "{!sparse f=sparse maxQueryTerms=few weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("heapFactor", "param heapFactor must be in (0, 1]", req("q", "{!sparse f=sparse heapFactor=2 weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("approx", "param 'approx' must be true or false", req("q", "{!sparse f=sparse approx=maybe weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("candidateTerms", "param candidateTerms must be >= 0", req("q", "{!sparse f=sparse candidateTerms=-1 weights='a:1'}"), ErrorCode.BAD_REQUEST);
    assertQEx("candidates", "param candidates must be >= 1", req("q", "{!sparse f=sparse candidateTerms=2 candidates=0 weights='a:1'}"), ErrorCode.BAD_REQUEST);
  }

  public void testBadWeightsAre400NamingDocumentAndField() throws Exception {
    ModifiableSolrParams sparseChain = new ModifiableSolrParams();
    sparseChain.set("update.chain", "sparse");
    ModifiableSolrParams plain = new ModifiableSolrParams();
    plain.set("update.chain", "plain");
    StringBuilder tooMany = new StringBuilder("{");
    for (int i = 0; i <= 2048; i++) {
      tooMany.append(i == 0 ? "" : ",").append("\\\"t").append(i).append("\\\":1");
    }
    tooMany.append('}');
    String[][] cases = {
      {"'{\\\"a\\\": -1.5}'", "term 'a' has an invalid weight -1.5"},
      {"'a:1,b:Infinity'", "term 'b' has an invalid weight Infinity"},
      {"'a:NaN'", "term 'a' has an invalid weight NaN"},
      {"'{}'", "sparse vector is empty"},
      {"'" + tooMany + "'", "2049 terms, more than the maximum of 2048"},
      {"'a:one'", "the weight of term 'a' is not a number"},
    };
    for (String[] c : cases) {
      // through the processor's filler ...
      assertBadUpdate("[{'id':'bad','text':'some text','sparse':" + c[0] + "}]", sparseChain, "document 'bad', field 'sparse'", c[1]);
      // ... and through the field type when no processor maps the field
      assertBadUpdate("[{'id':'bad','text':'some text','sparse':" + c[0] + "}]", plain, "[doc=bad] Error adding field 'sparse'", c[1]);
    }
    assertBadUpdate("[{'id':'ok','text':'fine'},{'id':'obj','text':'t','sparse':{'a':1.0,'b':2.0}}]", sparseChain,
        "document 'obj', field 'sparse'", "send sparse weights as a string");
    assertU(commit());
    assertJQ(req("q", "id:(bad ok obj)"), "/response/numFound==0");
  }

  public void testDocumentWithoutTextIsIndexedWithoutWeights() throws Exception {
    ModifiableSolrParams sparseChain = new ModifiableSolrParams();
    sparseChain.set("update.chain", "sparse");
    updateJ(json("[{'id':'empty','title':''},{'id':'zebras','text':'zebra herds'}]"), sparseChain);
    assertU(commit());
    try {
      assertJQ(req("q", "id:(empty zebras)", "rows", "0"), "/response/numFound==2");
      assertEquals(Set.of("zebras"), hits(req("q", "{!sparse f=sparse model=splade}zebra herds", "fq", "id:(empty zebras)", "fl", "id,score")).keySet());
    } finally {
      assertU(delQ("id:(empty zebras)"));
      assertU(commit());
    }
  }

  public void testClientWeightsAreKeptByTheProcessor() throws Exception {
    ModifiableSolrParams sparseChain = new ModifiableSolrParams();
    sparseChain.set("update.chain", "sparse");
    updateJ(json("[{'id':'client','text':'sparse retrieval works','sparse':'zebra:2.5,quagga:1'}]"), sparseChain);
    assertU(commit());
    assertEquals(Map.of("client", 2.5), hits(req("q", "{!sparse f=sparse weights='zebra:1'}", "fl", "id,score")));
    assertU(delI("client"));
    assertU(commit());
  }

  private static void assertBadUpdate(String docs, ModifiableSolrParams params, String... expected) {
    SolrException e = expectThrows(SolrException.class, () -> updateJ(json(docs), params));
    assertEquals(e.getMessage(), ErrorCode.BAD_REQUEST.code, e.code());
    for (String part : expected) {
      assertTrue(e.getMessage(), e.getMessage().contains(part));
    }
  }
}
