package org.neuralsolr.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The directories model packages may be read from. A path is accepted only if its real path
 * (symbolic links followed, {@code ..} resolved) lies under one of the roots' real paths, so a
 * manifest cannot point Solr at arbitrary files.
 */
public final class ModelRoots {
  private final List<Path> roots;

  private ModelRoots(List<Path> roots) {
    this.roots = roots;
  }

  /** Roots that do not exist are ignored, so a configset can name optional locations. */
  public static ModelRoots of(List<Path> candidates) {
    List<Path> real = new ArrayList<>();
    for (Path p : candidates) {
      try {
        if (Files.isDirectory(p)) {
          real.add(p.toRealPath());
        }
      } catch (IOException e) {
        throw new ModelPackageException("cannot resolve model root " + p + ": " + e.getMessage(), e);
      }
    }
    return new ModelRoots(Collections.unmodifiableList(real));
  }

  public List<Path> paths() {
    return roots;
  }

  /**
   * @return the real path of {@code candidate}
   * @throws ModelPackageException if it does not exist or lies outside every root
   */
  Path check(Path candidate) {
    Path real;
    try {
      real = candidate.toRealPath();
    } catch (IOException e) {
      throw new ModelPackageException("model path " + candidate + " does not exist");
    }
    for (Path root : roots) {
      if (real.startsWith(root)) {
        return real;
      }
    }
    throw new ModelPackageException(
        "model path "
            + candidate
            + " is outside the configured model roots "
            + roots
            + "; add its directory to modelRoots in solrconfig.xml");
  }
}
