package org.neuralsolr.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import org.apache.solr.common.util.Utils;

/**
 * A model package located and its manifest validated; the network and tokenizer files are read
 * (and their SHA-256 checked) only when {@link #readModel()} / {@link #readTokenizer()} are called.
 *
 * <p>A package reference is either {@code builtin:NAME} (manifests shipped in this jar whose files
 * come from the Maven carrier jars on the class path) or a path to a package directory or a
 * manifest file, which must lie under the configured {@link ModelRoots}. Relative paths are tried
 * against each root in order.
 */
public final class ModelPackage {
  public static final String MANIFEST_FILE = "neural-model.json";
  static final String BUILTIN_PREFIX = "builtin:";
  private static final String CLASSPATH_PREFIX = "classpath:";
  private static final String BUILTIN_RESOURCE_DIR = "org/neuralsolr/model/builtin/";

  public final ModelManifest manifest;
  /** Where the package came from: {@code builtin:NAME} or the manifest's real path. */
  public final String location;
  /** Directory of the manifest, or null for built-in packages. */
  private final Path directory;
  private final ModelRoots roots;

  private ModelPackage(ModelManifest manifest, String location, Path directory, ModelRoots roots) {
    this.manifest = manifest;
    this.location = location;
    this.directory = directory;
    this.roots = roots;
  }

  /** Locates a package and validates its manifest. */
  public static ModelPackage resolve(String reference, ModelRoots roots) {
    if (reference.startsWith(BUILTIN_PREFIX)) {
      return builtin(reference.substring(BUILTIN_PREFIX.length()));
    }
    Path path = Path.of(reference);
    if (!path.isAbsolute()) {
      Path found = null;
      for (Path root : roots.paths()) {
        if (Files.exists(root.resolve(path))) {
          found = root.resolve(path);
          break;
        }
      }
      if (found == null) {
        throw new ModelPackageException(
            "model package '" + reference + "' not found under the model roots " + roots.paths());
      }
      path = found;
    }
    Path real = roots.check(path);
    Path manifestFile = Files.isDirectory(real) ? roots.check(real.resolve(MANIFEST_FILE)) : real;
    ModelManifest manifest;
    try (InputStream in = Files.newInputStream(manifestFile)) {
      manifest = ModelManifest.parse(Utils.fromJSON(in), manifestFile.toString());
    } catch (IOException | RuntimeException e) {
      if (e instanceof ModelPackageException) {
        throw (ModelPackageException) e;
      }
      throw new ModelPackageException("cannot read manifest " + manifestFile + ": " + e.getMessage(), e);
    }
    return new ModelPackage(manifest, manifestFile.toString(), manifestFile.getParent(), roots);
  }

  static ModelPackage builtin(String name) {
    String resource = BUILTIN_RESOURCE_DIR + name + ".json";
    try (InputStream in = ModelPackage.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new ModelPackageException(
            "unknown built-in model '" + name + "'; built-in models are " + BuiltinModels.NAMES);
      }
      ModelManifest manifest = ModelManifest.parse(Utils.fromJSON(in), BUILTIN_PREFIX + name);
      return new ModelPackage(manifest, BUILTIN_PREFIX + name, null, null);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read built-in manifest " + resource, e);
    }
  }

  /** A key that identifies the exact bytes this package loads: location and checksums. */
  String identity() {
    String id = location + "#" + manifest.sha256 + "#" + manifest.tokenizerSha256;
    if (manifest.sparse != null && manifest.sparse.queryTokenWeightsSha256 != null) {
      id += "#" + manifest.sparse.queryTokenWeightsSha256;
    }
    return id;
  }

  /**
   * A checksum of what the package computes, whatever its location: the sha256 of its files' own
   * checksums (network, tokenizer, query token weights) and of the manifest settings that change an
   * encoding (dimension, maximum length, document prefix). Caches of encodings are keyed by it.
   */
  public String contentSha256() {
    String content =
        manifest.sha256 + "#" + manifest.tokenizerSha256 + "#"
            + (manifest.sparse != null ? manifest.sparse.queryTokenWeightsSha256 : null) + "#" + manifest.dimension + "#"
            + manifest.maxLength + "#" + manifest.documentPrefix;
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(content.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** The network file's bytes, refused unless they hash to the manifest's {@code sha256}. */
  byte[] readModel() {
    return readVerified(manifest.modelFile, manifest.sha256, "modelFile");
  }

  /** The tokenizer.json bytes, refused unless they hash to the manifest's {@code tokenizerSha256}. */
  /** The tokenizer file's bytes, its checksum verified (tools count tokens with it, as the model would). */
  public byte[] readTokenizer() {
    return readVerified(manifest.tokenizerFile, manifest.tokenizerSha256, "tokenizerFile");
  }

  /**
   * Another file of the package (such as a sparse model's query token weights), refused unless it
   * lies under the model roots and hashes to {@code expectedSha}.
   *
   * @param key the manifest key naming the file, for error messages
   */
  byte[] readVerified(String file, String expectedSha, String key) {
    byte[] bytes;
    try (InputStream in = open(file, key)) {
      bytes = readAll(in);
    } catch (IOException e) {
      throw new ModelPackageException(
          "model '" + manifest.name + "': cannot read " + key + " " + file + ": " + e.getMessage(), e);
    }
    String actual = sha256(bytes);
    if (!actual.equals(expectedSha)) {
      throw new ModelPackageException(
          "model '"
              + manifest.name
              + "': "
              + key
              + " "
              + file
              + " has SHA-256 "
              + actual
              + " but the manifest says "
              + expectedSha
              + "; refusing to load it");
    }
    return bytes;
  }

  private InputStream open(String file, String key) throws IOException {
    if (directory == null) {
      if (!file.startsWith(CLASSPATH_PREFIX)) {
        throw new ModelPackageException("built-in model '" + manifest.name + "': " + key + " must be classpath:");
      }
      String resource = file.substring(CLASSPATH_PREFIX.length()).replaceFirst("^/", "");
      InputStream in = ModelPackage.class.getClassLoader().getResourceAsStream(resource);
      if (in == null) {
        throw new ModelPackageException(
            "built-in model '"
                + manifest.name
                + "': "
                + resource
                + " is not on the class path (is its carrier jar in the module's lib/?)");
      }
      return in;
    }
    if (file.toLowerCase(Locale.ROOT).startsWith(CLASSPATH_PREFIX)) {
      throw new ModelPackageException(
          "model '" + manifest.name + "': " + key + " may name classpath: files only in built-in packages");
    }
    Path resolved = roots.check(directory.resolve(file));
    return Files.newInputStream(resolved);
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
    in.transferTo(out);
    return out.toByteArray();
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public String toString() {
    return manifest.name + " from " + location;
  }
}
