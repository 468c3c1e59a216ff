package org.neuralsolr.eval;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.CoreAdminRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The ColBERT pipeline (dense vector and token vectors) run twice through the tool over the small
 * real-world collection, the index deleted in between: the first run encodes and fills the
 * encoding cache from the index, the second builds the index from the cache, so its update
 * processor encodes no field, and gives the same metrics.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class EncodingCacheEvalTest extends SolrTestCase {
  /** The documents of the collection with no text to encode (see RealWorldCollectionTest). */
  private static final int WITHOUT_TEXT = 6;

  @SuppressWarnings("unchecked")
  public void testSecondBuildEncodesNothingAndGivesTheSameMetrics() throws Exception {
    Path root = Path.of(createTempDir("repository").toString());
    copyFiles(NeuralTestHomes.configset(), Files.createDirectories(root.resolve("conf")));
    Path dataset = Path.of(createTempDir("datasets").toString()).resolve("realworld");
    Path committed = Path.of(getClass().getClassLoader().getResource("datasets/realworld/corpus.jsonl").toURI()).getParent();
    copyFiles(committed, Files.createDirectories(dataset));
    copyFiles(committed.resolve("qrels"), Files.createDirectories(dataset.resolve("qrels")));
    long documents;
    try (Stream<String> lines = Files.lines(dataset.resolve("corpus.jsonl"))) {
      documents = lines.filter(l -> !l.isBlank()).count();
    }
    try (LocalSolr solr = LocalSolr.start(createTempDir("solr-home"), root.resolve("conf"), 0)) {
      Map<String, Object> first = evaluate(solr, root, dataset);
      Map<String, Object> firstEncodings = (Map<String, Object>) ((Map<String, Object>) first.get("ingest")).get("encodings");
      assertEquals(first.toString(), false, firstEncodings.get("hit"));
      assertEquals("the dense and the token entries written from the index", 2L, ((Number) firstEncodings.get("seeded")).longValue());
      String core = (String) first.get("core");
      assertTrue("the model encoded the first build", encodedFields(solr, core) > 0);

      // the index goes; the cache stays
      CoreAdminRequest.Unload unload = new CoreAdminRequest.Unload(true);
      unload.setCoreName(core);
      unload.setDeleteInstanceDir(true);
      unload.process(solr.client());
      Files.delete(root.resolve(".eval/indexes/" + core + ".json"));

      Map<String, Object> second = evaluate(solr, root, dataset);
      assertEquals(core, second.get("core"));
      Map<String, Object> ingest = (Map<String, Object>) second.get("ingest");
      assertEquals(false, ingest.get("reused"));
      Map<String, Object> encodings = (Map<String, Object>) ingest.get("encodings");
      assertEquals(encodings.toString(), true, encodings.get("hit"));
      assertEquals(2L, ((Number) encodings.get("entries")).longValue());
      assertTrue(((Number) encodings.get("bytes")).longValue() > 0);
      assertEquals(documents - WITHOUT_TEXT, ((Number) encodings.get("documentsFromCache")).longValue());
      assertEquals("no model ran for the second build", 0L, encodedFields(solr, core));
      assertEquals(first.get("metrics"), second.get("metrics"));
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> evaluate(LocalSolr solr, Path root, Path dataset) throws Exception {
    Path report = Files.createTempFile(root, "report", ".json");
    String[] args = {"--dataset", dataset.toString(), "--pipeline", "colbert", "--solr", solr.baseUrl(), "--out", report.toString(), "--param", "centroids=64",
        // exact MaxSim over the float32 copy: the compressed fields' codebooks are trained on a
        // sample whose order follows the ingest threads, so they differ by build; the encodings must not
        "--param", "nbits=0", "--param", "plaid=false"};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8)) {
      code = NeuralEval.run(args, root, o, o);
    }
    assertEquals(out.toString(StandardCharsets.UTF_8), 0, code);
    return (Map<String, Object>) Utils.fromJSONString(Files.readString(report));
  }

  /** The fields the core's update processors encoded with a model, from the info beans. */
  @SuppressWarnings("unchecked")
  private static long encodedFields(LocalSolr solr, String core) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("stats", "true");
    p.set("cat", "UPDATE");
    NamedList<Object> rsp = solr.client().request(new GenericSolrRequest(SolrRequest.METHOD.GET, "/admin/mbeans", p).setRequiresCollection(true), core);
    NamedList<Object> beans = (NamedList<Object>) ((NamedList<Object>) rsp.get("solr-mbeans")).get("UPDATE");
    long encoded = 0;
    boolean found = false;
    for (Map.Entry<String, Object> bean : beans) {
      Object stats = ((NamedList<Object>) bean.getValue()).get("stats");
      Map<String, Object> m = stats instanceof NamedList ? ((NamedList<Object>) stats).asShallowMap() : (Map<String, Object>) stats;
      if (m == null) {
        continue;
      }
      for (Map.Entry<String, Object> s : m.entrySet()) {
        if (s.getKey().endsWith(".encodedFields")) {
          encoded += ((Number) s.getValue()).longValue();
          found = true;
        }
      }
    }
    assertTrue("no encodedFields counter among " + beans, found);
    return encoded;
  }

  private static void copyFiles(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.copy(f, to.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
