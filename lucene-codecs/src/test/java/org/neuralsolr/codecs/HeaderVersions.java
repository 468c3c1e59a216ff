package org.neuralsolr.codecs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;

/** Rewrites the version in the CodecUtil headers of a format's files, to test old-version refusal. */
public final class HeaderVersions {
  private HeaderVersions() {}

  /** Files of {@code dir} whose header names a codec starting with {@code codecPrefix}. */
  public static List<String> filesOf(Directory dir, String codecPrefix) throws IOException {
    List<String> files = new ArrayList<>();
    for (String file : dir.listAll()) {
      if (versionOffset(read(dir, file), codecPrefix) >= 0) {
        files.add(file);
      }
    }
    return files;
  }

  /**
   * A copy of {@code dir} in which {@code file}'s header says {@code version}, with its footer's
   * checksum recomputed: what a writer of that version would have left.
   */
  public static Directory withVersion(Directory dir, String file, String codecPrefix, int version)
      throws IOException {
    Directory copy = new ByteBuffersDirectory();
    for (String f : dir.listAll()) {
      byte[] bytes = read(dir, f);
      if (f.equals(file)) {
        int at = versionOffset(bytes, codecPrefix);
        if (at < 0) {
          throw new IllegalArgumentException(file + " has no " + codecPrefix + "* header");
        }
        for (int i = 0; i < 4; i++) { // big-endian, as CodecUtil writes it
          bytes[at + i] = (byte) (version >>> (24 - 8 * i));
        }
        CRC32 crc = new CRC32();
        int checksumAt = bytes.length - Long.BYTES;
        crc.update(bytes, 0, checksumAt);
        for (int i = 0; i < Long.BYTES; i++) {
          bytes[checksumAt + i] = (byte) (crc.getValue() >>> (56 - 8 * i));
        }
      }
      try (IndexOutput out = copy.createOutput(f, IOContext.DEFAULT)) {
        out.writeBytes(bytes, bytes.length);
      }
    }
    return copy;
  }

  /** Offset of the header's version, or -1 if the file has no header of such a codec. */
  private static int versionOffset(byte[] bytes, String codecPrefix) {
    if (bytes.length < 6) {
      return -1;
    }
    int magic =
        ((bytes[0] & 0xFF) << 24) | ((bytes[1] & 0xFF) << 16) | ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF);
    int nameLength = bytes[4]; // a one-byte vint: codec names are shorter than 128 bytes
    if (magic != CodecUtil.CODEC_MAGIC || nameLength < 0 || bytes.length < 5 + nameLength + 4) {
      return -1;
    }
    String name = new String(bytes, 5, nameLength, StandardCharsets.UTF_8);
    return name.startsWith(codecPrefix) ? 5 + nameLength : -1;
  }

  private static byte[] read(Directory dir, String file) throws IOException {
    try (IndexInput in = dir.openInput(file, IOContext.READONCE)) {
      byte[] bytes = new byte[(int) in.length()];
      in.readBytes(bytes, 0, bytes.length);
      return bytes;
    }
  }
}
