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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.common.util.Utils;
import org.apache.solr.security.Sha256AuthenticationProvider;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The admin page and model API behind Solr's BasicAuthPlugin and RuleBasedAuthorizationPlugin
 * (security.json in the Solr home): reads need the {@code read} permission, every model change
 * {@code config-edit}; a user without it gets 403 on each write action and the models stay as
 * they were.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class AdminSecurityHttpTest extends SolrTestCase {
  private static final String CORE = "secured";
  private static LocalSolr solr;
  private static final HttpClient http = HttpClient.newHttpClient();

  /**
   * The security.json of the admin security tests: BasicAuth users admin, reader and nobody
   * (password: name + "-pw"); admin has config-edit and read, reader read only. blockUnknown=false
   * and no rule for core or collection admin or update, so that a test can create its core or
   * collection and index without credentials; the rules under test are read and config-edit.
   */
  static String securityJson() {
    Map<String, Object> security =
        Map.of(
            "authentication",
            Map.of(
                "class", "solr.BasicAuthPlugin",
                "blockUnknown", false,
                "credentials",
                Map.of(
                    "admin", Sha256AuthenticationProvider.getSaltedHashedValue("admin-pw"),
                    "reader", Sha256AuthenticationProvider.getSaltedHashedValue("reader-pw"),
                    "nobody", Sha256AuthenticationProvider.getSaltedHashedValue("nobody-pw"))),
            "authorization",
            Map.of(
                "class", "solr.RuleBasedAuthorizationPlugin",
                "user-role", Map.of("admin", List.of("admin"), "reader", List.of("reader")),
                "permissions",
                List.of(
                    Map.of("name", "config-edit", "role", "admin"),
                    Map.of("name", "read", "role", List.of("reader", "admin")))));
    return Utils.toJSONString(security);
  }

  @BeforeClass
  public static void startSolr() throws Exception {
    Path home = createTempDir();
    Files.createDirectories(home);
    Files.writeString(home.resolve("security.json"), securityJson());
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  private static HttpRequest.Builder as(String user, String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(solr.baseUrl() + "/" + CORE + path));
    if (user != null) {
      String token = Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8));
      b.header("Authorization", "Basic " + token);
    }
    return b;
  }

  private static HttpResponse<String> get(String user, String path) throws Exception {
    return http.send(as(user, path).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String user, String form) throws Exception {
    return http.send(
        as(user, "/neural/models")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString("wt=json&" + form))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  public void testReadsFollowSecurityJson() throws Exception {
    assertEquals(401, get(null, "/neural/models?wt=json").statusCode());
    assertEquals(401, get(null, "/neural").statusCode());
    assertEquals(403, get("nobody", "/neural/models?wt=json").statusCode());
    assertEquals(403, get("nobody", "/neural/fields?wt=json").statusCode());
    for (String user : new String[] {"reader", "admin"}) {
      HttpResponse<String> r = get(user, "/neural/models?wt=json");
      assertEquals(r.body(), 200, r.statusCode());
      assertTrue(r.body(), r.body().contains("bge-small"));
      assertEquals(200, get(user, "/neural/fields?wt=json").statusCode());
      assertEquals(200, get(user, "/neural").statusCode());
    }
  }

  public void testEveryWriteActionNeedsConfigEdit() throws Exception {
    String pkg = URLEncoder.encode("builtin:bge-small-en-v1.5-int8", StandardCharsets.UTF_8);
    String[] writes = {"action=load&name=extra&package=" + pkg, "action=reload&name=bge-small", "action=unload&name=bge-small"};
    String before = get("admin", "/neural/models?wt=json").body();
    for (String w : writes) {
      assertEquals(w, 401, post(null, w).statusCode());
      for (String user : new String[] {"reader", "nobody"}) {
        HttpResponse<String> r = post(user, w);
        assertEquals(user + " " + w + ": " + r.body(), 403, r.statusCode());
      }
      // the action in the query string of a GET is a write too
      assertEquals(w, 403, get("reader", "/neural/models?wt=json&" + w).statusCode());
    }
    assertTrue(get("admin", "/neural/models?wt=json").body().contains("\"bge-small\""));
    assertFalse(get("admin", "/neural/models?wt=json").body().contains("\"extra\""));
    HttpResponse<String> r = post("admin", "action=reload&name=bge-small");
    assertEquals(r.body(), 200, r.statusCode());
    r = post("admin", writes[0]);
    assertEquals(r.body(), 200, r.statusCode());
    r = post("admin", "action=unload&name=extra");
    assertEquals(r.body(), 200, r.statusCode());
    assertNotNull(before);
  }
}
