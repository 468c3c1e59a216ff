package org.neuralsolr.eval;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.apache.solr.common.util.Utils;

/**
 * A model's encodings of a dataset kept on disk, so a second index of the same data encodes
 * nothing. An entry lives under {@code .eval/encodings/<dataset>/} as a little-endian float32 data
 * file ({@code .f32}: each document's vectors, one after the other) and a JSON sidecar with its
 * {@link Key}, the documents' ids, offsets and vector counts, and the data's CRC-32C. An entry whose
 * sidecar does not carry the exact key asked for, or whose data fails its checksum, is ignored with
 * a warning (the caller encodes again and overwrites it). Both files are written to temporary names
 * and moved into place, data first, so a reader never sees half an entry.
 */
final class EncodingCache {
  static final String DIRECTORY = ".eval/encodings";

  /** Kinds of encoding: one pooled vector, a document's token vectors, or sparse term weights. */
  static final String DENSE = "dense";

  static final String TOKENS = "tokens";

  /**
   * What decides an entry's content: the dataset (by name and the sha256 of its corpus file), the
   * model package's content checksum, the kind of encoding, its dimension and the source fields.
   */
  record Key(String dataset, String corpusSha256, String modelSha256, String kind, int dimension, String sourceFields) {
    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("dataset", dataset);
      m.put("corpusSha256", corpusSha256);
      m.put("modelSha256", modelSha256);
      m.put("kind", kind);
      m.put("dimension", dimension);
      m.put("sourceFields", sourceFields);
      return m;
    }

    /** The entry's file name without extension: the kind and a digest of the whole key. */
    String stem() {
      return kind + "-" + HexFormat.of().formatHex(sha256(Utils.toJSONString(toMap()).getBytes(StandardCharsets.UTF_8)), 0, 8);
    }
  }

  private final Path directory;

  EncodingCache(Path root) {
    this.directory = root.resolve(DIRECTORY);
  }

  Path dataFile(Key key) {
    return directory.resolve(key.dataset()).resolve(key.stem() + ".f32");
  }

  Path sidecar(Key key) {
    return directory.resolve(key.dataset()).resolve(key.stem() + ".json");
  }

  /** The sha256 of a file's bytes, hex. */
  static String sha256(Path file) throws IOException {
    MessageDigest digest = newDigest();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static byte[] sha256(byte[] bytes) {
    return newDigest().digest(bytes);
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Writes an entry document by document, in any order; {@link #commit} makes it visible. */
  final class Writer implements AutoCloseable {
    private final Key key;
    private final Path tmpData;
    private final OutputStream out;
    private final CRC32C crc = new CRC32C();
    private final List<String> ids = new ArrayList<>();
    private final List<Long> counts = new ArrayList<>();
    private long vectors;
    private boolean committed;

    private Writer(Key key) throws IOException {
      this.key = key;
      Files.createDirectories(dataFile(key).getParent());
      this.tmpData = Files.createTempFile(dataFile(key).getParent(), key.stem(), ".f32.tmp");
      this.out = new java.io.BufferedOutputStream(Files.newOutputStream(tmpData), 1 << 20);
    }

    /** Adds a document's vectors, {@code count * dimension} floats one vector after the other. */
    void add(String id, float[] values) throws IOException {
      if (values.length % key.dimension() != 0) {
        throw new IllegalArgumentException(
            "document " + id + ": " + values.length + " floats are not whole vectors of dimension " + key.dimension());
      }
      ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(values);
      byte[] bytes = b.array();
      out.write(bytes);
      crc.update(bytes);
      ids.add(id);
      counts.add((long) (values.length / key.dimension()));
      vectors += values.length / key.dimension();
    }

    void commit() throws IOException {
      out.close();
      Map<String, Object> side = new LinkedHashMap<>();
      side.put("key", key.toMap());
      side.put("documents", ids.size());
      side.put("vectors", vectors);
      side.put("crc32c", crc.getValue());
      side.put("ids", ids);
      side.put("counts", counts);
      Path tmpSide = Files.createTempFile(sidecar(key).getParent(), key.stem(), ".json.tmp");
      Files.writeString(tmpSide, Utils.toJSONString(side));
      Files.move(tmpData, dataFile(key), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      Files.move(tmpSide, sidecar(key), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      committed = true;
    }

    @Override
    public void close() throws IOException {
      if (!committed) {
        out.close();
        Files.deleteIfExists(tmpData);
      }
    }
  }

  Writer writer(Key key) throws IOException {
    return new Writer(key);
  }

  /** A checked entry: each document's vectors read from the data file on demand. */
  static final class Entry implements AutoCloseable {
    final Key key;
    final int documents;
    final long vectors;
    final long bytes;
    private final Map<String, Integer> ordinal;
    private final long[] offsets; // in floats
    private final long[] counts;
    private final FileChannel data;

    private Entry(Key key, List<String> ids, long[] counts, FileChannel data) throws IOException {
      this.key = key;
      this.documents = ids.size();
      this.counts = counts;
      this.offsets = new long[counts.length];
      this.ordinal = new HashMap<>(ids.size() * 2);
      long off = 0;
      for (int i = 0; i < counts.length; i++) {
        ordinal.put(ids.get(i), i);
        offsets[i] = off;
        off += counts[i] * key.dimension();
      }
      this.vectors = java.util.Arrays.stream(counts).sum();
      this.bytes = data.size();
      this.data = data;
    }

    boolean contains(String id) {
      return ordinal.containsKey(id);
    }

    /** The document's vectors as little-endian float32 bytes, or null if the entry lacks it. */
    byte[] bytes(String id) throws IOException {
      Integer i = ordinal.get(id);
      if (i == null) {
        return null;
      }
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(counts[i] * key.dimension() * Float.BYTES));
      long pos = offsets[i] * Float.BYTES;
      while (b.hasRemaining()) {
        int n = data.read(b, pos + b.position());
        if (n < 0) {
          throw new IOException("encoding cache file " + key.stem() + ".f32 ended early");
        }
      }
      return b.array();
    }

    /** The document's vectors as floats, or null if the entry lacks it. */
    float[] floats(String id) throws IOException {
      byte[] b = bytes(id);
      if (b == null) {
        return null;
      }
      float[] f = new float[b.length / Float.BYTES];
      ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      return f;
    }

    @Override
    public void close() throws IOException {
      data.close();
    }
  }

  /**
   * The entry for {@code key}, or null when there is none, or (with a warning on {@code err}) when
   * its sidecar is unreadable, names another key, or its data does not match its length or CRC-32C.
   */
  Entry open(Key key, PrintStream err) throws IOException {
    Path side = sidecar(key);
    Path file = dataFile(key);
    if (!Files.exists(side) || !Files.exists(file)) {
      return null;
    }
    Map<?, ?> m;
    try {
      m = (Map<?, ?>) Utils.fromJSONString(Files.readString(side));
    } catch (RuntimeException e) {
      err.println("WARN encoding cache: ignoring " + side + ": unreadable sidecar (" + e.getMessage() + ")");
      return null;
    }
    if (!key.toMap().equals(normalise(m.get("key")))) {
      err.println("WARN encoding cache: ignoring " + side + ": it holds " + m.get("key") + ", not " + key.toMap());
      return null;
    }
    List<String> ids = new ArrayList<>();
    for (Object id : (List<?>) m.get("ids")) {
      ids.add(String.valueOf(id));
    }
    List<?> c = (List<?>) m.get("counts");
    long[] counts = new long[c.size()];
    long floats = 0;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = ((Number) c.get(i)).longValue();
      floats += counts[i] * key.dimension();
    }
    if (ids.size() != counts.length || Files.size(file) != floats * Float.BYTES) {
      err.println("WARN encoding cache: ignoring " + file + ": " + Files.size(file) + " bytes, the sidecar describes " + floats * Float.BYTES);
      return null;
    }
    CRC32C crc = new CRC32C();
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        crc.update(buf, 0, n);
      }
    }
    if (crc.getValue() != ((Number) m.get("crc32c")).longValue()) {
      err.println("WARN encoding cache: ignoring " + file + ": its CRC-32C does not match the sidecar's (corrupted)");
      return null;
    }
    return new Entry(key, ids, counts, FileChannel.open(file));
  }

  /** JSON numbers come back as Long: compare the sidecar's key with the dimension as an int. */
  private static Map<String, Object> normalise(Object key) {
    if (!(key instanceof Map)) {
      return null;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) key).entrySet()) {
      Object v = e.getValue();
      m.put(String.valueOf(e.getKey()), v instanceof Number ? (Object) ((Number) v).intValue() : v);
    }
    return m;
  }
}
