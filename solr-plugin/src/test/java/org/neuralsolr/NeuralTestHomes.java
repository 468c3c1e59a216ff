package org.neuralsolr;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Stream;

/** Solr homes for tests, built from the configset users get: the repository's {@code conf/}. */
public final class NeuralTestHomes {
  private NeuralTestHomes() {}

  /** The repository's configset directory (surefire passes it as {@code neural.conf.dir}). */
  public static Path configset() {
    String dir = System.getProperty("neural.conf.dir");
    if (dir == null) {
      throw new IllegalStateException("system property neural.conf.dir is not set (run the tests through Maven)");
    }
    return Path.of(dir).toAbsolutePath().normalize();
  }

  /**
   * The parity fixtures directory ({@code solr-plugin/src/test/resources/parity}): the system
   * property {@code neural.parity.dir} when set (modules that see the fixtures only inside a jar),
   * else this module's test resources.
   */
  public static Path parityFixtures() {
    String dir = System.getProperty("neural.parity.dir");
    if (dir != null) {
      return Path.of(dir).toAbsolutePath().normalize();
    }
    URL url = NeuralTestHomes.class.getClassLoader().getResource("parity");
    if (url == null || !"file".equals(url.getProtocol())) {
      throw new IllegalStateException("parity fixtures not found as files (" + url + "); set neural.parity.dir");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Adds models to the registry of the configset copy in {@code conf} ({@code name → package},
   * packages relative to the model roots), as a user adds their own models to solrconfig.xml.
   */
  public static void addModels(Path conf, Map<String, String> models) {
    models.forEach((name, pkg) -> addModel(conf, name, pkg, 0));
  }

  /** Adds one model; {@code maxBatchSize} > 0 gives it its own scheduler batch size. */
  public static void addModel(Path conf, String name, String pkg, int maxBatchSize) {
    Path solrconfig = conf.resolve("solrconfig.xml");
    try {
      String xml = Files.readString(solrconfig, StandardCharsets.UTF_8);
      StringBuilder entries = new StringBuilder();
      entries.append("\n      <lst name=\"").append(name).append("\"><str name=\"package\">").append(pkg).append("</str>");
      if (maxBatchSize > 0) {
        entries.append("<lst name=\"scheduler\"><int name=\"maxBatchSize\">").append(maxBatchSize).append("</int></lst>");
      }
      entries.append("</lst>");
      String anchor = "<lst name=\"models\">";
      if (!xml.contains(anchor)) {
        throw new IllegalStateException("no " + anchor + " in " + solrconfig);
      }
      Files.writeString(solrconfig, xml.replace(anchor, anchor + entries), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates {@code home/<core>/conf} as a copy of the configset and returns {@code home}. */
  public static Path solrHomeWithCore(Path home, String core) {
    try {
      Path conf = home.resolve(core).resolve("conf");
      Files.createDirectories(conf);
      try (Stream<Path> files = Files.list(configset())) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.copy(f, conf.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return home;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
