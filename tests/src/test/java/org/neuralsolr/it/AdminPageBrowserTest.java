package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.File;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrInputDocument;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The admin page in a real browser: headless Chromium (Debian's {@code chromium}, found on the PATH
 * or named by {@code -Dchromium=PATH}) opens the page of a real Solr with indexed documents, runs
 * the playground for a document's title and hands back the DOM its scripts built; the test checks
 * the models table and each pipeline's hits, and saves a screenshot to {@code
 * target/neural-page.png}. Without Chromium the test fails: it is what shows that the page works.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class AdminPageBrowserTest extends SolrTestCase {
  private static final String CORE = "sample";
  private static final int DOCS = 20;
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    solr = LocalSolr.start(createTempDir(), NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
    docs = SampleDocs.first(DOCS);
    UpdateRequest add = new UpdateRequest();
    add.add(docs);
    add.setParam("update.chain", "neural-colbert"); // vector and colbert, so that {!colbert} has hits
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

  static String chromium() {
    String configured = System.getProperty("chromium");
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : new String[] {"chromium", "chromium-browser"}) {
        if (Files.isExecutable(Path.of(dir, name))) {
          return Path.of(dir, name).toString();
        }
      }
    }
    fail("headless Chromium is needed for this test: apt-get install -y chromium (or -Dchromium=/path/to/chromium)");
    return null;
  }

  /** Runs Chromium headless on {@code url} with {@code extra} options; returns its stdout. */
  static String browse(String url, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--user-data-dir=" + createTempDir(), "--window-size=1400,1700",
        // virtual time stands still while fetches are pending, so the playground's queries finish
        "--virtual-time-budget=20000"));
    cmd.addAll(List.of(extra));
    cmd.add(url);
    Path out = createTempFile("chromium", ".out");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      assertTrue("chromium did not finish in 90 s", p.waitFor(90, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    assertEquals("chromium exit status", 0, p.exitValue());
    return Files.readString(out);
  }

  public void testPageShowsModelsAndRunsEveryPipeline() throws Exception {
    SolrInputDocument target = docs.get(7);
    String query = target.getFieldValue("title").toString();
    String url = solr.baseUrl() + "/" + CORE + "/neural?q=" + URLEncoder.encode(query, StandardCharsets.UTF_8);

    String dom = browse(url, "--dump-dom");
    assertTrue("the page's script ran", dom.contains("data-ready=\"true\""));
    assertTrue("models table lists bge-small", dom.contains("<tr data-model=\"bge-small\"><td class=\"model-name\">bge-small</td><td>loaded</td><td>dense</td>"));
    assertTrue("fields table lists vector", dom.contains("<tr data-field=\"vector\">"));
    Matcher colbertRow = Pattern.compile("<tr data-field=\"colbert\">(.*?)</tr>", Pattern.DOTALL).matcher(dom);
    assertTrue("fields table lists colbert", colbertRow.find());
    assertTrue("the colbert field shows its codebook: " + colbertRow.group(1),
        colbertRow.group(1).contains("<td class=\"codebook\"><div class=\"cb-state\">") && colbertRow.group(1).contains("trainingThreshold"));
    assertTrue("the header names the core", dom.contains("core " + CORE));
    assertTrue("the playground finished", dom.contains("data-complete=\"true\""));
    assertFalse("no pipeline failed: " + dom, dom.contains("class=\"err\""));

    Matcher col = Pattern.compile("<div class=\"col\" data-pipeline=\"([^\"]+)\"[^>]*>(.*?)</ol>", Pattern.DOTALL).matcher(dom);
    List<String> seen = new ArrayList<>();
    while (col.find()) {
      String name = col.group(1).replace("&amp;", "&");
      List<String> ids = new ArrayList<>();
      Matcher hit = Pattern.compile("<li data-id=\"([^\"]+)\"").matcher(col.group(2));
      while (hit.find()) {
        ids.add(hit.group(1));
      }
      assertFalse(name + " has hits", ids.isEmpty());
      assertTrue(name + " links to its Solr request", col.group(2).contains("/" + CORE + "/select?"));
      if (name.startsWith("BM25")) {
        assertTrue(name + " finds the titled document: " + ids, ids.contains(target.getFieldValue("id").toString()));
      } else {
        assertTrue(name + " ranks the titled document in its top 3: " + ids, ids.subList(0, Math.min(3, ids.size())).contains(target.getFieldValue("id").toString()));
      }
      seen.add(name);
    }
    for (String expected : new String[] {"BM25", "{!dense}", "{!colbert}", "{!fuse} rrf BM25 + dense", "BM25 + {!neural_rerank}"}) {
      assertTrue("pipeline " + expected + " in " + seen, seen.contains(expected));
    }
    assertTrue("the latency chart is drawn", dom.contains("<svg") && dom.contains("id=\"latency-chart\""));

    Path png = Path.of("target", "neural-page.png").toAbsolutePath();
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);
    browse(url, "--screenshot=" + png, "--hide-scrollbars");
    assertTrue("screenshot saved at " + png, Files.size(png) > 10_000);
  }
}
