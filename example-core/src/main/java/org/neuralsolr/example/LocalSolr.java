package org.neuralsolr.example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrServerException;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CoreAdminRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.common.params.CoreAdminParams;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.embedded.JettySolrRunner;
import org.apache.solr.embedded.JettyConfig;

/**
 * A real Solr server on localhost: Jetty running Solr's dispatch filter over a Solr home whose
 * configset {@value #CONFIGSET} is a copy of the repository's {@code conf/}. Used by the example,
 * the evaluation tool, the benchmarks and the HTTP tests. Cores are created through the CoreAdmin
 * HTTP API, with {@code property.*} values filling the configset's {@code ${...}} placeholders.
 */
public final class LocalSolr implements AutoCloseable {
  public static final String CONFIGSET = "neural";

  private static final String SOLR_XML =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
          + "<solr>\n"
          + "  <str name=\"sharedLib\">${solr.sharedLib:}</str>\n"
          + "  <shardHandlerFactory name=\"shardHandlerFactory\" class=\"HttpShardHandlerFactory\">\n"
          + "    <int name=\"socketTimeout\">${socketTimeout:600000}</int>\n"
          + "    <int name=\"connTimeout\">${connTimeout:60000}</int>\n"
          + "  </shardHandlerFactory>\n"
          + "</solr>\n";

  private final JettySolrRunner jetty;
  private final Http2SolrClient client;

  private LocalSolr(JettySolrRunner jetty) {
    this.jetty = jetty;
    this.client = new Http2SolrClient.Builder(baseUrl()).build();
  }

  /**
   * Starts Solr on {@code port} (0 picks a free one) over {@code home}, refreshing its configset from
   * {@code configset}. Cores already in {@code home} are loaded again.
   */
  public static LocalSolr start(Path home, Path configset, int port) throws Exception {
    Files.createDirectories(home);
    Path solrXml = home.resolve("solr.xml");
    if (!Files.exists(solrXml)) {
      Files.writeString(solrXml, SOLR_XML);
    }
    copyConfigset(configset, home.resolve("configsets").resolve(CONFIGSET).resolve("conf"));
    JettyConfig config = JettyConfig.builder().setPort(port).setContext("/solr").stopAtShutdown(true).build();
    JettySolrRunner jetty = new JettySolrRunner(home.toString(), config);
    try {
      jetty.start();
      if (!coreContainerLoaded(jetty)) {
        throw new IllegalStateException("its CoreContainer did not load");
      }
      return new LocalSolr(jetty);
    } catch (Exception e) {
      try {
        jetty.stop(); // what did start (Jetty's threads, cores) must not outlive the failure
      } catch (Exception stopFailure) {
        e.addSuppressed(stopFailure);
      }
      throw new IllegalStateException("Solr did not start over " + home + " (its log says why): " + e.getMessage(), e);
    }
  }

  private static boolean coreContainerLoaded(JettySolrRunner jetty) {
    try {
      return jetty.getCoreContainer() != null;
    } catch (Exception e) { // Solr 9 says "The CoreContainer is unavailable!" (UnavailableException)
      return false;
    }
  }

  private static void copyConfigset(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          Files.copy(f, to.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  /** Like {@code http://127.0.0.1:8983/solr}. */
  public String baseUrl() {
    return jetty.getBaseUrl().toString();
  }

  public int port() {
    return jetty.getLocalPort();
  }

  /** A client for the whole server; pass the core name to its requests. */
  public SolrClient client() {
    return client;
  }

  public boolean hasCore(String name) throws SolrServerException, IOException {
    return CoreAdminRequest.getStatus(name, client).getCoreStatus(name).size() > 0;
  }

  /** Creates a core from the configset, with {@code properties} as core properties. */
  public void createCore(String name, Map<String, String> properties) throws SolrServerException, IOException {
    ModifiableSolrParams params = new ModifiableSolrParams();
    params.set(CoreAdminParams.ACTION, CoreAdminParams.CoreAdminAction.CREATE.name());
    params.set(CoreAdminParams.NAME, name);
    params.set("configSet", CONFIGSET);
    for (Map.Entry<String, String> p : properties.entrySet()) {
      params.set(CoreAdminParams.PROPERTY_PREFIX + p.getKey(), p.getValue());
    }
    client.request(new GenericSolrRequest(SolrRequest.METHOD.POST, "/admin/cores", params));
  }

  @Override
  public void close() throws Exception {
    try {
      client.close();
    } finally {
      jetty.stop();
    }
  }
}
