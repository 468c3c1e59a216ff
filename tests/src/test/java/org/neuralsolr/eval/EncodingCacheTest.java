package org.neuralsolr.eval;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class EncodingCacheTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  private static final EncodingCache.Key KEY = new EncodingCache.Key("scifact", "c0ffee", "m0de1", EncodingCache.TOKENS, 4, "title,text");

  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final PrintStream err = new PrintStream(log, true, StandardCharsets.UTF_8);

  /** Writes three documents of 2, 0 and 3 token vectors of random floats; returns them. */
  private float[][] write(EncodingCache cache, EncodingCache.Key key) throws IOException {
    Random r = new Random(42);
    float[][] docs = {new float[2 * 4], new float[0], new float[3 * 4]};
    try (EncodingCache.Writer w = cache.writer(key)) {
      for (int d = 0; d < docs.length; d++) {
        for (int i = 0; i < docs[d].length; i++) {
          docs[d][i] = (float) r.nextGaussian();
        }
        w.add("doc" + d, docs[d]);
      }
      w.commit();
    }
    return docs;
  }

  @Test
  public void roundTripGivesEachDocumentsVectorsBackExactly() throws IOException {
    EncodingCache cache = new EncodingCache(files.newFolder().toPath());
    assertNull("nothing cached yet", cache.open(KEY, err));
    float[][] docs = write(cache, KEY);
    try (EncodingCache.Entry e = cache.open(KEY, err)) {
      assertNotNull(log.toString(), e);
      assertEquals(3, e.documents);
      assertEquals(5, e.vectors);
      assertEquals(5 * 4 * Float.BYTES, e.bytes);
      for (int d = 0; d < docs.length; d++) {
        assertArrayEquals(docs[d], e.floats("doc" + d), 0f);
        float[] fromBytes = new float[docs[d].length];
        ByteBuffer.wrap(e.bytes("doc" + d)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(fromBytes);
        assertArrayEquals("little-endian float32 bytes", docs[d], fromBytes, 0f);
      }
      assertFalse(e.contains("doc3"));
      assertNull(e.floats("doc3"));
    }
    try (var dir = Files.list(cache.dataFile(KEY).getParent())) {
      assertEquals("only the data file and its sidecar, no temporary file left", 2, dir.count());
    }
  }

  @Test
  public void keyChangesWithModelChecksumCorpusFieldsKindAndDimension() throws IOException {
    String stem = KEY.stem();
    assertNotEquals(stem, new EncodingCache.Key("scifact", "c0ffee", "other", EncodingCache.TOKENS, 4, "title,text").stem());
    assertNotEquals(stem, new EncodingCache.Key("scifact", "beef", "m0de1", EncodingCache.TOKENS, 4, "title,text").stem());
    assertNotEquals(stem, new EncodingCache.Key("scifact", "c0ffee", "m0de1", EncodingCache.TOKENS, 4, "text").stem());
    assertNotEquals(stem, new EncodingCache.Key("scifact", "c0ffee", "m0de1", EncodingCache.DENSE, 4, "title,text").stem());
    assertNotEquals(stem, new EncodingCache.Key("scifact", "c0ffee", "m0de1", EncodingCache.TOKENS, 8, "title,text").stem());
    EncodingCache cache = new EncodingCache(files.newFolder().toPath());
    write(cache, KEY);
    assertNull(cache.open(new EncodingCache.Key("scifact", "c0ffee", "other", EncodingCache.TOKENS, 4, "title,text"), err));
  }

  @Test
  public void sidecarOfAnotherKeyIsIgnoredWithAWarning() throws IOException {
    EncodingCache cache = new EncodingCache(files.newFolder().toPath());
    write(cache, KEY);
    // a sidecar copied over from another key under this key's name (as a hash collision would)
    EncodingCache.Key other = new EncodingCache.Key("scifact", "c0ffee", "other", EncodingCache.TOKENS, 4, "title,text");
    write(cache, other);
    Files.copy(cache.sidecar(other), cache.sidecar(KEY), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertNull(cache.open(KEY, err));
    assertTrue(log.toString(), log.toString().contains("WARN encoding cache") && log.toString().contains("other"));
  }

  @Test
  public void corruptedOrTruncatedDataIsDetectedAndIgnored() throws IOException {
    EncodingCache cache = new EncodingCache(files.newFolder().toPath());
    write(cache, KEY);
    Path data = cache.dataFile(KEY);
    byte[] bytes = Files.readAllBytes(data);
    bytes[17] ^= 0x01; // one flipped bit
    Files.write(data, bytes);
    assertNull(cache.open(KEY, err));
    assertTrue(log.toString(), log.toString().contains("CRC-32C"));

    write(cache, KEY); // rebuilt: readable again
    assertNotNull(cache.open(KEY, err));
    try (var ch = java.nio.channels.FileChannel.open(data, StandardOpenOption.WRITE)) {
      ch.truncate(bytes.length - 4);
    }
    assertNull(cache.open(KEY, err));
    assertTrue(log.toString(), log.toString().contains("bytes, the sidecar describes"));
  }
}
