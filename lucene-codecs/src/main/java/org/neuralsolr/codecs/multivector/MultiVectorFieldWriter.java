package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.codecs.lucene90.IndexedDISI;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.packed.DirectMonotonicWriter;
import org.apache.lucene.util.packed.DirectWriter;

/**
 * Writes one multi-vector field of a segment: documents arrive in increasing doc id order either as
 * raw float32 matrices (encoded here, in batches, against the field's raw-vector codebook) or as
 * codes copied from another segment. See {@link MultiVectorDocValuesFormat} for the layout.
 */
final class MultiVectorFieldWriter {

  /** Raw token vectors gathered before a nearest-centroid search, so centroid blocks stay hot. */
  static final int ENCODE_BATCH_TOKENS = 4096;

  private final FieldInfo field;
  private final FieldSettings settings;
  private final List<ResidualCodebook> codebooks;
  private final int rawOrd; // codebook ordinal raw vectors are encoded with, -1 if none
  private final int[] keyBase; // first posting list of each codebook
  private final int numKeys;
  private final int idBytes;
  private final int residualBytes;
  private final int dim;
  private final IndexOutput data;
  private final int maxDoc;
  private final long residualsOffset;
  private final ByteBuffersDataOutput centroidIds = new ByteBuffersDataOutput();

  private int numDocs;
  private long numTokens;
  private int[] docs = new int[16];
  private int[] docOrds = new int[16];
  private long[] tokenStarts = new long[17];
  private int numPairs; // distinct (centroid, doc) pairs, in doc order
  private int[] pairKeys = new int[64];
  private int[] pairDocs = new int[64];

  private int numPending; // raw documents waiting for encoding
  private int pendingTokens;
  private int[] pendingDocs = new int[16];
  private int[] pendingCounts = new int[16];
  private float[] pendingVectors = new float[0];

  private int[] ids = new int[0];
  private int[] scratch = new int[0];
  private byte[] codes = new byte[0];
  private byte[] idBuffer = new byte[0];

  MultiVectorFieldWriter(
      FieldInfo field,
      FieldSettings settings,
      List<ResidualCodebook> codebooks,
      int rawOrd,
      IndexOutput data,
      int maxDoc) {
    this.field = field;
    this.settings = settings;
    this.codebooks = codebooks;
    this.rawOrd = rawOrd;
    this.dim = settings.dimension();
    this.data = data;
    this.maxDoc = maxDoc;
    this.residualsOffset = data.getFilePointer();
    this.residualBytes = ResidualCodebook.residualBytes(dim, settings.nbits());
    keyBase = new int[codebooks.size()];
    int keys = 0;
    int maxK = 1;
    for (int i = 0; i < codebooks.size(); i++) {
      keyBase[i] = keys;
      keys += codebooks.get(i).numCentroids();
      maxK = Math.max(maxK, codebooks.get(i).numCentroids());
    }
    numKeys = keys;
    idBytes = ResidualCodebook.centroidIdBytes(maxK);
  }

  /** Adds a document given as its float32 little-endian token matrix. */
  void addRaw(int doc, BytesRef value) throws IOException {
    int tokens = tokenCount(field, dim, value.length);
    ensurePending(tokens);
    ByteBuffer.wrap(value.bytes, value.offset, value.length)
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer()
        .get(pendingVectors, pendingTokens * dim, tokens * dim);
    for (int i = pendingTokens * dim, end = (pendingTokens + tokens) * dim; i < end; i++) {
      if (Float.isFinite(pendingVectors[i]) == false) {
        throw new IllegalArgumentException(
            "field \"" + field.name + "\": document " + doc + " has a non-finite vector value");
      }
    }
    pendingDocs = ArrayUtil.grow(pendingDocs, numPending + 1);
    pendingCounts = ArrayUtil.grow(pendingCounts, numPending + 1);
    pendingDocs[numPending] = doc;
    pendingCounts[numPending] = tokens;
    numPending++;
    pendingTokens += tokens;
    if (pendingTokens >= ENCODE_BATCH_TOKENS) {
      encodePending();
    }
  }

  /** Number of token vectors in a raw value of {@code length} bytes; validates the length. */
  static int tokenCount(FieldInfo field, int dim, int length) {
    int rowBytes = dim * Float.BYTES;
    if (length == 0 || length % rowBytes != 0) {
      throw new IllegalArgumentException(
          "field \""
              + field.name
              + "\": a multi-vector value must be a non-empty float32 matrix with "
              + dim
              + " columns, got "
              + length
              + " bytes");
    }
    return length / rowBytes;
  }

  private void ensurePending(int tokens) {
    pendingVectors = ArrayUtil.grow(pendingVectors, (pendingTokens + tokens) * dim);
  }

  /** Adds a document by copying its codes from {@code source}, positioned on it. */
  void addCopy(int doc, int ord, MultiVectorValues source) throws IOException {
    encodePending(); // keep documents in doc id order
    int tokens = source.tokenCount();
    ids = source.centroidIds(ids);
    codes = ArrayUtil.grow(codes, tokens * residualBytes);
    source.readResidualCodes(codes);
    data.writeBytes(codes, 0, tokens * residualBytes);
    addDocument(doc, ord, ids, 0, tokens);
  }

  private void encodePending() throws IOException {
    if (numPending == 0) {
      return;
    }
    ResidualCodebook codebook = codebooks.get(rawOrd);
    ids = ArrayUtil.grow(ids, pendingTokens);
    codebook.index().assign(pendingVectors, 0, pendingTokens, ids);
    int start = 0;
    for (int p = 0; p < numPending; p++) {
      int tokens = pendingCounts[p];
      codes = ArrayUtil.grow(codes, tokens * residualBytes);
      for (int t = 0; t < tokens; t++) {
        codebook.encode(pendingVectors, (start + t) * dim, ids[start + t], codes, t * residualBytes);
      }
      data.writeBytes(codes, 0, tokens * residualBytes);
      addDocument(pendingDocs[p], rawOrd, ids, start, tokens);
      start += tokens;
    }
    numPending = 0;
    pendingTokens = 0;
  }

  private void addDocument(int doc, int ord, int[] centroids, int offset, int tokens)
      throws IOException {
    assert numDocs == 0 || doc > docs[numDocs - 1];
    docs = ArrayUtil.grow(docs, numDocs + 1);
    docOrds = ArrayUtil.grow(docOrds, numDocs + 1);
    tokenStarts = ArrayUtil.grow(tokenStarts, numDocs + 2);
    docs[numDocs] = doc;
    docOrds[numDocs] = ord;
    numDocs++;
    numTokens += tokens;
    tokenStarts[numDocs] = numTokens;

    idBuffer = ArrayUtil.grow(idBuffer, tokens * idBytes);
    for (int t = 0; t < tokens; t++) {
      int id = centroids[offset + t];
      for (int b = 0; b < idBytes; b++) {
        idBuffer[t * idBytes + b] = (byte) (id >>> (8 * b));
      }
    }
    centroidIds.writeBytes(idBuffer, 0, tokens * idBytes);

    // one posting per distinct centroid of the document
    scratch = ArrayUtil.grow(scratch, tokens);
    System.arraycopy(centroids, offset, scratch, 0, tokens);
    Arrays.sort(scratch, 0, tokens);
    pairKeys = ArrayUtil.grow(pairKeys, numPairs + tokens);
    pairDocs = ArrayUtil.grow(pairDocs, numPairs + tokens);
    for (int t = 0; t < tokens; t++) {
      if (t == 0 || scratch[t] != scratch[t - 1]) {
        pairKeys[numPairs] = keyBase[ord] + scratch[t];
        pairDocs[numPairs] = doc;
        numPairs++;
      }
    }
  }

  /** Token vectors written so far (all of them once {@link #finish} returned). */
  long numTokens() {
    return numTokens;
  }

  /** Writes what remains to .mvd, this field's codebooks to .mvc and its entry to .mvm. */
  void finish(IndexOutput meta, IndexOutput codebooksOut) throws IOException {
    encodePending();
    long residualsLength = data.getFilePointer() - residualsOffset;

    long idsOffset = data.getFilePointer();
    centroidIds.copyTo(data);
    long idsLength = data.getFilePointer() - idsOffset;

    long docsWithFieldOffset;
    long docsWithFieldLength = 0;
    short jumpTableEntryCount = -1;
    byte denseRankPower = -1;
    if (numDocs == 0) {
      docsWithFieldOffset = -2;
    } else if (numDocs == maxDoc) {
      docsWithFieldOffset = -1;
    } else {
      docsWithFieldOffset = data.getFilePointer();
      denseRankPower = IndexedDISI.DEFAULT_DENSE_RANK_POWER;
      jumpTableEntryCount = IndexedDISI.writeBitSet(docIterator(), data, denseRankPower);
      docsWithFieldLength = data.getFilePointer() - docsWithFieldOffset;
    }

    long codebooksOffset = codebooksOut.getFilePointer();
    codebooksOut.writeVInt(codebooks.size());
    for (ResidualCodebook codebook : codebooks) {
      codebook.writeTo(codebooksOut);
    }
    long codebooksLength = codebooksOut.getFilePointer() - codebooksOffset;

    meta.writeInt(field.number);
    meta.writeVInt(dim);
    meta.writeByte((byte) settings.nbits());
    meta.writeByte((byte) settings.similarity().ordinal());
    meta.writeVInt(codebooks.size());
    meta.writeVLong(codebooksOffset);
    meta.writeVLong(codebooksLength);
    meta.writeByte((byte) idBytes);
    meta.writeInt(numDocs);
    meta.writeVLong(numTokens);
    meta.writeLong(docsWithFieldOffset);
    meta.writeLong(docsWithFieldLength);
    meta.writeShort(jumpTableEntryCount);
    meta.writeByte(denseRankPower);
    meta.writeLong(residualsOffset);
    meta.writeLong(residualsLength);
    meta.writeLong(idsOffset);
    meta.writeLong(idsLength);

    writeMonotonic(meta, tokenStarts, numDocs + 1);

    int ordBits = codebooks.size() > 1 ? DirectWriter.unsignedBitsRequired(codebooks.size() - 1) : 0;
    long ordsOffset = data.getFilePointer();
    if (ordBits > 0) {
      DirectWriter writer = DirectWriter.getInstance(data, numDocs, ordBits);
      for (int i = 0; i < numDocs; i++) {
        writer.add(docOrds[i]);
      }
      writer.finish();
    }
    meta.writeByte((byte) ordBits);
    meta.writeLong(ordsOffset);
    meta.writeLong(data.getFilePointer() - ordsOffset);

    long[] listStarts = writePostings();
    meta.writeVInt(numKeys);
    meta.writeLong(listStarts[numKeys + 1]);
    meta.writeLong(listStarts[numKeys]);
    writeMonotonic(meta, listStarts, numKeys + 1);
  }

  /**
   * Writes the posting lists and returns their starts relative to the first list; entry {@code
   * numKeys} is the total length and entry {@code numKeys + 1} the absolute offset of the first.
   */
  private long[] writePostings() throws IOException {
    // counting sort of the (centroid, doc) pairs by centroid; stable, so docs stay increasing
    int[] offsets = new int[numKeys + 1];
    for (int p = 0; p < numPairs; p++) {
      offsets[pairKeys[p] + 1]++;
    }
    for (int key = 0; key < numKeys; key++) {
      offsets[key + 1] += offsets[key];
    }
    int[] sorted = new int[numPairs];
    int[] fill = Arrays.copyOf(offsets, numKeys);
    for (int p = 0; p < numPairs; p++) {
      sorted[fill[pairKeys[p]]++] = pairDocs[p];
    }
    pairKeys = pairDocs = null;

    long[] starts = new long[numKeys + 2];
    long base = data.getFilePointer();
    starts[numKeys + 1] = base;
    for (int key = 0; key < numKeys; key++) {
      starts[key] = data.getFilePointer() - base;
      int from = offsets[key], to = offsets[key + 1];
      data.writeVInt(to - from);
      int previous = 0;
      for (int p = from; p < to; p++) {
        data.writeVInt(sorted[p] - previous);
        previous = sorted[p];
      }
    }
    starts[numKeys] = data.getFilePointer() - base;
    return starts;
  }

  private void writeMonotonic(IndexOutput meta, long[] values, int count) throws IOException {
    long offset = data.getFilePointer();
    meta.writeLong(offset);
    meta.writeVInt(MultiVectorDocValuesFormat.DIRECT_MONOTONIC_BLOCK_SHIFT);
    DirectMonotonicWriter writer =
        DirectMonotonicWriter.getInstance(
            meta, data, count, MultiVectorDocValuesFormat.DIRECT_MONOTONIC_BLOCK_SHIFT);
    for (int i = 0; i < count; i++) {
      writer.add(values[i]);
    }
    writer.finish();
    meta.writeLong(data.getFilePointer() - offset);
  }

  private DocIdSetIterator docIterator() {
    return new DocIdSetIterator() {
      int i = -1;

      @Override
      public int docID() {
        return i < 0 ? -1 : i >= numDocs ? NO_MORE_DOCS : docs[i];
      }

      @Override
      public int nextDoc() {
        i++;
        return docID();
      }

      @Override
      public int advance(int target) throws IOException {
        return slowAdvance(target);
      }

      @Override
      public long cost() {
        return numDocs;
      }
    };
  }
}
