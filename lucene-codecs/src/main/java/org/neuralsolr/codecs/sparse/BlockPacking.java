package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.store.IndexInput;

/**
 * Bit-packing of the {@value SparsePostingsFormat#BLOCK_SIZE} non-negative ints of a block into
 * {@code 2 * bits} little-endian longs, lowest bits first. 128 values always fill whole longs, so
 * a block needs no padding and its length follows from {@code bits}.
 */
final class BlockPacking {

  static final int SIZE = SparsePostingsFormat.BLOCK_SIZE;

  private final long[] scratch = new long[2 * 32];

  /** Number of bits needed for the largest of {@code values[0..SIZE)}. */
  static int bitsRequired(int[] values) {
    int or = 0;
    for (int i = 0; i < SIZE; i++) {
      or |= values[i];
    }
    return 32 - Integer.numberOfLeadingZeros(or);
  }

  /** Writes {@code values[0..SIZE)}, each in {@code bits} bits (0 writes nothing). */
  void pack(int[] values, int bits, DataOutput out) throws IOException {
    if (bits == 0) {
      return;
    }
    int numLongs = 2 * bits;
    java.util.Arrays.fill(scratch, 0, numLongs, 0L);
    long bitPos = 0;
    for (int i = 0; i < SIZE; i++, bitPos += bits) {
      long v = values[i] & 0xFFFFFFFFL;
      int index = (int) (bitPos >>> 6);
      int shift = (int) (bitPos & 63);
      scratch[index] |= v << shift;
      if (shift + bits > 64) {
        scratch[index + 1] |= v >>> (64 - shift);
      }
    }
    for (int i = 0; i < numLongs; i++) {
      out.writeLong(scratch[i]);
    }
  }

  /** Reads {@code SIZE} values packed in {@code bits} bits into {@code values}. */
  void unpack(IndexInput in, int bits, int[] values) throws IOException {
    if (bits == 0) {
      java.util.Arrays.fill(values, 0, SIZE, 0);
      return;
    }
    in.readLongs(scratch, 0, 2 * bits);
    final long mask = bits == 32 ? 0xFFFFFFFFL : (1L << bits) - 1;
    long bitPos = 0;
    for (int i = 0; i < SIZE; i++, bitPos += bits) {
      int index = (int) (bitPos >>> 6);
      int shift = (int) (bitPos & 63);
      long v = scratch[index] >>> shift;
      if (shift + bits > 64) {
        v |= scratch[index + 1] << (64 - shift);
      }
      values[i] = (int) (v & mask);
    }
  }

  /** Skips the bytes of {@code SIZE} values packed in {@code bits} bits. */
  static long packedBytes(int bits) {
    return 16L * bits;
  }
}
