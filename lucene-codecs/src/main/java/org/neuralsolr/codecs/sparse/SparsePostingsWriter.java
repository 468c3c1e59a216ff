package org.neuralsolr.codecs.sparse;

import static org.neuralsolr.codecs.sparse.SparsePostingsFormat.BLOCK_SIZE;
import static org.neuralsolr.codecs.sparse.SparsePostingsFormat.GROUP_SIZE;

import java.io.IOException;
import org.apache.lucene.codecs.BlockTermState;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.PushPostingsWriterBase;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;

/**
 * Writes doc ids and frequencies with per-block and per-group maxima; see {@link
 * SparsePostingsFormat} for the layout.
 */
final class SparsePostingsWriter extends PushPostingsWriterBase {

  private final IndexOutput docOut;
  private final BlockPacking packing = new BlockPacking();

  private boolean fieldHasNorms;
  private NumericDocValues norms;

  // Current term
  private long docStartFP;
  private int docCount;
  private int lastDocID;
  private int termMaxFreq;
  private long termMinNorm;

  // Buffered postings of the current block
  private final int[] docBuffer = new int[BLOCK_SIZE];
  private final int[] freqBuffer = new int[BLOCK_SIZE];
  private final long[] normBuffer = new long[BLOCK_SIZE];
  private final int[] scratch = new int[BLOCK_SIZE];
  private int bufferCount;

  // Blocks of the current, not yet complete, group
  private final ByteBuffersDataOutput groupBuffer = ByteBuffersDataOutput.newResettableInstance();
  private final ByteBuffersDataOutput payloadBuffer = ByteBuffersDataOutput.newResettableInstance();
  private int groupBlocks;
  private int groupMaxFreq;
  private long groupMinNorm;
  private int lastBlockLastDoc;
  private int lastGroupLastDoc;

  private SparseTermState lastState = new SparseTermState();
  private long nextOrd; // of the field's next term with postings

  SparsePostingsWriter(SegmentWriteState state) throws IOException {
    String docName =
        IndexFileNames.segmentFileName(
            state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.DOC_EXTENSION);
    docOut = state.directory.createOutput(docName, state.context);
    boolean success = false;
    try {
      CodecUtil.writeIndexHeader(
          docOut,
          SparsePostingsFormat.DOC_CODEC,
          SparsePostingsFormat.VERSION_CURRENT,
          state.segmentInfo.getId(),
          state.segmentSuffix);
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(docOut);
      }
    }
  }

  @Override
  public void init(IndexOutput termsOut, SegmentWriteState state) throws IOException {
    CodecUtil.writeIndexHeader(
        termsOut,
        SparsePostingsFormat.TERMS_CODEC,
        SparsePostingsFormat.VERSION_CURRENT,
        state.segmentInfo.getId(),
        state.segmentSuffix);
    termsOut.writeVInt(BLOCK_SIZE);
  }

  @Override
  public BlockTermState newTermState() {
    return new SparseTermState();
  }

  @Override
  public void setField(FieldInfo fieldInfo) {
    super.setField(fieldInfo);
    if (writePositions) {
      // SparseFieldsConsumer routes such fields to the delegate
      throw new IllegalArgumentException("field " + fieldInfo.name + " indexes positions");
    }
    fieldHasNorms = fieldInfo.hasNorms();
    lastState = new SparseTermState();
    nextOrd = 0;
  }

  @Override
  public void startTerm(NumericDocValues norms) {
    this.norms = norms;
    docStartFP = docOut.getFilePointer();
    docCount = 0;
    lastDocID = -1;
    termMaxFreq = 1;
    termMinNorm = -1L; // the largest unsigned value
    bufferCount = 0;
    groupBlocks = 0;
    groupMaxFreq = 1;
    groupMinNorm = -1L;
    lastBlockLastDoc = -1;
    lastGroupLastDoc = -1;
    groupBuffer.reset();
  }

  @Override
  public void startDoc(int docID, int termDocFreq) throws IOException {
    if (docID <= lastDocID) {
      throw new CorruptIndexException(
          "docs out of order (" + docID + " <= " + lastDocID + ")", docOut.toString());
    }
    int freq = writeFreqs ? termDocFreq : 1;
    long norm = 1L;
    if (fieldHasNorms && norms.advanceExact(docID)) {
      // a doc may miss its norm if indexing failed after adding it to postings; such docs are
      // deleted, 1 is as good as any bound for them
      norm = norms.longValue();
    }
    docBuffer[bufferCount] = docID;
    freqBuffer[bufferCount] = freq;
    normBuffer[bufferCount] = norm;
    bufferCount++;
    docCount++;
    lastDocID = docID;
    termMaxFreq = Math.max(termMaxFreq, freq);
    if (Long.compareUnsigned(norm, termMinNorm) < 0) {
      termMinNorm = norm;
    }
    if (bufferCount == BLOCK_SIZE) {
      writeBlock();
      bufferCount = 0;
    }
  }

  @Override
  public void addPosition(int position, org.apache.lucene.util.BytesRef payload, int s, int e) {
    throw new UnsupportedOperationException("positions are delegated");
  }

  @Override
  public void finishDoc() {}

  /** Writes the full block in the buffers to the group buffer, and the group if it is complete. */
  private void writeBlock() throws IOException {
    int blockMaxFreq = 1;
    int blockMinFreq = Integer.MAX_VALUE;
    long blockMinNorm = -1L;
    int prev = lastBlockLastDoc;
    for (int i = 0; i < BLOCK_SIZE; i++) {
      scratch[i] = docBuffer[i] - prev - 1;
      prev = docBuffer[i];
      blockMaxFreq = Math.max(blockMaxFreq, freqBuffer[i]);
      blockMinFreq = Math.min(blockMinFreq, freqBuffer[i]);
      if (Long.compareUnsigned(normBuffer[i], blockMinNorm) < 0) {
        blockMinNorm = normBuffer[i];
      }
    }
    payloadBuffer.reset();
    int docBits = BlockPacking.bitsRequired(scratch);
    payloadBuffer.writeByte((byte) docBits);
    packing.pack(scratch, docBits, payloadBuffer);
    if (writeFreqs) {
      for (int i = 0; i < BLOCK_SIZE; i++) {
        scratch[i] = freqBuffer[i] - blockMinFreq;
      }
      int freqBits = BlockPacking.bitsRequired(scratch);
      payloadBuffer.writeVInt(blockMinFreq - 1);
      payloadBuffer.writeByte((byte) freqBits);
      packing.pack(scratch, freqBits, payloadBuffer);
    }
    int blockLastDoc = docBuffer[BLOCK_SIZE - 1];
    groupBuffer.writeVInt(blockLastDoc - lastBlockLastDoc);
    groupBuffer.writeVInt(Math.toIntExact(payloadBuffer.size()));
    writeMaxima(groupBuffer, blockMaxFreq, blockMinNorm);
    payloadBuffer.copyTo(groupBuffer);
    lastBlockLastDoc = blockLastDoc;

    groupBlocks++;
    groupMaxFreq = Math.max(groupMaxFreq, blockMaxFreq);
    if (Long.compareUnsigned(blockMinNorm, groupMinNorm) < 0) {
      groupMinNorm = blockMinNorm;
    }
    if (groupBlocks == GROUP_SIZE) {
      docOut.writeVInt(blockLastDoc - lastGroupLastDoc);
      docOut.writeVLong(groupBuffer.size());
      writeMaxima(docOut, groupMaxFreq, groupMinNorm);
      groupBuffer.copyTo(docOut);
      groupBuffer.reset();
      lastGroupLastDoc = blockLastDoc;
      groupBlocks = 0;
      groupMaxFreq = 1;
      groupMinNorm = -1L;
    }
  }

  private void writeMaxima(DataOutput out, int maxFreq, long minNorm) throws IOException {
    if (writeFreqs) {
      out.writeVInt(maxFreq - 1);
    }
    if (fieldHasNorms) {
      out.writeZLong(minNorm);
    }
  }

  @Override
  public void finishTerm(BlockTermState termState) throws IOException {
    SparseTermState state = (SparseTermState) termState;
    assert state.docFreq == docCount;
    if (docCount == 1) {
      state.singletonDocID = docBuffer[0];
    } else {
      state.singletonDocID = -1;
      // blocks of an incomplete group go without group header
      groupBuffer.copyTo(docOut);
      groupBuffer.reset();
      int prev = lastBlockLastDoc;
      for (int i = 0; i < bufferCount; i++) {
        docOut.writeVInt(docBuffer[i] - prev - 1);
        prev = docBuffer[i];
      }
      if (writeFreqs) {
        for (int i = 0; i < bufferCount; i++) {
          docOut.writeVInt(freqBuffer[i] - 1);
        }
      }
    }
    state.docStartFP = docStartFP;
    state.maxFreq = termMaxFreq;
    state.minNorm = fieldHasNorms ? termMinNorm : 1L;
    state.ord = nextOrd++; // called only for terms with postings, in term order
  }

  @Override
  public void encodeTerm(
      DataOutput out, FieldInfo fieldInfo, BlockTermState termState, boolean absolute)
      throws IOException {
    SparseTermState state = (SparseTermState) termState;
    boolean hasFreqs = fieldInfo.getIndexOptions().compareTo(IndexOptions.DOCS_AND_FREQS) >= 0;
    if (absolute) {
      lastState = new SparseTermState();
    }
    long delta = state.docStartFP - lastState.docStartFP;
    boolean singleton = state.singletonDocID != -1;
    out.writeVLong((delta << 1) | (singleton ? 1 : 0));
    if (singleton) {
      out.writeVInt(state.singletonDocID);
    } else if (hasFreqs) {
      out.writeVInt(state.maxFreq - 1);
    }
    if (fieldInfo.hasNorms()) {
      out.writeZLong(state.minNorm);
    }
    if (hasFreqs) {
      // terms of a block come in term order: the delta is positive
      out.writeVLong(state.ord - lastState.ord);
    }
    lastState = state;
  }

  @Override
  public void close() throws IOException {
    boolean success = false;
    try {
      if (docOut != null) {
        CodecUtil.writeFooter(docOut);
      }
      success = true;
    } finally {
      if (success) {
        IOUtils.close(docOut);
      } else {
        IOUtils.closeWhileHandlingException(docOut);
      }
    }
  }
}
