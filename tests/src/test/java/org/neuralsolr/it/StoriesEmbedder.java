package org.neuralsolr.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.request.schema.FieldTypeDefinition;
import org.apache.solr.client.solrj.request.schema.SchemaRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.Utils;
import org.junit.Assert;
import org.neuralsolr.NeuralTestHomes;

/**
 * stories260K as a last-token embedder (parity fixture {@code stories260k-embed}) in a core or
 * collection built from the shipped configset: what a user does to add it, and checks of the
 * vectors Solr stores and the scores it returns against PyTorch's reference for the same texts.
 *
 * <p>With as little as possible outside Solr's APIs: the model is added to the registry of a
 * configset copy ({@link #configsetWithModel}, as a user adds a model to solrconfig.xml); the 64-d
 * field {@code story_vector} (the shipped {@code vector} field is 384-d) through the Schema API; an
 * update processor filling it from {@code text} with the model through the Config API ({@code
 * add-updateprocessor}). Documents name that processor with the {@code processor} request parameter
 * on the {@code plain} chain, so the configset's own chains and fields stay as they are.
 */
final class StoriesEmbedder {
  static final String MODEL = "stories";
  static final String FIELD = "story_vector";
  static final String PROCESSOR = "stories-dense";
  static final float TOLERANCE = 1e-4f;
  /** Texts and their unit vectors as PyTorch computes them ({@code scripts/convert_llama2c.py}). */
  final List<String> texts = new ArrayList<>();
  final List<float[]> vectors = new ArrayList<>();

  @SuppressWarnings("unchecked")
  StoriesEmbedder() throws IOException {
    Path file = NeuralTestHomes.parityFixtures().resolve("stories260k-embed").resolve("reference.json");
    Map<String, Object> reference = (Map<String, Object>) Utils.fromJSONString(Files.readString(file, StandardCharsets.UTF_8));
    for (Map<String, Object> t : (List<Map<String, Object>>) reference.get("texts")) {
      texts.add((String) t.get("text"));
      List<?> v = (List<?>) t.get("lastTokenNormalized");
      float[] out = new float[v.size()];
      for (int d = 0; d < out.length; d++) {
        out[d] = ((Number) v.get(d)).floatValue();
      }
      vectors.add(out);
    }
  }

  /** A copy of the shipped configset in {@code dir} whose registry also declares the model. */
  static Path configsetWithModel(Path dir) throws IOException {
    Path conf = dir.resolve("conf");
    Files.createDirectories(conf);
    try (var files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    NeuralTestHomes.addModels(conf, Map.of(MODEL, "stories260k-embed/neural-model.json"));
    return conf;
  }

  /** Core or collection properties: bge-small (int8) stays the configset's dense model. */
  static Map<String, String> properties() {
    return Map.of(
        "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
        "neural.model.roots", NeuralTestHomes.parityFixtures().toString());
  }

  /** The 64-d field (Schema API) and the processor that fills it (Config API). */
  static void addFieldAndProcessor(SolrClient client, String collection) throws Exception {
    ModifiableSolrParams wait = new ModifiableSolrParams();
    wait.set("updateTimeoutSecs", 60); // SolrCloud: until every replica has the change
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("name", "knn_vector_64");
    type.put("class", "solr.DenseVectorField");
    type.put("vectorDimension", "64");
    type.put("similarityFunction", "dot_product");
    FieldTypeDefinition def = new FieldTypeDefinition();
    def.setAttributes(type);
    new SchemaRequest.AddFieldType(def, wait).process(client, collection);
    new SchemaRequest.AddField(Map.of("name", FIELD, "type", "knn_vector_64", "indexed", true, "stored", true), wait)
        .process(client, collection);
    String processor =
        "{\"add-updateprocessor\": {\"name\": \"" + PROCESSOR + "\", \"class\": \"org.neuralsolr.update.NeuralUpdateProcessorFactory\","
            + " \"field\": {\"name\": \"" + FIELD + "\", \"model\": \"" + MODEL + "\", \"source\": \"text\"}}}";
    GenericSolrRequest config = new GenericSolrRequest(SolrRequest.METHOD.POST, "/config", wait);
    config.setRequiresCollection(true);
    config.withContent(processor.getBytes(StandardCharsets.UTF_8), "application/json");
    config.process(client, collection);
  }

  /** Documents {@code s0, s1, ...} with the reference texts, through the processor; committed. */
  void index(SolrClient client, String collection) throws Exception {
    UpdateRequest update = new UpdateRequest();
    for (int i = 0; i < texts.size(); i++) {
      update.add(new SolrInputDocument("id", "s" + i, "text", texts.get(i)));
    }
    update.setParam("update.chain", "plain");
    update.setParam("processor", PROCESSOR);
    update.process(client, collection);
    client.commit(collection);
  }

  /** Every document's stored vector is PyTorch's for its text. */
  void assertStoredVectors(SolrClient client, String collection) throws Exception {
    QueryResponse rsp = client.query(collection, new SolrQuery("*:*").setFields("id", FIELD).setRows(100));
    Assert.assertEquals(texts.size(), rsp.getResults().getNumFound());
    for (SolrDocument doc : rsp.getResults()) {
      int i = Integer.parseInt(((String) doc.getFieldValue("id")).substring(1));
      List<?> stored = (List<?>) doc.getFieldValue(FIELD);
      Assert.assertNotNull("document " + i + " has a vector", stored);
      float[] expected = vectors.get(i);
      Assert.assertEquals(expected.length, stored.size());
      for (int d = 0; d < expected.length; d++) {
        Assert.assertEquals("document " + i + " dimension " + d, expected[d], ((Number) stored.get(d)).floatValue(), TOLERANCE);
      }
    }
  }

  /**
   * For each text as a {@code {!dense}} query over every document: dot_product scores are (1 + q·d)
   * / 2 of unit vectors, so 2 · score - 1 must be PyTorch's q·d; and the text finds itself first.
   */
  void assertDenseScores(SolrClient client, String collection) throws Exception {
    int n = texts.size();
    for (int q = 0; q < n; q++) {
      String query = "{!dense f=" + FIELD + " model=" + MODEL + " topK=" + n + "}" + texts.get(q);
      QueryResponse rsp = client.query(collection, new SolrQuery(query).setFields("id", "score").setRows(n));
      Assert.assertEquals(n, rsp.getResults().size());
      Map<String, Float> scores = new HashMap<>();
      float previous = Float.MAX_VALUE;
      for (SolrDocument doc : rsp.getResults()) {
        float score = ((Number) doc.getFieldValue("score")).floatValue();
        Assert.assertTrue("descending scores", score <= previous);
        previous = score;
        scores.put((String) doc.getFieldValue("id"), score);
      }
      for (int d = 0; d < n; d++) {
        float got = 2 * scores.get("s" + d) - 1;
        Assert.assertEquals("query " + q + " document " + d, dot(vectors.get(q), vectors.get(d)), got, TOLERANCE);
      }
      Assert.assertEquals("s" + q, rsp.getResults().get(0).getFieldValue("id"));
    }
  }

  private static float dot(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
