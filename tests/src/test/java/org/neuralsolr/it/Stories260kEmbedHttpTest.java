package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.request.schema.FieldTypeDefinition;
import org.apache.solr.client.solrj.request.schema.SchemaRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * stories260K (a real llama2.c Llama) as a last-token embedder in a real Solr over HTTP: documents
 * go through the neural update processor into a 64-d vector field, {@code {!dense}} queries run over
 * HTTP, and both the stored vectors and the query scores equal what PyTorch computes for the same
 * texts ({@code parity/stories260k-embed/reference.json}, written by {@code
 * scripts/convert_llama2c.py}). The vectors have no retrieval quality; only their exactness is checked.
 *
 * <p>How the core is set up, with as little as possible outside Solr's APIs: the model is added to
 * the registry of a configset copy, as a user adds a model to solrconfig.xml; the 64-d field
 * ({@code story_vector}: the shipped {@code vector} field is 384-d) through the Schema API; and an
 * update processor that fills it from {@code text} with the model through the Config API
 * ({@code add-updateprocessor}). Documents name that processor with the {@code processor} request
 * parameter on the {@code plain} chain, so the shipped configset's own chains and fields stay as
 * they are.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class Stories260kEmbedHttpTest extends SolrTestCase {
  private static final String CORE = "stories";
  private static final String MODEL = "stories";
  private static final String FIELD = "story_vector";
  private static final float TOLERANCE = 1e-4f;
  private static LocalSolr solr;
  private static List<Map<String, Object>> texts;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void startSolr() throws Exception {
    Path parity = NeuralTestHomes.parityFixtures();
    Map<String, Object> reference =
        (Map<String, Object>) Utils.fromJSONString(Files.readString(parity.resolve("stories260k-embed/reference.json"), StandardCharsets.UTF_8));
    texts = (List<Map<String, Object>>) reference.get("texts");

    Path conf = createTempDir().resolve("conf");
    Files.createDirectories(conf);
    try (var files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    NeuralTestHomes.addModels(conf, Map.of(MODEL, "stories260k-embed/neural-model.json"));
    solr = LocalSolr.start(createTempDir(), conf, 0);
    solr.createCore(
        CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8", "neural.model.roots", parity.toString()));

    Map<String, Object> type = new LinkedHashMap<>();
    type.put("name", "knn_vector_64");
    type.put("class", "solr.DenseVectorField");
    type.put("vectorDimension", "64");
    type.put("similarityFunction", "dot_product");
    FieldTypeDefinition def = new FieldTypeDefinition();
    def.setAttributes(type);
    new SchemaRequest.AddFieldType(def).process(solr.client(), CORE);
    new SchemaRequest.AddField(Map.of("name", FIELD, "type", "knn_vector_64", "indexed", true, "stored", true)).process(solr.client(), CORE);

    String processor =
        "{\"add-updateprocessor\": {\"name\": \"stories-dense\", \"class\": \"org.neuralsolr.update.NeuralUpdateProcessorFactory\","
            + " \"field\": {\"name\": \"" + FIELD + "\", \"model\": \"" + MODEL + "\", \"source\": \"text\"}}}";
    GenericSolrRequest config = new GenericSolrRequest(SolrRequest.METHOD.POST, "/config");
    config.setRequiresCollection(true);
    config.withContent(processor.getBytes(StandardCharsets.UTF_8), "application/json");
    config.process(solr.client(), CORE);

    UpdateRequest update = new UpdateRequest();
    for (int i = 0; i < texts.size(); i++) {
      update.add(new SolrInputDocument("id", "s" + i, "text", (String) texts.get(i).get("text")));
    }
    update.setParam("update.chain", "plain");
    update.setParam("processor", "stories-dense");
    update.process(solr.client(), CORE);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
    texts = null;
  }

  public void testStoredVectorsArePyTorchsForTheSameTexts() throws Exception {
    QueryResponse rsp = solr.client().query(CORE, new SolrQuery("*:*").setFields("id", FIELD).setRows(100));
    assertEquals(texts.size(), rsp.getResults().getNumFound());
    for (SolrDocument doc : rsp.getResults()) {
      int i = Integer.parseInt(((String) doc.getFieldValue("id")).substring(1));
      List<?> stored = (List<?>) doc.getFieldValue(FIELD);
      assertNotNull("document " + i + " has a vector", stored);
      float[] expected = expected(i);
      assertEquals(expected.length, stored.size());
      for (int d = 0; d < expected.length; d++) {
        assertEquals("document " + i + " dimension " + d, expected[d], ((Number) stored.get(d)).floatValue(), TOLERANCE);
      }
    }
  }

  /** dot_product scores are (1 + q·d) / 2 of unit vectors: each equals PyTorch's q·d for the same texts. */
  public void testDenseQueryScoresArePyTorchsDotProducts() throws Exception {
    for (int q = 0; q < texts.size(); q++) {
      String query = "{!dense f=" + FIELD + " model=" + MODEL + " topK=" + texts.size() + "}" + texts.get(q).get("text");
      QueryResponse rsp = solr.client().query(CORE, new SolrQuery(query).setFields("id", "score").setRows(texts.size()));
      assertEquals(texts.size(), rsp.getResults().size());
      Map<String, Float> scores = new HashMap<>();
      float previous = Float.MAX_VALUE;
      for (SolrDocument doc : rsp.getResults()) {
        float score = ((Number) doc.getFieldValue("score")).floatValue();
        assertTrue("descending scores", score <= previous);
        previous = score;
        scores.put((String) doc.getFieldValue("id"), score);
      }
      float[] qv = expected(q);
      for (int d = 0; d < texts.size(); d++) {
        float dot = dot(qv, expected(d));
        float got = 2 * scores.get("s" + d) - 1;
        assertEquals("query " + q + " document " + d, dot, got, TOLERANCE);
      }
      // a text finds itself first (a unit vector's dot product with itself is 1)
      assertEquals("s" + q, rsp.getResults().get(0).getFieldValue("id"));
    }
  }

  private static float[] expected(int i) {
    List<?> v = (List<?>) texts.get(i).get("lastTokenNormalized");
    float[] out = new float[v.size()];
    for (int d = 0; d < out.length; d++) {
      out[d] = ((Number) v.get(d)).floatValue();
    }
    return out;
  }

  private static float dot(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
