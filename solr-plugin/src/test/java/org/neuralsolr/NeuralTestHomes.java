package org.neuralsolr;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
