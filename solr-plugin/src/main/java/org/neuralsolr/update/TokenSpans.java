package org.neuralsolr.update;

import org.apache.lucene.store.ByteArrayDataInput;
import org.apache.lucene.store.ByteArrayDataOutput;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;

/**
 * The character span of each stored token vector of a document, kept beside the vectors at ingest
 * so that the neural highlighter ({@code hl.neural.method=maxsim}) maps them back to the text
 * without running the tokenizer again for every hit.
 *
 * <p>Byte layout (version 1), all integers Lucene vints:
 *
 * <pre>
 *   version (1) · n (token vectors) · n × (gap · length)
 * </pre>
 *
 * A token without characters (ColBERT's [CLS], marker, [SEP]) is {@code gap = 0} and no length;
 * any other has {@code gap = zigzag(start − end of the previous token with characters) + 1} (the
 * first measures from 0) and {@code length = end − start}. Offsets are UTF-16 characters in the
 * text the processor encoded (the source values stripped and joined by single spaces). Word
 * pieces follow each other, so a token costs about 2 bytes; an abstract of 300 tokens, 600.
 */
public final class TokenSpans {
  static final int VERSION = 1;

  private TokenSpans() {}

  /** The bytes of {@code spans}: one {@code {start, end}} per token vector, {@code {-1, -1}} for none. */
  public static byte[] encode(int[][] spans) {
    byte[] out = new byte[5 + 5 + spans.length * 10];
    ByteArrayDataOutput o = new ByteArrayDataOutput(out);
    try {
      o.writeVInt(VERSION);
      o.writeVInt(spans.length);
      int previousEnd = 0;
      for (int[] s : spans) {
        if (s[0] < 0) {
          o.writeVInt(0);
          continue;
        }
        o.writeVInt(BitUtil.zigZagEncode(s[0] - previousEnd) + 1);
        o.writeVInt(s[1] - s[0]);
        previousEnd = s[1];
      }
    } catch (java.io.IOException e) {
      throw new AssertionError(e); // an in-memory array sized for the worst case
    }
    return java.util.Arrays.copyOf(out, o.getPosition());
  }

  /**
   * The spans in {@code bytes}, or null if they are not spans of this layout (another version, or
   * not spans at all): the caller then tokenises the text instead.
   */
  public static int[][] decode(BytesRef bytes) {
    ByteArrayDataInput in = new ByteArrayDataInput(bytes.bytes, bytes.offset, bytes.length);
    try {
      if (bytes.length == 0 || in.readVInt() != VERSION) {
        return null;
      }
      int n = in.readVInt();
      if (n < 0 || n > bytes.length) {
        return null; // every token takes at least one byte
      }
      int[][] spans = new int[n][];
      int previousEnd = 0;
      for (int t = 0; t < n; t++) {
        int gap = in.readVInt();
        if (gap == 0) {
          spans[t] = new int[] {-1, -1};
          continue;
        }
        int start = previousEnd + BitUtil.zigZagDecode(gap - 1);
        int end = start + in.readVInt();
        spans[t] = new int[] {start, end};
        previousEnd = end;
      }
      return in.eof() ? spans : null;
    } catch (RuntimeException e) {
      return null; // truncated or foreign bytes
    }
  }
}
