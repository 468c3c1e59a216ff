package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.common.SolrInputDocument;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The built Solr module ({@code solr-plugin/target/solr-install/modules/neural-solr/lib}) installs
 * the way the README says: a Solr started with {@code solr.install.dir} and {@code
 * solr.modules=neural-solr} resolves the plugin from the module's jars. This test runs in its own
 * surefire execution whose class path lacks the plugin, DJL and the model carriers, so nothing else
 * can supply them.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class ModuleLayoutTest extends SolrTestCase {

  public void testSolrLoadsThePluginFromTheModule() throws Exception {
    expectThrows(ClassNotFoundException.class, () -> Class.forName("org.neuralsolr.model.NeuralModelRegistry"));
    expectThrows(ClassNotFoundException.class, () -> Class.forName("ai.djl.Model"));

    Path installDir = Path.of(System.getProperty("neural.solr.install.dir"));
    assertTrue("build the module first (mvn package): " + installDir, Files.isDirectory(installDir.resolve("modules/neural-solr/lib")));
    System.setProperty("solr.install.dir", installDir.toString());
    System.setProperty("solr.modules", "neural-solr");
    try (LocalSolr solr = LocalSolr.start(createTempDir(), NeuralTestHomes.configset(), 0)) {
      solr.createCore("mod", Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
      List<SolrInputDocument> docs = SampleDocs.first(5);
      solr.client().add("mod", docs);
      solr.client().commit("mod");
      String title = (String) docs.get(2).getFieldValue("title");
      assertEquals(
          docs.get(2).getFieldValue("id"),
          solr.client().query("mod", new SolrQuery("{!dense f=vector model=bge-small topK=3}" + title)).getResults().get(0).get("id"));
      // the NeuralSparse postings format is found through Lucene's SPI from the module's jars
      SolrInputDocument sparse = new SolrInputDocument("id", "sparse-doc", "title", "t", "text", "t");
      sparse.addField("sparse", "solar:1.5,panel:0.5");
      solr.client().add("mod", sparse);
      solr.client().commit("mod");
      assertEquals(
          "sparse-doc",
          solr.client().query("mod", new SolrQuery("{!sparse f=sparse weights='solar:2'}")).getResults().get(0).get("id"));
    }
  }

  /** The module carries no jar that Solr's own class path (here: the test class path) already has. */
  public void testModuleShipsNoJarSolrAlreadyHas() throws Exception {
    Set<String> solrArtifacts = new HashSet<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (entry.endsWith(".jar") && !entry.endsWith("-tests.jar")) { // test-jars are this build's helpers
        solrArtifacts.add(artifactName(Path.of(entry).getFileName().toString()));
      }
    }
    Path lib = Path.of(System.getProperty("neural.solr.install.dir")).resolve("modules/neural-solr/lib");
    Set<String> overlap;
    try (Stream<Path> jars = Files.list(lib)) {
      overlap = jars.map(j -> artifactName(j.getFileName().toString())).filter(solrArtifacts::contains).collect(Collectors.toSet());
    }
    assertEquals("jars in the module that Solr already ships", Set.of(), overlap);
  }

  /** {@code lucene-core-9.12.3.jar} -> {@code lucene-core}. */
  private static String artifactName(String jar) {
    return jar.replaceFirst("-\\d[^-]*(-[A-Za-z0-9_]+)*\\.jar$", "").replaceFirst("\\.jar$", "");
  }
}
