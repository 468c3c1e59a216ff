package org.neuralsolr.schema;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.lucene.store.ByteArrayDataInput;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.common.util.Utils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.neuralsolr.codecs.multivector.CodebookSource;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.neuralsolr.codecs.multivector.ResidualCodebook;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ColBERT codebook per multi-vector field of a SolrCloud collection, stored once in ZooKeeper
 * and read by every core of the collection, so that every replica of every shard encodes a
 * document the same way.
 *
 * <p>Layout, under {@code /collections/<collection>/neural/codebooks/<field>/}:
 *
 * <ul>
 *   <li>{@code versions/<id>/<nnnn>}: the codebook ({@link ResidualCodebook#writeTo}, the same
 *       bytes as a segment's {@code .mvc} entry) cut into chunks of at most {@value #CHUNK_BYTES}
 *       bytes, ZooKeeper's default node limit ({@code jute.maxbuffer}) being about 1 MB while a
 *       K=16,384, 384-d codebook is 12.6 MB. {@code <id>} is the codebook's 16-byte id, which is
 *       also what each segment records: it is the version.
 *   <li>{@code current}: JSON naming the id, its byte length, chunk count and SHA-256, and how it
 *       was trained. Written after all chunks, so a reader that sees it finds them; a watch on it
 *       tells every core of a new version. Older versions are deleted once {@code current} moved
 *       (segments carry their own copy of the codebooks they use, so reading never needs them).
 * </ul>
 *
 * <p>As a {@link CodebookSource} it is {@link #authoritative}: cores never train the field's
 * codebook themselves; until a codebook is stored their segments keep token vectors exact
 * (float32), and once one is installed merges re-encode segments of any other codebook.
 */
public final class CollectionCodebooks implements CodebookSource {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  /** Bytes per ZooKeeper node of a stored codebook: half of ZooKeeper's default 1 MB limit. */
  static final int CHUNK_BYTES = 512 * 1024;

  private final SolrZkClient zk;
  private final String collection;
  private final ConcurrentHashMap<String, Optional<ResidualCodebook>> byField = new ConcurrentHashMap<>();
  // fields with a watch pending: reading again must not add watches (Solr wraps each one anew)
  private final Set<String> watching = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  CollectionCodebooks(SolrZkClient zk, String collection) {
    this.zk = zk;
    this.collection = collection;
  }

  /** ZooKeeper path of {@code field}'s codebooks in {@code collection}. */
  public static String fieldPath(String collection, String field) {
    return "/collections/" + collection + "/neural/codebooks/" + field;
  }

  public String collection() {
    return collection;
  }

  @Override
  public ResidualCodebook codebook(String field, int dimension, int nbits) {
    Optional<ResidualCodebook> installed = byField.get(field);
    if (installed == null) {
      // a field the core had not loaded yet (added to the schema since): read it now, once
      try {
        installed = byField.computeIfAbsent(field, f -> readInstalling(f, true));
      } catch (RuntimeException e) {
        log.warn("could not read the collection codebook of field '{}' of collection '{}' from ZooKeeper; its vectors stay exact for now", field, collection, e);
        return null;
      }
    }
    return installed.orElse(null);
  }

  /** Codebooks come from the collection: nothing a flush trains is kept (only exact stand-ins are trained). */
  @Override
  public void trained(String field, ResidualCodebook codebook) {}

  @Override
  public boolean authoritative(String field) {
    return true;
  }

  /** The installed codebook's id ({@link MultiVectorDocValuesFormat#idString}), or null. */
  public String installedId(String field) {
    Optional<ResidualCodebook> installed = byField.get(field);
    return installed == null || installed.isEmpty() ? null : MultiVectorDocValuesFormat.idString(installed.get().id());
  }

  /** Reads {@code field}'s current codebook from ZooKeeper now and installs it (null if none is stored). */
  public ResidualCodebook reload(String field) {
    Optional<ResidualCodebook> read = readInstalling(field, true);
    byField.put(field, read);
    return read.orElse(null);
  }

  void close() {
    closed = true;
  }

  /** Reads the current codebook of {@code field}, leaving a watch on its {@code current} node. */
  private Optional<ResidualCodebook> readInstalling(String field, boolean watch) {
    String path = fieldPath(collection, field) + "/current";
    Watcher watcher = watch && watching.add(field) ? event -> onChange(field, event) : null;
    for (int attempt = 0; ; attempt++) {
      try {
        if (zk.exists(path, watcher, true) == null) {
          return Optional.empty(); // the watch fires when it is created
        }
        Map<String, Object> current = json(zk.getData(path, null, null, true));
        ResidualCodebook codebook = readVersion(zk, fieldPath(collection, field), current);
        log.info("collection '{}' field '{}': codebook {} (K={}, nbits={}) installed", collection, field,
            current.get("id"), codebook.numCentroids(), codebook.nbits());
        return Optional.of(codebook);
      } catch (KeeperException.NoNodeException e) {
        // a newer version replaced the one being read between the two reads: read again
        if (attempt >= 3) {
          throw new IllegalStateException("codebook of field '" + field + "' changed while being read", e);
        }
        watcher = null; // one watch is enough
      } catch (KeeperException | IOException e) {
        if (watcher != null && e instanceof KeeperException) {
          watching.remove(field); // the watch may not have been set: let the next read set it
        }
        throw new IllegalStateException("could not read " + path + ": " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted reading " + path, e);
      }
    }
  }

  private void onChange(String field, org.apache.zookeeper.WatchedEvent event) {
    if (closed || event.getType() == Watcher.Event.EventType.None) {
      return;
    }
    watching.remove(field); // this watch has fired: the read below sets the next one
    try {
      byField.put(field, readInstalling(field, true));
    } catch (RuntimeException e) {
      log.warn("could not install the new codebook of field '{}' of collection '{}'", field, collection, e);
    }
  }

  private static ResidualCodebook readVersion(SolrZkClient zk, String fieldPath, Map<String, Object> current)
      throws KeeperException, InterruptedException, IOException {
    String id = (String) current.get("id");
    int length = ((Number) current.get("bytes")).intValue();
    int chunks = ((Number) current.get("chunks")).intValue();
    byte[] bytes = new byte[length];
    int at = 0;
    for (int c = 0; c < chunks; c++) {
      byte[] chunk = zk.getData(fieldPath + "/versions/" + id + "/" + chunkName(c), null, null, true);
      if (at + chunk.length > length) {
        throw new IOException("codebook " + id + " has more bytes than its current node says (" + length + ")");
      }
      System.arraycopy(chunk, 0, bytes, at, chunk.length);
      at += chunk.length;
    }
    if (at != length || !sha256(bytes).equals(current.get("sha256"))) {
      throw new IOException("codebook " + id + " under " + fieldPath + " is damaged: length or SHA-256 differ from its current node");
    }
    ResidualCodebook codebook = ResidualCodebook.readFrom(new ByteArrayDataInput(bytes));
    if (!MultiVectorDocValuesFormat.idString(codebook.id()).equals(id)) {
      throw new IOException("codebook stored as " + id + " has id " + MultiVectorDocValuesFormat.idString(codebook.id()));
    }
    return codebook;
  }

  /** The {@code current} node of {@code field} as a map, or null if no codebook is stored. */
  public static Map<String, Object> current(SolrZkClient zk, String collection, String field)
      throws KeeperException, InterruptedException {
    String path = fieldPath(collection, field) + "/current";
    if (!zk.exists(path, true)) {
      return null;
    }
    return json(zk.getData(path, null, null, true));
  }

  /** The field's current codebook as stored (no watch, nothing installed), or null if none is stored. */
  public static ResidualCodebook read(SolrZkClient zk, String collection, String field)
      throws KeeperException, InterruptedException, IOException {
    Map<String, Object> current = current(zk, collection, field);
    return current == null ? null : readVersion(zk, fieldPath(collection, field), current);
  }

  /**
   * Stores {@code codebook} as the field's current codebook: chunks first, then {@code current}
   * (which every core watches), then the older versions are deleted. Returns what {@code current}
   * says.
   */
  public static Map<String, Object> store(
      SolrZkClient zk, String collection, String field, ResidualCodebook codebook, Map<String, Object> training)
      throws KeeperException, InterruptedException {
    ByteBuffersDataOutput out = new ByteBuffersDataOutput();
    try {
      codebook.writeTo(out);
    } catch (IOException e) {
      throw new IllegalStateException(e); // in memory
    }
    byte[] bytes = out.toArrayCopy();
    String id = MultiVectorDocValuesFormat.idString(codebook.id());
    String fieldPath = fieldPath(collection, field);
    String versionPath = fieldPath + "/versions/" + id;
    int chunks = Math.max(1, (bytes.length + CHUNK_BYTES - 1) / CHUNK_BYTES);
    zk.makePath(versionPath, false, true);
    for (int c = 0; c < chunks; c++) {
      int from = c * CHUNK_BYTES;
      byte[] chunk = java.util.Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + CHUNK_BYTES));
      zk.create(versionPath + "/" + chunkName(c), chunk, CreateMode.PERSISTENT, true);
    }
    Map<String, Object> current = new LinkedHashMap<>();
    current.put("id", id);
    current.put("bytes", bytes.length);
    current.put("chunks", chunks);
    current.put("sha256", sha256(bytes));
    current.put("dimension", codebook.dimension());
    current.put("nbits", codebook.nbits());
    current.put("centroids", codebook.numCentroids());
    current.put("storedAt", Instant.now().toString());
    current.putAll(training);
    byte[] json = Utils.toJSON(current);
    String currentPath = fieldPath + "/current";
    if (zk.exists(currentPath, true)) {
      zk.setData(currentPath, json, true);
    } else {
      zk.create(currentPath, json, CreateMode.PERSISTENT, true);
    }
    List<String> old = new ArrayList<>(zk.getChildren(fieldPath + "/versions", null, true));
    old.remove(id);
    for (String v : old) {
      zk.clean(fieldPath + "/versions/" + v);
    }
    return current;
  }

  private static String chunkName(int c) {
    return String.format(java.util.Locale.ROOT, "%04d", c);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(byte[] bytes) {
    return (Map<String, Object>) Utils.fromJSON(bytes);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "CollectionCodebooks(" + collection + ", " + byField.keySet() + ")";
  }
}
