package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.BaseHttpSolrClient;
import org.apache.solr.client.solrj.request.schema.FieldTypeDefinition;
import org.apache.solr.client.solrj.request.schema.SchemaRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;
import org.neuralsolr.schema.NeuralCodecFactory;
import org.neuralsolr.schema.QuantizedDenseVectorField;

/**
 * Quantised dense vectors in a real Solr over HTTP: int7 and int4 {@link QuantizedDenseVectorField}
 * fields added with the Schema API and filled by {@code copyField} from the neural processor's
 * {@code vector} (one encoding per document), searched with {@code {!dense}} and {@code rescore},
 * their bytes per vector read from the core's metrics.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class QuantizedVectorHttpTest extends SolrTestCase {
  private static final String CORE = "quantised";
  private static final int DOCS = 120;
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    Path home = createTempDir();
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
    addQuantizedField("vector_int7", Map.of("quantization", "int7"));
    addQuantizedField("vector_int4", Map.of("quantization", "int4", "confidenceInterval", "0"));
    docs = SampleDocs.first(DOCS);
    solr.client().add(CORE, docs);
    solr.client().commit(CORE);
  }

  private static void addQuantizedField(String field, Map<String, String> attributes) throws Exception {
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("name", field + "_type");
    type.put("class", QuantizedDenseVectorField.class.getName());
    type.put("vectorDimension", "384");
    type.put("similarityFunction", "dot_product");
    type.put("hnswMaxConnections", "16");
    type.put("hnswBeamWidth", "100");
    type.putAll(attributes);
    FieldTypeDefinition def = new FieldTypeDefinition();
    def.setAttributes(type);
    new SchemaRequest.AddFieldType(def).process(solr.client(), CORE);
    new SchemaRequest.AddField(Map.of("name", field, "type", field + "_type")).process(solr.client(), CORE);
    new SchemaRequest.AddCopyField("vector", List.of(field)).process(solr.client(), CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  private static QueryResponse dense(String field, int topK, String extra, String text) throws Exception {
    return solr.client().query(CORE, new SolrQuery("{!dense f=" + field + " model=bge-small topK=" + topK + extra + "}" + text).setFields("id", "score").setRows(10));
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      ids.add((String) d.getFieldValue("id"));
    }
    return ids;
  }

  private static int overlap(List<String> a, List<String> b) {
    Set<String> s = new HashSet<>(a);
    return (int) b.stream().filter(s::contains).count();
  }

  /** Queries: titles of documents in the collection, and a few of other topics' words. */
  private static List<String> queries() {
    List<String> q = new ArrayList<>();
    for (int i = 0; i < DOCS; i += 12) {
      q.add((String) docs.get(i).getFieldValue("title"));
    }
    return q;
  }

  public void testInt7RanksCloseToFloat32() throws Exception {
    int shared = 0;
    int firstSame = 0;
    List<String> queries = queries();
    for (String text : queries) {
      // topK = every document: the float32 ranking is exact, the graph's recall is not what is tested
      List<String> exact = ids(dense("vector", DOCS, "", text));
      List<String> int7 = ids(dense("vector_int7", DOCS, "", text));
      assertEquals(10, int7.size());
      shared += overlap(exact, int7);
      firstSame += exact.get(0).equals(int7.get(0)) ? 1 : 0;
    }
    assertTrue("int7 top 10 shares " + shared + " of " + 10 * queries.size() + " with float32", shared >= 9 * queries.size());
    assertEquals(queries.size(), firstSame);
  }

  public void testRescoreRecoversFloat32Top10() throws Exception {
    for (String field : new String[] {"vector_int4", "vector_int7"}) {
      for (String text : queries()) {
        QueryResponse exact = dense("vector", DOCS, "", text);
        QueryResponse rescored = dense(field, 10, " rescore=" + DOCS, text);
        assertEquals(field + ": " + text, ids(exact), ids(rescored));
        for (int r = 0; r < 10; r++) {
          // the float32 similarity itself, not the quantised estimate
          assertEquals((Float) exact.getResults().get(r).getFieldValue("score"), (Float) rescored.getResults().get(r).getFieldValue("score"), 1e-6f);
        }
      }
    }
  }

  public void testQuantisedScoresAreEstimates() throws Exception {
    // without re-scoring, int4 scores are the quantised estimate: they differ from float32's
    String text = queries().get(0);
    QueryResponse exact = dense("vector", DOCS, "", text);
    QueryResponse int4 = dense("vector_int4", DOCS, "", text);
    Map<String, Float> exactScores = new LinkedHashMap<>();
    for (SolrDocument d : exact.getResults()) {
      exactScores.put((String) d.getFieldValue("id"), (Float) d.getFieldValue("score"));
    }
    boolean differ = false;
    for (SolrDocument d : int4.getResults()) {
      Float e = exactScores.get((String) d.getFieldValue("id"));
      differ |= e == null || Math.abs(e - (Float) d.getFieldValue("score")) > 1e-6f;
    }
    assertTrue("int4 scores equal float32's: the field is not quantised", differ);
  }

  public void testBytesPerVector() throws Exception {
    Map<String, Object> stats = MBeanStats.of(solr.client(), CORE, "INDEX", NeuralCodecFactory.BEAN_NAME);
    String prefix = "INDEX." + NeuralCodecFactory.BEAN_NAME + ".denseVectors.";
    Map<String, Object> f32 = field(stats, prefix + "vector");
    Map<String, Object> q7 = field(stats, prefix + "vector_int7");
    Map<String, Object> q4 = field(stats, prefix + "vector_int4");
    double float32 = MBeanStats.number(f32, "bytesPerVector");
    double int7 = MBeanStats.number(q7, "bytesPerVector");
    double int4 = MBeanStats.number(q4, "bytesPerVector");
    System.out.printf("bytes per vector (vector data, no graph), %d documents: float32 %.2f, int7 %.2f (%.1f %%), int4 %.2f (%.1f %%)%n",
        DOCS, float32, int7, 100 * int7 / float32, int4, 100 * int4 / float32);
    assertEquals(DOCS, MBeanStats.number(q7, "vectors"), 0);
    assertEquals("float32", f32.get("quantization"));
    assertEquals("int7", q7.get("quantization"));
    assertEquals("int4", q4.get("quantization"));
    // 384 dimensions: float32 4 bytes each, int7 1 byte, int4 half a byte, plus a correction float;
    // file headers and footers are spread over the vectors
    assertEquals(1536, float32, 1536 * 0.05);
    assertEquals(388, int7, 388 * 0.1);
    assertEquals(196, int4, 196 * 0.15);
    assertTrue(int7 <= 0.3 * float32);
    // the quantised fields keep the float32 vectors too, which rescore reads
    assertEquals(float32, MBeanStats.number(q4, "floatBytesPerVector"), float32 * 0.05);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> field(Map<String, Object> stats, String key) {
    Object v = stats.get(key);
    if (v instanceof org.apache.solr.common.util.NamedList) {
      return ((org.apache.solr.common.util.NamedList<Object>) v).asShallowMap();
    }
    if (!(v instanceof Map)) {
      throw new AssertionError("no " + key + " in " + stats);
    }
    return (Map<String, Object>) v;
  }

  public void testBadRescoreIs400() {
    for (String bad : new String[] {"5", "abc", "1000000"}) {
      BaseHttpSolrClient.RemoteSolrException e =
          expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> dense("vector_int7", 10, " rescore=" + bad, "cells"));
      assertEquals(400, e.code());
      assertTrue(e.getMessage(), e.getMessage().contains("param 'rescore'"));
    }
  }

  public void testBadQuantizationFailsTheSchema() throws Exception {
    for (Map<String, String> bad : List.of(Map.of("quantization", "int3"), Map.of("confidenceInterval", "0.5"))) {
      Map<String, Object> type = new LinkedHashMap<>();
      type.put("name", "bad_type");
      type.put("class", QuantizedDenseVectorField.class.getName());
      type.put("vectorDimension", "384");
      type.putAll(bad);
      FieldTypeDefinition def = new FieldTypeDefinition();
      def.setAttributes(type);
      String attribute = bad.keySet().iterator().next();
      Exception e = expectThrows(Exception.class, () -> {
        var rsp = new SchemaRequest.AddFieldType(def).process(solr.client(), CORE);
        if (rsp.getResponse().get("errors") != null || rsp.getResponse().get("error") != null) {
          throw new AssertionError(String.valueOf(rsp.getResponse()));
        }
      });
      assertTrue(e.getMessage(), e.getMessage().contains(attribute));
      assertTrue(e.getMessage(), attribute.equals("quantization") ? e.getMessage().contains("int7 or int4") : e.getMessage().contains("between 0.9 and 1.0"));
    }
    // nothing indexed was lost
    assertEquals(DOCS, solr.client().query(CORE, new SolrQuery("*:*").setRows(0)).getResults().getNumFound());
  }
}
