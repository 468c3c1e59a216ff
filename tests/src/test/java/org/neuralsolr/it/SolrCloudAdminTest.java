package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.util.Utils;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.SpladeFixture;

/**
 * The admin page and its JSON on a 2-shard SolrCloud collection (issue 16): {@code /neural/fields}
 * of the collection is the sum of its shards' own answers ({@code distrib=false}) with a per-shard
 * breakdown and the collection codebook; {@code /neural/models} and the page answer on the
 * collection.
 *
 * <p>SSL is suppressed: the test talks to the nodes as a browser and a plain JDK client do (headless
 * Chromium and {@link HttpClient}), and neither trusts the self-signed certificate that the test
 * framework picks at random for some seeds.
 */
@SolrTestCaseJ4.SuppressSSL(bugUrl = "none: plain HTTP clients, see class javadoc")
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudAdminTest extends SolrCloudTestCase {
  private static final String C = "adm";
  private static final int DOCS = 30;
  private static final int SPARSE_DOCS = 10;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeClass
  public static void setupCluster() throws Exception {
    System.setProperty("metricsEnabled", "true");
    Path parity = Path.of(System.getProperty("neural.parity.dir"));
    Map<String, String> props =
        Map.of(
            "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
            "neural.sparse.package", SpladeFixture.PACKAGE,
            "neural.model.roots", parity.toString(),
            "neural.colbert.nbits", "2",
            "neural.colbert.centroids", "32");
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(C, "neural", 2, 1);
    props.forEach(create::withProperty);
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection(C, 2, 2);
    try (SolrClient client = new Http2SolrClient.Builder(cluster.getJettySolrRunner(0).getBaseUrl().toString()).build()) {
      UpdateRequest add = new UpdateRequest();
      add.add(SampleDocs.first(DOCS));
      add.setParam("update.chain", "neural-colbert");
      add.process(client, C);
      List<SolrInputDocument> sparse = new ArrayList<>();
      for (SolrInputDocument d : SampleDocs.first(SPARSE_DOCS)) {
        SolrInputDocument s = d.deepCopy();
        s.setField("id", "s" + d.getFieldValue("id"));
        sparse.add(s);
      }
      add = new UpdateRequest();
      add.add(sparse);
      add.setParam("update.chain", "sparse");
      add.process(client, C);
      client.commit(C);
    }
    // the collection's codebook (codebooks=collection is the configset's default in SolrCloud)
    HttpResponse<String> train = post(node(0) + "/" + C + "/neural/codebook", "action", "train", "field", "colbert");
    assertEquals(train.body(), 200, train.statusCode());
  }

  static String node(int i) {
    return cluster.getJettySolrRunner(i).getBaseUrl().toString();
  }

  static HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String url, String... params) throws Exception {
    StringBuilder form = new StringBuilder("wt=json");
    for (int i = 0; i < params.length; i += 2) {
      form.append('&').append(params[i]).append('=').append(URLEncoder.encode(params[i + 1], StandardCharsets.UTF_8));
    }
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form.toString()))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> answer(String url) throws Exception {
    HttpResponse<String> r = get(url + (url.contains("?") ? "&" : "?") + "wt=json&json.nl=map");
    assertEquals(url + ": " + r.body(), 200, r.statusCode());
    return (Map<String, Object>) Utils.fromJSONString(r.body());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> field(Map<String, Object> answer, String name) {
    return (Map<String, Object>) ((Map<String, Object>) answer.get("fields")).get(name);
  }

  static long num(Map<String, Object> m, String key) {
    return ((Number) m.get(key)).longValue();
  }

  static long numFound(String q) throws Exception {
    return cluster.getSolrClient().query(C, new SolrQuery(q).setRows(0)).getResults().getNumFound();
  }

  @SuppressWarnings("unchecked")
  public void testFieldsOfTheCollectionAreTheSumOfItsShards() throws Exception {
    DocCollection collection = cluster.getSolrClient().getClusterState().getCollection(C);
    for (int n = 0; n < 2; n++) { // whichever node receives it
      Map<String, Object> all = answer(node(n) + "/" + C + "/neural/fields");
      assertEquals(C, all.get("collection"));
      Map<String, Object> shards = (Map<String, Object>) all.get("shards");
      assertEquals(all.toString(), 2, shards.size());
      long[] documents = new long[3];
      long postings = 0;
      long codebookDocs = 0;
      for (Slice slice : collection.getActiveSlices()) {
        Replica r = slice.getLeader();
        Map<String, Object> own = answer(r.getBaseUrl() + "/" + r.getCoreName() + "/neural/fields?distrib=false");
        assertEquals(r.getCoreName(), own.get("core"));
        assertTrue(slice.getName() + " holds documents: " + own, num(field(own, "vector"), "documents") > 0);
        documents[0] += num(field(own, "vector"), "documents");
        documents[1] += num(field(own, "colbert"), "documents");
        documents[2] += num(field(own, "sparse"), "documents");
        postings += num(field(own, "sparse"), "postings");
        Map<String, Object> cb = (Map<String, Object>) field(own, "colbert").get("codebook");
        for (Map<String, Object> book : (List<Map<String, Object>>) cb.get("codebooks")) {
          codebookDocs += num(book, "documents");
        }
        Map<String, Object> shard = (Map<String, Object>) shards.get(slice.getName());
        assertEquals(r.getCoreName(), shard.get("core"));
        assertEquals(field(own, "vector").get("documents"), ((Map<String, Object>) ((Map<String, Object>) shard.get("fields")).get("vector")).get("documents"));
      }
      assertEquals(documents[0], num(field(all, "vector"), "documents"));
      assertEquals(documents[1], num(field(all, "colbert"), "documents"));
      assertEquals(documents[2], num(field(all, "sparse"), "documents"));
      assertEquals(postings, num(field(all, "sparse"), "postings"));
      // the counts are those of a distributed query
      assertEquals(numFound("*:* -id:s*"), num(field(all, "vector"), "documents"));
      assertEquals(numFound("*:* -id:s*"), num(field(all, "colbert"), "documents"));
      assertEquals(numFound("id:s*"), num(field(all, "sparse"), "documents"));
      assertEquals(numFound("*:*"), num(field(all, "vector"), "documents") + num(field(all, "sparse"), "documents"));

      // one collection codebook: every shard's documents use it, and the field says which it is
      Map<String, Object> cb = (Map<String, Object>) field(all, "colbert").get("codebook");
      assertEquals(cb.toString(), "trained", cb.get("state"));
      List<Map<String, Object>> books = (List<Map<String, Object>>) cb.get("codebooks");
      assertEquals(cb.toString(), 1, books.size());
      assertEquals(cb.toString(), 2L, num(books.get(0), "shards"));
      assertEquals(cb.toString(), codebookDocs, num(books.get(0), "documents"));
      assertEquals(cb.toString(), (long) DOCS, num(books.get(0), "documents"));
      Map<String, Object> stored = (Map<String, Object>) ((Map<String, Object>) cb.get("collection")).get("stored");
      assertEquals(cb.toString(), books.get(0).get("id"), stored.get("id"));
      assertEquals(cb.toString(), 32L, num(stored, "centroids"));
      assertEquals(cb.toString(), stored.get("id"), ((Map<String, Object>) cb.get("collection")).get("installed"));
    }
  }

  @SuppressWarnings("unchecked")
  public void testModelsAndThePageAnswerOnTheCollection() throws Exception {
    Map<String, Object> models = (Map<String, Object>) answer(node(1) + "/" + C + "/neural/models").get("models");
    assertEquals(models.toString(), "loaded", ((Map<String, Object>) models.get("bge-small")).get("state"));
    assertEquals(models.toString(), "loaded", ((Map<String, Object>) models.get("splade")).get("state"));
    HttpResponse<String> page = get(node(1) + "/" + C + "/neural");
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Type").orElse(""), page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertTrue(page.body().contains("<section id=\"fields-section\">"));
  }

  /** The value of gauge {@code OTHER.neuralModels.MODEL.NAME} of the replica's core, or null if it has none. */
  @SuppressWarnings("unchecked")
  static Object gauge(Slice slice, Replica r, String model, String name) throws Exception {
    String metric = "OTHER.neuralModels." + model + "." + name;
    Map<String, Object> metrics = (Map<String, Object>) answer(r.getBaseUrl() + "/admin/metrics?group=core&prefix=" + metric).get("metrics");
    String registry = "solr.core." + C + "." + slice.getName() + "." + r.getCoreName().substring((C + "_" + slice.getName() + "_").length());
    Map<String, Object> core = (Map<String, Object>) metrics.get(registry); // absent: no metric has the prefix
    return core == null ? null : core.get(metric);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> ownModels(Replica r) throws Exception {
    return (Map<String, Object>) answer(r.getBaseUrl() + "/" + r.getCoreName() + "/neural/models?distrib=false").get("models");
  }

  @SuppressWarnings("unchecked")
  public void testLoadedModelIsKeptForTheCollectionAcrossReloadsWithItsGauges() throws Exception {
    String url = node(1) + "/" + C + "/neural/models";
    HttpResponse<String> r = post(url, "action", "load", "name", "extra", "package", "builtin:bge-small-en-v1.5-int8");
    assertEquals(r.body(), 200, r.statusCode());
    DocCollection collection = cluster.getSolrClient().getClusterState().getCollection(C);
    for (Slice slice : collection.getActiveSlices()) {
      for (Replica replica : slice.getReplicas()) {
        Map<String, Object> m = (Map<String, Object>) ownModels(replica).get("extra");
        assertNotNull(replica.getCoreName() + " loaded extra: " + r.body(), m);
        assertTrue(m.toString(), m.get("loadedBy").toString().startsWith("admin API"));
        assertTrue(m.get("loadedBy").toString(), m.get("loadedBy").toString().contains("/configs/neural"));
        assertEquals("dense", gauge(slice, replica, "extra", "kind"));
      }
    }
    CollectionAdminRequest.reloadCollection(C).process(cluster.getSolrClient());
    SolrInputDocument target = SampleDocs.first(DOCS).get(5);
    SolrQuery q = new SolrQuery("{!dense f=vector model=extra topK=3}" + target.getFieldValue("title"));
    assertEquals(target.getFieldValue("id"), cluster.getSolrClient().query(C, q).getResults().get(0).get("id"));
    for (Slice slice : collection.getActiveSlices()) {
      for (Replica replica : slice.getReplicas()) {
        Map<String, Object> m = (Map<String, Object>) ownModels(replica).get("extra");
        assertNotNull(replica.getCoreName() + " loaded extra again after RELOAD", m);
        assertEquals(m.toString(), "loaded", m.get("state"));
        assertEquals(64, m.get("sha256").toString().length());
        assertTrue("the reloaded core's gauges count its texts", ((Number) gauge(slice, replica, "extra", "textsEncoded")).longValue() >= 0);
        assertEquals("dense", gauge(slice, replica, "extra", "kind"));
      }
    }
    r = post(url, "action", "unload", "name", "extra");
    assertEquals(r.body(), 200, r.statusCode());
    for (Slice slice : collection.getActiveSlices()) {
      for (Replica replica : slice.getReplicas()) {
        assertFalse(ownModels(replica).containsKey("extra"));
        assertNull("gauges removed with the model", gauge(slice, replica, "extra", "kind"));
      }
    }
    CollectionAdminRequest.reloadCollection(C).process(cluster.getSolrClient());
    for (Replica replica : collection.getReplicas()) {
      assertFalse("unload is kept too", ownModels(replica).containsKey("extra"));
      assertTrue(ownModels(replica).containsKey("bge-small"));
    }
  }

  /** The page of the collection in headless Chromium (as {@link AdminPageBrowserTest}, which it needs). */
  public void testPageInABrowserShowsTheCollection() throws Exception {
    String dom = AdminPageBrowserTest.browse(node(1) + "/" + C + "/neural", "--dump-dom");
    assertTrue("the page's script ran", dom.contains("data-ready=\"true\""));
    assertFalse("nothing failed: " + dom, dom.contains("class=\"err\""));
    assertTrue("the header names the collection: " + dom, dom.contains("collection " + C + " · 2 shard(s)"));
    assertTrue("models table lists bge-small", dom.contains("<tr data-model=\"bge-small\"><td class=\"model-name\">bge-small</td><td>loaded</td><td>dense</td>"));
    java.util.regex.Matcher vector = java.util.regex.Pattern.compile("<tr data-field=\"vector\">(.*?)</tr>", java.util.regex.Pattern.DOTALL).matcher(dom);
    assertTrue(dom, vector.find());
    assertTrue("each shard's documents: " + vector.group(1), vector.group(1).matches("(?s).*<div class=\"meta shards\">shard\\d+ \\d+ · shard\\d+ \\d+</div>.*"));
    java.util.regex.Matcher colbert = java.util.regex.Pattern.compile("<tr data-field=\"colbert\">(.*?)</tr>", java.util.regex.Pattern.DOTALL).matcher(dom);
    assertTrue(dom, colbert.find());
    assertTrue("the collection codebook: " + colbert.group(1), colbert.group(1).contains("collection codebook of " + C + ": K=32, nbits 2, trained on "));
    assertTrue("installed: " + colbert.group(1), colbert.group(1).contains(", installed</div>"));
    assertTrue("one codebook for both shards: " + colbert.group(1), colbert.group(1).contains(" segment(s) of 2 shard(s)"));
  }
}
