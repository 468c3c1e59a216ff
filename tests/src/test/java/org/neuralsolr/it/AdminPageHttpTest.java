package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The admin page and model API of a real Solr over HTTP: the page comes from the jar as one
 * self-contained HTML file; models and fields are listed; load, reload and unload change a core's
 * models at run time, and bad names, paths outside the model roots and checksum mismatches are 400
 * with the running models untouched; unloading a model solrconfig.xml uses is 409 naming the user.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class AdminPageHttpTest extends SolrTestCase {
  private static final String CORE = "sample";
  private static final int DOCS = 30;
  private static LocalSolr solr;
  private static Path home;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeClass
  public static void startSolr() throws Exception {
    home = createTempDir();
    Files.createDirectories(home.resolve("models"));
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    // a small codebook, trained on the first flush: the fields view shows it
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8",
        "neural.colbert.trainingThreshold", "0", "neural.colbert.centroids", "32"));
    org.apache.solr.client.solrj.request.UpdateRequest add = new org.apache.solr.client.solrj.request.UpdateRequest();
    add.setParam("update.chain", "neural-colbert");
    add.add(SampleDocs.first(DOCS));
    add.process(solr.client(), CORE);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  static HttpResponse<String> get(String pathAndQuery) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(solr.baseUrl() + pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String path, String... params) throws Exception {
    StringBuilder form = new StringBuilder("wt=json");
    for (int i = 0; i < params.length; i += 2) {
      form.append('&').append(params[i]).append('=').append(URLEncoder.encode(params[i + 1], StandardCharsets.UTF_8));
    }
    return http.send(
        HttpRequest.newBuilder(URI.create(solr.baseUrl() + path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form.toString()))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> models() throws Exception {
    HttpResponse<String> r = get("/" + CORE + "/neural/models?wt=json&json.nl=map");
    assertEquals(r.body(), 200, r.statusCode());
    return (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(r.body())).get("models");
  }

  public void testPageIsOneSelfContainedHtmlFileFromTheJar() throws Exception {
    for (String path : new String[] {"/" + CORE + "/neural", "/" + CORE + "/neural/"}) {
      HttpResponse<String> r = get(path);
      assertEquals(200, r.statusCode());
      assertTrue(r.headers().firstValue("Content-Type").orElse(""), r.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
      String html = r.body();
      assertTrue(html.contains("<section id=\"models-section\">"));
      assertTrue(html.contains("<section id=\"fields-section\">"));
      assertTrue(html.contains("<section id=\"playground-section\">"));
      assertFalse("nothing fetched from outside", html.matches("(?s).*(src|href)=\"(https?:)?//.*"));
    }
  }

  @SuppressWarnings("unchecked")
  public void testModelsListTheLoadedModelWithCountersAndUsers() throws Exception {
    Map<String, Object> m = (Map<String, Object>) models().get("bge-small");
    assertEquals("loaded", m.get("state"));
    assertEquals("dense", m.get("kind"));
    assertEquals("builtin:bge-small-en-v1.5-int8", m.get("packageReference"));
    assertEquals(64, m.get("sha256").toString().length());
    assertTrue(m.toString(), ((Map<String, Object>) m.get("counters")).get("textsEncoded") instanceof Number);
    // live: one query text more is one text more (a test of this class may have restarted Solr, so
    // the ingest's texts are not necessarily counted any more)
    long before = ((Number) ((Map<String, Object>) m.get("counters")).get("textsEncoded")).longValue();
    solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small topK=1}a text counted once"));
    Map<String, Object> after = (Map<String, Object>) ((Map<String, Object>) models().get("bge-small")).get("counters");
    assertEquals(after.toString(), before + 1, ((Number) after.get("textsEncoded")).longValue());
    assertTrue(m.get("usedBy").toString(), m.get("usedBy").toString().contains("neural-dense"));
    Map<String, Object> splade = (Map<String, Object>) models().get("splade");
    assertTrue(splade.toString(), splade.get("state").toString().startsWith("declared without a package"));
  }

  @SuppressWarnings("unchecked")
  public void testFieldsShowDocumentsAndSizes() throws Exception {
    HttpResponse<String> r = get("/" + CORE + "/neural/fields?wt=json&json.nl=map");
    assertEquals(r.body(), 200, r.statusCode());
    Map<String, Object> fields = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(r.body())).get("fields");
    Map<String, Object> vector = (Map<String, Object>) fields.get("vector");
    assertEquals("dense", vector.get("kind"));
    assertEquals((long) DOCS, ((Number) vector.get("documents")).longValue());
    assertEquals(384L * 4, ((Number) vector.get("bytesPerVector")).longValue());
    Map<String, Object> colbert = (Map<String, Object>) fields.get("colbert");
    assertEquals("multivector", colbert.get("kind"));
    assertEquals((long) DOCS, ((Number) colbert.get("documents")).longValue());
    Map<String, Object> codebook = (Map<String, Object>) colbert.get("codebook");
    assertEquals(codebook.toString(), "trained", codebook.get("state"));
    List<Map<String, Object>> books = (List<Map<String, Object>>) codebook.get("codebooks");
    assertEquals(codebook.toString(), 1, books.size());
    assertEquals(codebook.toString(), 32L, ((Number) books.get(0).get("centroids")).longValue());
    assertEquals(codebook.toString(), (long) DOCS, ((Number) books.get(0).get("documents")).longValue());
    assertNotNull(codebook.toString(), books.get(0).get("oldestSegmentWritten"));
    assertEquals("sparse", ((Map<String, Object>) fields.get("sparse")).get("kind"));
  }

  public void testLoadQueryReloadUnload() throws Exception {
    HttpResponse<String> r = post("/" + CORE + "/neural/models", "action", "load", "name", "extra", "package", "builtin:bge-small-en-v1.5-int8");
    assertEquals(r.body(), 200, r.statusCode());
    assertTrue(models().containsKey("extra"));
    String q = "{!dense f=vector model=extra topK=3}" + SampleDocs.first(DOCS).get(5).getFieldValue("title");
    assertEquals(SampleDocs.first(DOCS).get(5).getFieldValue("id"), solr.client().query(CORE, new SolrQuery(q)).getResults().get(0).get("id"));
    r = post("/" + CORE + "/neural/models", "action", "reload", "name", "extra");
    assertEquals(r.body(), 200, r.statusCode());
    assertEquals(SampleDocs.first(DOCS).get(5).getFieldValue("id"), solr.client().query(CORE, new SolrQuery(q)).getResults().get(0).get("id"));
    r = post("/" + CORE + "/neural/models", "action", "load", "name", "extra", "package", "builtin:bge-small-en-v1.5-int8");
    assertEquals(r.body(), 400, r.statusCode());
    assertTrue(r.body(), r.body().contains("already loaded"));
    r = post("/" + CORE + "/neural/models", "action", "unload", "name", "extra");
    assertEquals(r.body(), 200, r.statusCode());
    assertFalse(models().containsKey("extra"));
    HttpResponse<String> after = get("/" + CORE + "/select?wt=json&q=" + URLEncoder.encode(q, StandardCharsets.UTF_8));
    assertEquals(400, after.statusCode());
    assertTrue(after.body(), after.body().contains("unknown model 'extra'"));
  }

  public void testUnloadOfAModelInUseIs409NamingTheUser() throws Exception {
    HttpResponse<String> r = post("/" + CORE + "/neural/models", "action", "unload", "name", "bge-small");
    assertEquals(r.body(), 409, r.statusCode());
    assertTrue(r.body(), r.body().contains("neural-dense"));
    assertTrue(models().containsKey("bge-small"));
  }

  public void testBadRequestsAre400AndLeaveTheModelsUntouched() throws Exception {
    Object before = models().keySet().toString();
    Path outside = createTempDir();
    Files.writeString(outside.resolve("neural-model.json"), "{}");
    // a package whose network file does not hash to the manifest's sha256
    Path bad = home.resolve("models").resolve("tampered");
    Files.createDirectories(bad);
    Files.writeString(bad.resolve("m.onnx"), "not a network");
    Files.writeString(bad.resolve("t.json"), "{}");
    Files.writeString(
        bad.resolve("neural-model.json"),
        "{\"name\":\"tampered\",\"kind\":\"dense\",\"engine\":\"onnx\",\"modelFile\":\"m.onnx\",\"sha256\":\""
            + "0".repeat(64) + "\",\"tokenizerFile\":\"t.json\",\"tokenizerSha256\":\"" + "0".repeat(64)
            + "\",\"maxLength\":128,\"inputs\":[\"input_ids\",\"attention_mask\"],\"output\":\"last_hidden_state\","
            + "\"dimension\":384,\"pooling\":\"cls\",\"normalize\":true}");
    List<String[]> cases =
        List.of(
            new String[] {"name=b@d", "param 'name'", "action", "load", "name", "b@d", "package", "builtin:bge-small-en-v1.5-int8"},
            new String[] {"outside the roots", "outside the configured model roots", "action", "load", "name", "x", "package", outside.toString()},
            new String[] {"checksum", "SHA-256", "action", "load", "name", "x", "package", "tampered"},
            new String[] {"no package", "param 'package'", "action", "load", "name", "x"},
            new String[] {"unknown model", "unknown model 'nope'", "action", "reload", "name", "nope"},
            new String[] {"bad action", "param 'action'", "action", "drop", "name", "bge-small"});
    for (String[] c : cases) {
      String[] params = java.util.Arrays.copyOfRange(c, 2, c.length);
      HttpResponse<String> r = post("/" + CORE + "/neural/models", params);
      assertEquals(c[0] + ": " + r.body(), 400, r.statusCode());
      assertTrue(c[0] + ": " + r.body(), r.body().contains(c[1]));
    }
    HttpResponse<String> viaGet = get("/" + CORE + "/neural/models?action=unload&name=extra");
    assertEquals(400, viaGet.statusCode());
    assertTrue(viaGet.body(), viaGet.body().contains("POST"));
    assertEquals(before, models().keySet().toString());
    assertEquals(1, solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small topK=1}cells")).getResults().size());
  }

  /** The value of gauge {@code OTHER.neuralModels.MODEL.NAME} of the core, or null if it has none. */
  @SuppressWarnings("unchecked")
  static Object gauge(String model, String name) throws Exception {
    String metric = "OTHER.neuralModels." + model + "." + name;
    HttpResponse<String> r = get("/admin/metrics?wt=json&group=core&prefix=" + metric);
    assertEquals(r.body(), 200, r.statusCode());
    Map<String, Object> metrics = (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(r.body())).get("metrics");
    Map<String, Object> core = (Map<String, Object>) metrics.get("solr.core." + CORE);
    return core == null ? null : core.get(metric);
  }

  @SuppressWarnings("unchecked")
  public void testLoadedModelSurvivesACoreReloadAndHasGauges() throws Exception {
    HttpResponse<String> r = post("/" + CORE + "/neural/models", "action", "load", "name", "kept", "package", "builtin:bge-small-en-v1.5-int8", "device", "cpu");
    assertEquals(r.body(), 200, r.statusCode());
    assertEquals("dense", gauge("kept", "kind"));
    String q = "{!dense f=vector model=kept topK=3}" + SampleDocs.first(DOCS).get(9).getFieldValue("title");
    long before = ((Number) gauge("kept", "textsEncoded")).longValue();
    assertEquals(SampleDocs.first(DOCS).get(9).getFieldValue("id"), solr.client().query(CORE, new SolrQuery(q)).getResults().get(0).get("id"));
    assertEquals("the gauge counts the query's text", before + 1, ((Number) gauge("kept", "textsEncoded")).longValue());
    // kept next to the configset, as Solr's managed resources are
    assertTrue(Files.exists(home.resolve("configsets/neural/conf/_neural_models_" + CORE + ".json")));

    org.apache.solr.client.solrj.request.CoreAdminRequest.reloadCore(CORE, solr.client());
    Map<String, Object> m = (Map<String, Object>) models().get("kept");
    assertNotNull("still loaded after RELOAD", m);
    assertEquals("loaded", m.get("state"));
    assertTrue(m.toString(), m.get("loadedBy").toString().startsWith("admin API"));
    assertEquals(SampleDocs.first(DOCS).get(9).getFieldValue("id"), solr.client().query(CORE, new SolrQuery(q)).getResults().get(0).get("id"));
    assertEquals("the reloaded core has the model's gauges", "dense", gauge("kept", "kind"));
    assertEquals("solrconfig.xml's model keeps its own", "dense", gauge("bge-small", "kind"));

    // and a restart of Solr over the same home
    solr.close();
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    m = (Map<String, Object>) models().get("kept");
    assertNotNull("still loaded after a restart", m);
    assertEquals("loaded", m.get("state"));
    assertEquals(SampleDocs.first(DOCS).get(9).getFieldValue("id"), solr.client().query(CORE, new SolrQuery(q)).getResults().get(0).get("id"));

    r = post("/" + CORE + "/neural/models", "action", "unload", "name", "kept");
    assertEquals(r.body(), 200, r.statusCode());
    assertNull("gauges go with the model", gauge("kept", "kind"));
    assertFalse(Files.exists(home.resolve("configsets/neural/conf/_neural_models_" + CORE + ".json")));
    org.apache.solr.client.solrj.request.CoreAdminRequest.reloadCore(CORE, solr.client());
    assertFalse("unload is kept too", models().containsKey("kept"));
    assertTrue(models().containsKey("bge-small"));
  }

  /** A kept model whose package no longer loads does not fail the core: it is listed, and unload forgets it. */
  @SuppressWarnings("unchecked")
  public void testKeptModelThatNoLongerLoadsIsListedAndCanBeForgotten() throws Exception {
    Path kept = home.resolve("configsets/neural/conf/_neural_models_" + CORE + ".json");
    Files.writeString(kept, "{\"gone\": {\"package\": \"no-such-package\"}}");
    try {
      org.apache.solr.client.solrj.request.CoreAdminRequest.reloadCore(CORE, solr.client());
      Map<String, Object> m = (Map<String, Object>) models().get("gone");
      assertNotNull(models().toString(), m);
      assertTrue(m.toString(), m.get("state").toString().startsWith("failed to load again: ") && m.get("state").toString().contains("no-such-package"));
      assertEquals("loaded", ((Map<String, Object>) models().get("bge-small")).get("state"));
      assertEquals(1, solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small topK=1}cells")).getResults().size());
      HttpResponse<String> r = post("/" + CORE + "/neural/models", "action", "unload", "name", "gone");
      assertEquals(r.body(), 200, r.statusCode());
      assertFalse(models().containsKey("gone"));
      assertFalse("forgotten: " + kept, Files.exists(kept));
    } finally {
      Files.deleteIfExists(kept);
    }
  }
}
