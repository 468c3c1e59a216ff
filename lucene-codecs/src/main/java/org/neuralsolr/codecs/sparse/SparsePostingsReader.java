package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import org.apache.lucene.codecs.BlockTermState;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.PostingsReaderBase;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.IOUtils;

/** Reads what {@link SparsePostingsWriter} wrote. */
final class SparsePostingsReader extends PostingsReaderBase {

  private final IndexInput docIn;

  SparsePostingsReader(SegmentReadState state) throws IOException {
    String docName =
        IndexFileNames.segmentFileName(
            state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.DOC_EXTENSION);
    IndexInput in = state.directory.openInput(docName, state.context);
    boolean success = false;
    try {
      CodecUtil.checkIndexHeader(
          in,
          SparsePostingsFormat.DOC_CODEC,
          SparsePostingsFormat.VERSION_START,
          SparsePostingsFormat.VERSION_CURRENT,
          state.segmentInfo.getId(),
          state.segmentSuffix);
      // a truncated file is detected early, the checksum itself by checkIntegrity
      CodecUtil.retrieveChecksum(in);
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(in);
      }
    }
    this.docIn = in;
  }

  @Override
  public void init(IndexInput termsIn, SegmentReadState state) throws IOException {
    CodecUtil.checkIndexHeader(
        termsIn,
        SparsePostingsFormat.TERMS_CODEC,
        SparsePostingsFormat.VERSION_START,
        SparsePostingsFormat.VERSION_CURRENT,
        state.segmentInfo.getId(),
        state.segmentSuffix);
    int blockSize = termsIn.readVInt();
    if (blockSize != SparsePostingsFormat.BLOCK_SIZE) {
      throw new CorruptIndexException(
          "invalid block size " + blockSize + ", expected " + SparsePostingsFormat.BLOCK_SIZE,
          termsIn);
    }
  }

  @Override
  public BlockTermState newTermState() {
    return new SparseTermState();
  }

  static boolean hasFreqs(FieldInfo fieldInfo) {
    return fieldInfo.getIndexOptions().compareTo(IndexOptions.DOCS_AND_FREQS) >= 0;
  }

  @Override
  public void decodeTerm(
      DataInput in, FieldInfo fieldInfo, BlockTermState termState, boolean absolute)
      throws IOException {
    SparseTermState state = (SparseTermState) termState;
    boolean hasFreqs = hasFreqs(fieldInfo);
    if (absolute) {
      state.docStartFP = 0;
      state.ord = 0;
    }
    long code = in.readVLong();
    state.docStartFP += code >>> 1;
    if ((code & 1) != 0) {
      state.singletonDocID = in.readVInt();
      state.maxFreq = hasFreqs ? Math.toIntExact(state.totalTermFreq) : 1;
    } else {
      state.singletonDocID = -1;
      state.maxFreq = hasFreqs ? in.readVInt() + 1 : 1;
    }
    state.minNorm = fieldInfo.hasNorms() ? in.readZLong() : 1L;
    if (hasFreqs) {
      state.ord += in.readVLong();
    }
  }

  @Override
  public PostingsEnum postings(
      FieldInfo fieldInfo, BlockTermState termState, PostingsEnum reuse, int flags)
      throws IOException {
    return newEnum(fieldInfo, reuse).reset((SparseTermState) termState, flags, false);
  }

  @Override
  public ImpactsEnum impacts(FieldInfo fieldInfo, BlockTermState termState, int flags)
      throws IOException {
    return newEnum(fieldInfo, null).reset((SparseTermState) termState, flags, true);
  }

  private SparsePostingsEnum newEnum(FieldInfo fieldInfo, PostingsEnum reuse) {
    if (reuse instanceof SparsePostingsEnum) {
      SparsePostingsEnum e = (SparsePostingsEnum) reuse;
      if (e.canReuse(docIn, fieldInfo)) {
        return e;
      }
    }
    return new SparsePostingsEnum(docIn, fieldInfo);
  }

  @Override
  public void checkIntegrity() throws IOException {
    CodecUtil.checksumEntireFile(docIn);
  }

  @Override
  public void close() throws IOException {
    docIn.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(" + docIn + ")";
  }
}
