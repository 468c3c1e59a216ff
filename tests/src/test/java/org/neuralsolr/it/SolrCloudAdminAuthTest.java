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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.util.Utils;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * The admin API of a SolrCloud collection behind BasicAuthPlugin and RuleBasedAuthorizationPlugin
 * (security.json in ZooKeeper; issue 16 item 3): the receiving node passes model changes to every
 * replica and asks each shard for its fields over Solr's inter-node authentication (PKI), on
 * behalf of the requesting user. An admin's change reaches every replica; a read-only user gets 403
 * on every write and no replica changes; no credentials, 401. A load that fails on one node (the
 * package is not there, or its copy there fails its checksum) is undone on every replica.
 *
 * <p>2 nodes, 2 shards, 2 replicas each: each node holds one replica of each shard, so a node's
 * failure leaves a replica on the other node that loaded the model and must unload it again. The
 * model root is {@code models} under each node's Solr home (the configset's default): the test puts
 * packages there per node, as an operator copies them onto each machine.
 *
 * <p>SSL is suppressed as in {@link SolrCloudAdminTest}: the test talks to the nodes with the JDK's
 * {@link HttpClient}, which does not trust the framework's random self-signed certificate.
 */
@SolrTestCaseJ4.SuppressSSL(bugUrl = "none: plain JDK HTTP client, see class javadoc")
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudAdminAuthTest extends SolrCloudTestCase {
  private static final String C = "secured";
  private static final int DOCS = 12;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeClass
  public static void setupCluster() throws Exception {
    configureCluster(2)
        .addConfig("neural", NeuralTestHomes.configset())
        .withSecurityJson(AdminSecurityHttpTest.securityJson())
        .configure();

    // packages per node, before the cores load (a model root must exist when its core loads):
    // "only-here" on node 0 alone; "tiny-bert" on both, but node 1's copy has a changed model file
    Path tinyBert = Path.of(System.getProperty("neural.parity.dir")).resolve("tiny-bert");
    Path models0 = Path.of(cluster.getJettySolrRunner(0).getSolrHome()).resolve("models");
    Path models1 = Path.of(cluster.getJettySolrRunner(1).getSolrHome()).resolve("models");
    copy(tinyBert, models0.resolve("only-here"));
    copy(tinyBert, models0.resolve("tiny-bert"));
    copy(tinyBert, models1.resolve("tiny-bert"));
    byte[] onnx = Files.readAllBytes(models1.resolve("tiny-bert/model.onnx"));
    onnx[onnx.length - 1] ^= 1;
    Files.write(models1.resolve("tiny-bert/model.onnx"), onnx);

    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(C, "neural", 2, 2);
    create.withProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection(C, 2, 4);
    try (SolrClient client = new Http2SolrClient.Builder(node(0)).build()) {
      UpdateRequest add = new UpdateRequest();
      add.add(SampleDocs.first(DOCS));
      add.process(client, C);
      client.commit(C);
    }
  }

  private static void copy(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, to.resolve(f.getFileName().toString()));
      }
    }
  }

  static String node(int i) {
    return cluster.getJettySolrRunner(i).getBaseUrl().toString();
  }

  private static HttpRequest.Builder as(String user, String url) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (user != null) {
      String token = Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8));
      b.header("Authorization", "Basic " + token);
    }
    return b;
  }

  static HttpResponse<String> get(String user, String url) throws Exception {
    return http.send(as(user, url).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String user, String url, String form) throws Exception {
    return http.send(
        as(user, url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString("wt=json&json.nl=map&" + form))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String load(String name, String pkg) {
    return "action=load&name=" + name + "&package=" + URLEncoder.encode(pkg, StandardCharsets.UTF_8);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> json(HttpResponse<String> r) {
    return (Map<String, Object>) Utils.fromJSONString(r.body());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> answer(String user, String url) throws Exception {
    HttpResponse<String> r = get(user, url + (url.contains("?") ? "&" : "?") + "wt=json&json.nl=map");
    assertEquals(url + ": " + r.body(), 200, r.statusCode());
    return json(r);
  }

  static List<Replica> replicas() {
    return cluster.getSolrClient().getClusterState().getCollection(C).getReplicas();
  }

  /** The replica's own models ({@code distrib=false}), as the admin sees them. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> ownModels(Replica r) throws Exception {
    return (Map<String, Object>) answer("admin", r.getBaseUrl() + "/" + r.getCoreName() + "/neural/models?distrib=false").get("models");
  }

  /** Per replica core, per model: state, package, checksum and load time (a reload changes the last). */
  @SuppressWarnings("unchecked")
  static Map<String, Map<String, List<Object>>> everyReplicasModels() throws Exception {
    Map<String, Map<String, List<Object>>> out = new TreeMap<>();
    for (Replica r : replicas()) {
      Map<String, List<Object>> models = new TreeMap<>();
      for (Map.Entry<String, Object> e : ownModels(r).entrySet()) {
        Map<String, Object> m = (Map<String, Object>) e.getValue();
        models.put(e.getKey(), java.util.Arrays.asList(m.get("state"), m.get("package"), m.get("sha256"), m.get("loadTimeMs")));
      }
      out.put(r.getCoreName(), models);
    }
    return out;
  }

  /** The collection's kept models in ZooKeeper, or "" when none are kept. */
  static String kept() throws Exception {
    String path = "/configs/neural/_neural_models_" + C + ".json";
    if (!cluster.getZkClient().exists(path, true)) {
      return "";
    }
    return new String(cluster.getZkClient().getData(path, null, null, true), StandardCharsets.UTF_8);
  }

  @SuppressWarnings("unchecked")
  private static void assertEveryOtherReplicaAnswered(HttpResponse<String> r, String expected) {
    Map<String, Object> replicas = (Map<String, Object>) json(r).get("replicas");
    assertNotNull(r.body(), replicas);
    assertEquals("each other replica of 4 answered: " + r.body(), 3, replicas.size());
    for (Object v : replicas.values()) {
      assertEquals(r.body(), expected, v);
    }
  }

  public void testAdminChangesReachEveryReplicaThroughInterNodeAuth() throws Exception {
    String url = node(1) + "/" + C + "/neural/models";
    HttpResponse<String> r = post("admin", url, load("auth-extra", "builtin:bge-small-en-v1.5-int8"));
    assertEquals(r.body(), 200, r.statusCode());
    assertEveryOtherReplicaAnswered(r, "ok");
    for (Replica replica : replicas()) {
      assertTrue(replica.getCoreName() + " has the model: " + r.body(), ownModels(replica).containsKey("auth-extra"));
    }
    assertTrue(kept(), kept().contains("\"auth-extra\""));

    r = post("admin", url, "action=reload&name=auth-extra");
    assertEquals(r.body(), 200, r.statusCode());
    assertEveryOtherReplicaAnswered(r, "ok");

    r = post("admin", node(0) + "/" + C + "/neural/models", "action=unload&name=auth-extra");
    assertEquals(r.body(), 200, r.statusCode());
    assertEveryOtherReplicaAnswered(r, "ok");
    for (Replica replica : replicas()) {
      assertFalse(replica.getCoreName() + " unloaded it", ownModels(replica).containsKey("auth-extra"));
      assertTrue(ownModels(replica).containsKey("bge-small"));
    }
    assertFalse(kept(), kept().contains("\"auth-extra\""));
  }

  @SuppressWarnings("unchecked")
  public void testCollectionFieldsSumTheShardsWithAuthOn() throws Exception {
    DocCollection collection = cluster.getSolrClient().getClusterState().getCollection(C);
    for (String user : new String[] {"reader", "admin"}) {
      for (int n = 0; n < 2; n++) {
        Map<String, Object> all = answer(user, node(n) + "/" + C + "/neural/fields");
        Map<String, Object> shards = (Map<String, Object>) all.get("shards");
        assertEquals(all.toString(), 2, shards.size());
        long sum = 0;
        for (Slice slice : collection.getActiveSlices()) {
          Replica leader = slice.getLeader();
          Map<String, Object> own = answer(user, leader.getBaseUrl() + "/" + leader.getCoreName() + "/neural/fields?distrib=false");
          long docs = ((Number) ((Map<String, Object>) ((Map<String, Object>) own.get("fields")).get("vector")).get("documents")).longValue();
          assertTrue(slice.getName() + " holds documents", docs > 0);
          sum += docs;
        }
        Map<String, Object> vector = (Map<String, Object>) ((Map<String, Object>) all.get("fields")).get("vector");
        assertEquals(all.toString(), sum, ((Number) vector.get("documents")).longValue());
        assertEquals(all.toString(), (long) DOCS, ((Number) vector.get("documents")).longValue());
      }
    }
    // reads follow security.json on the collection as on a core
    assertEquals(401, get(null, node(0) + "/" + C + "/neural/fields?wt=json").statusCode());
    assertEquals(403, get("nobody", node(0) + "/" + C + "/neural/fields?wt=json").statusCode());
    assertEquals(401, get(null, node(1) + "/" + C + "/neural/models?wt=json").statusCode());
    assertEquals(403, get("nobody", node(1) + "/" + C + "/neural/models?wt=json").statusCode());
    assertEquals(200, get("reader", node(1) + "/" + C + "/neural/models?wt=json").statusCode());
    assertEquals(200, get("reader", node(1) + "/" + C + "/neural").statusCode());
  }

  public void testReadOnlyUserChangesNoReplica() throws Exception {
    Map<String, Map<String, List<Object>>> before = everyReplicasModels();
    assertEquals(before.toString(), 4, before.size());
    String keptBefore = kept();
    String models = "/" + C + "/neural/models";
    String[][] writes = {
      {models, load("auth-denied", "builtin:bge-small-en-v1.5-int8")},
      {models, load("auth-denied", "only-here")},
      {models, "action=reload&name=bge-small"},
      {models, "action=unload&name=bge-small"},
      {"/" + C + "/neural/codebook", "action=train&field=colbert"},
    };
    for (int n = 0; n < 2; n++) {
      for (String[] w : writes) {
        String url = node(n) + w[0];
        assertEquals(url + " " + w[1], 401, post(null, url, w[1]).statusCode());
        for (String user : new String[] {"reader", "nobody"}) {
          HttpResponse<String> r = post(user, url, w[1]);
          assertEquals(user + " " + url + " " + w[1] + ": " + r.body(), 403, r.statusCode());
        }
        // the action in the query string of a GET is a write too
        assertEquals(w[1], 403, get("reader", url + "?wt=json&" + w[1]).statusCode());
        // and so is a single replica's own change (distrib=false)
        Replica r = replicas().get(n);
        assertEquals(w[1], 403, post("reader", r.getBaseUrl() + "/" + r.getCoreName() + w[0].substring(C.length() + 1), "distrib=false&" + w[1]).statusCode());
      }
    }
    assertEquals("no replica's models changed", before, everyReplicasModels());
    assertEquals(keptBefore, kept());
  }

  /** Which replicas of the collection are on node {@code n}. */
  static List<String> coresOn(int n) {
    String nodeName = cluster.getJettySolrRunner(n).getNodeName();
    List<String> cores = new ArrayList<>();
    for (Replica r : replicas()) {
      if (r.getNodeName().equals(nodeName)) {
        cores.add(r.getCoreName());
      }
    }
    return cores;
  }

  @SuppressWarnings("unchecked")
  private static void assertUndone(HttpResponse<String> r, String name, String failure) throws Exception {
    assertEquals(r.body(), 500, r.statusCode());
    String msg = (String) ((Map<String, Object>) json(r).get("error")).get("msg");
    assertTrue(msg, msg.contains("action=load of model '" + name + "' failed on 2 replica(s) of collection '" + C + "'"));
    for (String core : coresOn(1)) {
      assertTrue("names the failed replica " + core + ": " + msg, msg.contains(core + " on " + cluster.getJettySolrRunner(1).getNodeName() + ": "));
    }
    assertTrue(msg, msg.contains(failure));
    assertTrue(msg, msg.endsWith("the load was undone: no replica of the collection keeps model '" + name + "'"));
    Map<String, Object> replicas = (Map<String, Object>) json(r).get("replicas");
    assertEquals(r.body(), 3, replicas.size());
    List<String> other = new ArrayList<>(coresOn(0));
    other.retainAll(replicas.keySet()); // node 0's replica that did not receive the request
    assertEquals(r.body(), 1, other.size());
    assertEquals(r.body(), "loaded, then unloaded again (the load failed elsewhere)", replicas.get(other.get(0)));
    for (String core : coresOn(1)) {
      assertTrue(r.body(), replicas.get(core).toString().startsWith("failed: "));
    }
    for (Replica replica : replicas()) {
      assertFalse(replica.getCoreName() + " has no '" + name + "'", ownModels(replica).containsKey(name));
      assertTrue(ownModels(replica).containsKey("bge-small"));
    }
    assertFalse("the collection does not keep it: " + kept(), kept().contains("\"" + name + "\""));
  }

  /**
   * The undo of a failed load skips the usage check only for the load that loaded the model on that
   * replica: a user with config-edit who sends {@code undo} to a replica by hand gets a 400, and a
   * model in use stays loaded.
   */
  @SuppressWarnings("unchecked")
  public void testUndoOfAnotherLoadCannotUnloadAModelInUse() throws Exception {
    Map<String, Map<String, List<Object>>> before = everyReplicasModels();
    Replica r = replicas().get(0);
    String url = r.getBaseUrl() + "/" + r.getCoreName() + "/neural/models";
    HttpResponse<String> answer = post("admin", url, "distrib=false&action=unload&name=bge-small&undo=" + java.util.UUID.randomUUID());
    assertEquals(answer.body(), 400, answer.statusCode());
    String msg = (String) ((Map<String, Object>) json(answer).get("error")).get("msg");
    assertTrue(msg, msg.startsWith("param 'undo': model 'bge-small' of core '" + r.getCoreName() + "' was not loaded by load "));
    // without undo the usage check answers as for any unload
    answer = post("admin", url, "distrib=false&action=unload&name=bge-small");
    assertEquals(answer.body(), 409, answer.statusCode());
    assertEquals("every replica as before", before, everyReplicasModels());
  }

  /**
   * A load under the name of a model that solrconfig.xml declares without a package ("splade", named
   * by the sparse update chain, so a plain unload would be refused with 409) is undone past the usage
   * check, and each replica is left as before: the name declared without a package, not loaded.
   */
  @SuppressWarnings("unchecked")
  public void testUndoneLoadOfAModelDeclaredWithoutAPackageRestoresTheDeclaration() throws Exception {
    Map<String, Map<String, List<Object>>> before = everyReplicasModels();
    for (Map<String, List<Object>> models : before.values()) {
      assertEquals(models.toString(), "declared without a package (not loaded)", models.get("splade").get(0));
    }
    HttpResponse<String> r = post("admin", node(0) + "/" + C + "/neural/models", load("splade", "only-here"));
    assertEquals(r.body(), 500, r.statusCode());
    String msg = (String) ((Map<String, Object>) json(r).get("error")).get("msg");
    assertTrue(msg, msg.endsWith("the load was undone: no replica of the collection keeps model 'splade'"));
    assertEquals("every replica as before", before, everyReplicasModels());
    assertFalse(kept().contains("\"splade\""));
    r = get("admin", node(0) + "/" + C + "/select?wt=json&q=" + URLEncoder.encode("{!sparse f=sparse model=splade}vitamin", StandardCharsets.UTF_8));
    assertEquals(r.body(), 400, r.statusCode());
    assertTrue(r.body(), r.body().contains("model 'splade' is declared without a package, so it is not loaded"));
  }

  public void testLoadFailingOnOneNodeIsUndoneOnEveryReplica() throws Exception {
    assertEquals("one replica of each shard per node", 2, coresOn(0).size());
    assertEquals("one replica of each shard per node", 2, coresOn(1).size());
    Map<String, Map<String, List<Object>>> before = everyReplicasModels();
    String url0 = node(0) + "/" + C + "/neural/models";
    // the package is on node 0 only
    assertUndone(post("admin", url0, load("only-here", "only-here")), "only-here", "model package 'only-here' not found under the model roots");
    // node 1's copy of the package has a changed model file
    assertUndone(post("admin", url0, load("tb", "tiny-bert")), "tb", " has SHA-256 ");
    // received by node 1 the load fails there first (bad input for that node): 400, nothing sent on
    HttpResponse<String> r = post("admin", node(1) + "/" + C + "/neural/models", load("tb", "tiny-bert"));
    assertEquals(r.body(), 400, r.statusCode());
    assertEquals("every replica as before", before, everyReplicasModels());
    assertFalse(kept().contains("\"tb\""));
    // the same package loads on every replica once node 1 has a good copy
    Path models1 = Path.of(cluster.getJettySolrRunner(1).getSolrHome()).resolve("models");
    Files.copy(
        Path.of(System.getProperty("neural.parity.dir")).resolve("tiny-bert/model.onnx"),
        models1.resolve("tiny-bert/model.onnx"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    r = post("admin", url0, load("tb", "tiny-bert"));
    assertEquals(r.body(), 200, r.statusCode());
    assertEveryOtherReplicaAnswered(r, "ok");
    r = post("admin", url0, "action=unload&name=tb");
    assertEquals(r.body(), 200, r.statusCode());
    assertEquals("every replica as before", before, everyReplicasModels());
  }
}
