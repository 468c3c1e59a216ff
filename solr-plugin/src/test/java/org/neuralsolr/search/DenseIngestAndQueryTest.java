package org.neuralsolr.search;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.Utils;
import org.apache.solr.request.SolrQueryRequest;
import org.junit.BeforeClass;
import org.neuralsolr.NeuralTestHomes;

/**
 * The configset end to end in one embedded core: the update processor encodes title + text with
 * the real bge-small (int8) model, {@code {!dense}} finds documents by meaning, and bad input gets
 * HTTP 400 with a message naming the document, field or param.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class DenseIngestAndQueryTest extends SolrTestCaseJ4 {
  private static final String DOCS =
      "["
          + "{'id':'cat','title':'Cats','text':'A cat sleeps on the warm sofa all afternoon.','category_s':'pets'},"
          + "{'id':'dog','title':'Dogs','text':'Dogs love to play fetch in the park.','category_s':'pets'},"
          + "{'id':'stocks','title':'Markets','text':'Stock markets fell sharply after the interest rate decision.','category_s':'finance'},"
          + "{'id':'bonds','title':'Bonds','text':'Government bond yields rose as inflation expectations climbed.','category_s':'finance'},"
          + "{'id':'kitten','title':'Kittens','text':'Young kittens nap for most of the day.','category_s':'pets'}"
          + "]";

  @BeforeClass
  public static void beforeClass() throws Exception {
    System.setProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    Path home = NeuralTestHomes.solrHomeWithCore(createTempDir(), "collection1");
    initCore("solrconfig.xml", "managed-schema.xml", home.toString());
    assertU(delQ("*:*"));
    updateJ(json(DOCS), null);
    assertU(commit());
  }

  public void testDenseQueryRanksByMeaning() throws Exception {
    List<String> ids = ids(req("q", "{!dense f=vector model=bge-small topK=3}sleepy cats napping", "fl", "id"));
    assertEquals(3, ids.size());
    assertEquals(Set.of("cat", "kitten"), new HashSet<>(ids.subList(0, 2)));
  }

  public void testFiltersArePreFilters() throws Exception {
    // topK=2 over the finance documents only: a post-filter would keep nothing of the pets-heavy top 2
    assertJQ(
        req("q", "{!dense f=vector model=bge-small topK=2}sleepy cats napping", "fq", "category_s:finance", "fl", "id"),
        "/response/numFound==2");
  }

  public void testPagingWithinTopK() throws Exception {
    String q = "{!dense f=vector model=bge-small topK=3}sleepy cats napping";
    List<String> all = ids(req("q", q, "fl", "id"));
    assertEquals(all.subList(1, 2), ids(req("q", q, "fl", "id", "start", "1", "rows", "1")));
    assertEquals(all.subList(2, 3), ids(req("q", q, "fl", "id", "start", "2", "rows", "5")));
    assertEquals(List.of(), ids(req("q", q, "fl", "id", "start", "3", "rows", "5")));
  }

  @SuppressWarnings("unchecked")
  private static List<String> ids(SolrQueryRequest request) throws Exception {
    String json = JQ(request);
    Map<String, Object> response = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(json)).get("response");
    List<String> ids = new ArrayList<>();
    for (Object doc : (List<Object>) response.get("docs")) {
      ids.add((String) ((Map<String, Object>) doc).get("id"));
    }
    return ids;
  }

  public void testBadQueryParamsAre400() {
    String q = "{!dense f=vector model=bge-small}";
    assertQEx("unknown model", "unknown model 'nope'", req("q", "{!dense f=vector model=nope}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("missing model", "missing local param 'model'", req("q", "{!dense f=vector}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("missing field", "missing local param 'f'", req("q", "{!dense model=bge-small}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("undefined field", "undefined field 'nofield'", req("q", "{!dense f=nofield model=bge-small}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("not a vector", "not a DenseVectorField", req("q", "{!dense f=title model=bge-small}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("zero topK", "param 'topK'", req("q", "{!dense f=vector model=bge-small topK=0}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("absurd topK", "param 'topK'", req("q", "{!dense f=vector model=bge-small topK=1000000}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("text topK", "param 'topK'", req("q", "{!dense f=vector model=bge-small topK=ten}cats"), ErrorCode.BAD_REQUEST);
    assertQEx("empty text", "query text is empty", req("q", q + "   "), ErrorCode.BAD_REQUEST);
    assertQEx("unknown instruction", "param 'instruction': model 'bge-small': unknown instruction 'web' for queries; the model has no instruction templates",
        req("q", "{!dense f=vector model=bge-small instruction=web}cats"), ErrorCode.BAD_REQUEST);
    // the configset's sparse model has no package unless neural.sparse.package names one
    assertQEx("sparse model without package", "model 'splade' is declared without a package",
        req("q", "{!sparse f=sparse model=splade}cats"), ErrorCode.BAD_REQUEST);
  }

  public void testClientVectorIsKept() throws Exception {
    StringBuilder v = new StringBuilder("[1.0");
    for (int i = 1; i < 384; i++) {
      v.append(",0.0");
    }
    v.append(']');
    updateJ(json("[{'id':'client','title':'Client','text':'unrelated words','vector':" + v + "}]"), null);
    assertU(commit());
    assertJQ(req("q", "{!knn f=vector topK=1}" + v, "fl", "id"), "/response/docs/[0]/id=='client'");
    assertU(delI("client"));
    assertU(commit());
  }

  public void testBadDocumentsAre400AndNothingOfTheRequestIsIndexed() throws Exception {
    assertBadUpdate(
        "[{'id':'ok1','title':'fine','text':'fine text'},{'id':'short','title':'x','text':'y','vector':[1.0,2.0]}]",
        "document 'short', field 'vector'");
    assertBadUpdate("[{'id':'nan','title':'x','text':'y','vector':" + vectorWith("\"NaN\"") + "}]", "document 'nan', field 'vector'");
    assertBadUpdate("[{'id':'long2','title':'x','text':'y','vector':" + vectorWith("2.0") + "}]", "needs unit-length vectors");
    assertBadUpdate("[{'id':'atomic','text':{'set':'new text'}}]", "document 'atomic', field 'vector': an atomic update changes its source field 'text'");
    assertU(commit());
    assertJQ(req("q", "id:(ok1 short nan long2 atomic)"), "/response/numFound==0");
  }

  public void testOverlongTextIsTruncatedNotRefused() throws Exception {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      text.append("word").append(i % 50).append(' ');
    }
    updateJ(json("[{'id':'long','title':'Long','text':'" + text + "'}]"), null);
    assertU(commit());
    assertJQ(req("q", "id:long"), "/response/numFound==1");
    assertU(delI("long"));
    assertU(commit());
  }

  private static String vectorWith(String first) {
    StringBuilder v = new StringBuilder("[" + first);
    for (int i = 1; i < 384; i++) {
      v.append(",0.0");
    }
    return v.append(']').toString();
  }

  private static void assertBadUpdate(String docs, String expectedMessage) throws Exception {
    SolrException e = expectThrows(SolrException.class, () -> updateJ(json(docs), new ModifiableSolrParams()));
    assertEquals(e.getMessage(), ErrorCode.BAD_REQUEST.code, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains(expectedMessage));
  }
}
