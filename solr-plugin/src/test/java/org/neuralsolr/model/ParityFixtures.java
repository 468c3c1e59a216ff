package org.neuralsolr.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.Utils;

/**
 * Access to the parity fixtures in {@code src/test/resources/parity}: tiny random-weight models of
 * the real architectures with reference outputs computed by PyTorch (see its README.md).
 */
final class ParityFixtures {
  private ParityFixtures() {}

  /** The parity directory, used as the only model root. */
  static Path root() {
    try {
      return Path.of(ParityFixtures.class.getClassLoader().getResource("parity").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static ModelRoots roots() {
    return ModelRoots.of(List.of(root()));
  }

  /** Loads {@code <fixture>/<manifest>} through the ordinary package route. */
  static LoadedModel load(String fixture, String manifest) {
    return LoadedModel.load(ModelPackage.resolve(fixture + "/" + manifest, roots()), null);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> reference(String fixture) {
    try (InputStream in = Files.newInputStream(root().resolve(fixture).resolve("reference.json"))) {
      return (Map<String, Object>) Utils.fromJSON(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A {@code {"shape":[...],"data":[...]}} tensor's data, or a plain list of numbers. */
  @SuppressWarnings("unchecked")
  static float[] floats(Object tensorOrList) {
    List<Object> values =
        tensorOrList instanceof Map ? (List<Object>) ((Map<String, Object>) tensorOrList).get("data") : (List<Object>) tensorOrList;
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) values.get(i)).floatValue();
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static long[] longs(Object list) {
    List<Object> values = (List<Object>) list;
    long[] out = new long[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) values.get(i)).longValue();
    }
    return out;
  }
}
