package org.neuralsolr.codecs.multivector;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.lucene90.IndexedDISI;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.SortedNumericDocValues;
import org.apache.lucene.index.SortedSetDocValues;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.util.IOSupplier;
import org.apache.lucene.util.IOUtils;
import org.apache.lucene.util.LongValues;
import org.apache.lucene.util.packed.DirectMonotonicReader;
import org.apache.lucene.util.packed.DirectReader;

/**
 * Reads {@link MultiVectorDocValuesFormat}. Metadata and codebooks are loaded (and their checksums
 * verified) on open; the data file is accessed in place.
 */
final class MultiVectorDocValuesReader extends DocValuesProducer {

  private final Map<String, FieldEntry> fields = new HashMap<>();
  private final List<FieldEntry> fieldOrder = new ArrayList<>();
  private final int maxDoc;
  private final IndexInput data;
  private final DocValuesProducer delegate; // null if no field was delegated

  MultiVectorDocValuesReader(SegmentReadState state, DocValuesFormat delegateFormat)
      throws IOException {
    this.maxDoc = state.segmentInfo.maxDoc();
    int version;
    boolean hasDelegate;
    String metaName = fileName(state, MultiVectorDocValuesFormat.META_EXTENSION);
    try (ChecksumIndexInput meta = state.directory.openChecksumInput(metaName, IOContext.READONCE)) {
      Throwable priorE = null;
      version = -1;
      hasDelegate = false;
      try {
        version = checkHeader(meta, MultiVectorDocValuesFormat.META_CODEC, state);
        readFields(meta, state.fieldInfos);
        hasDelegate = readFlag(meta);
      } catch (Throwable t) {
        priorE = t;
      } finally {
        CodecUtil.checkFooter(meta, priorE);
      }
    }

    String codebooksName = fileName(state, MultiVectorDocValuesFormat.CODEBOOKS_EXTENSION);
    try (ChecksumIndexInput in = state.directory.openChecksumInput(codebooksName, IOContext.READONCE)) {
      Throwable priorE = null;
      try {
        checkVersion(version, checkHeader(in, MultiVectorDocValuesFormat.CODEBOOKS_CODEC, state), in);
        readCodebooks(in);
      } catch (Throwable t) {
        priorE = t;
      } finally {
        CodecUtil.checkFooter(in, priorE);
      }
    }

    // checksums verified: share the codebooks with other segments that have them
    for (FieldEntry e : fieldOrder) {
      List<ResidualCodebook> shared = new ArrayList<>(e.codebooks.size());
      for (ResidualCodebook codebook : e.codebooks) {
        shared.add(SharedCodebooks.canonical(codebook));
      }
      e.codebooks = List.copyOf(shared);
    }

    IndexInput dataIn = null;
    DocValuesProducer delegateProducer = null;
    boolean success = false;
    try {
      dataIn =
          state.directory.openInput(
              fileName(state, MultiVectorDocValuesFormat.DATA_EXTENSION), state.context);
      IndexInput in = dataIn;
      int dataVersion =
          unparsableIsCorrupt(in, () -> checkHeader(in, MultiVectorDocValuesFormat.DATA_CODEC, state));
      checkVersion(version, dataVersion, dataIn);
      // verifying the whole data file on open costs too much; checkIntegrity() does it. This
      // checks at least that the footer is where it belongs (e.g. against truncation).
      CodecUtil.retrieveChecksum(dataIn);
      if (hasDelegate) {
        delegateProducer = unparsableIsCorrupt(dataIn, () -> delegateFormat.fieldsProducer(state));
      }
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(dataIn, delegateProducer);
      }
    }
    this.data = dataIn;
    this.delegate = delegateProducer;
  }

  /**
   * Runs {@code open}, reporting failures to parse a file's leading bytes as corruption: a flipped
   * length byte in a header makes {@code readString} run past the end of the file (EOF) or read an
   * invalid vint, which are no less corruption than a wrong magic number.
   */
  private static <T> T unparsableIsCorrupt(IndexInput resource, IOSupplier<T> open)
      throws IOException {
    try {
      return open.get();
    } catch (CorruptIndexException
        | IndexFormatTooOldException
        | IndexFormatTooNewException
        | NoSuchFileException
        | FileNotFoundException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new CorruptIndexException("cannot parse file header: " + e, resource, e);
    }
  }

  private static String fileName(SegmentReadState state, String extension) {
    return IndexFileNames.segmentFileName(state.segmentInfo.name, state.segmentSuffix, extension);
  }

  private static int checkHeader(IndexInput in, String codec, SegmentReadState state)
      throws IOException {
    return CodecUtil.checkIndexHeader(
        in,
        codec,
        MultiVectorDocValuesFormat.VERSION_START,
        MultiVectorDocValuesFormat.VERSION_CURRENT,
        state.segmentInfo.getId(),
        state.segmentSuffix);
  }

  private static void checkVersion(int metaVersion, int version, IndexInput in)
      throws CorruptIndexException {
    if (metaVersion != version) {
      throw new CorruptIndexException(
          "format versions mismatch: meta=" + metaVersion + ", this file=" + version, in);
    }
  }

  private static boolean readFlag(IndexInput meta) throws IOException {
    byte flag = meta.readByte();
    if (flag != 0 && flag != 1) {
      throw new CorruptIndexException("invalid delegate flag " + flag, meta);
    }
    return flag == 1;
  }

  /** Everything the metadata says about one field; immutable once the reader is open. */
  static final class FieldEntry {
    String name;
    int dimension;
    int nbits;
    VectorSimilarityFunction similarity;
    int numCodebooks;
    long codebooksOffset;
    long codebooksLength;
    List<ResidualCodebook> codebooks;
    int[] postingListBase;
    int centroidIdBytes;
    int numDocs;
    long numTokens;
    long docsWithFieldOffset;
    long docsWithFieldLength;
    short jumpTableEntryCount;
    byte denseRankPower;
    long residualsOffset;
    long residualsLength;
    long centroidIdsOffset;
    long centroidIdsLength;
    long tokenStartsOffset;
    long tokenStartsLength;
    DirectMonotonicReader.Meta tokenStartsMeta;
    int ordBits;
    long ordsOffset;
    long ordsLength;
    int numPostingLists;
    long postingsOffset;
    long postingsLength;
    long postingIndexOffset;
    long postingIndexLength;
    DirectMonotonicReader.Meta postingIndexMeta;
  }

  private void readFields(IndexInput meta, FieldInfos infos) throws IOException {
    for (int number = meta.readInt(); number != -1; number = meta.readInt()) {
      FieldInfo info = infos.fieldInfo(number);
      if (info == null) {
        throw new CorruptIndexException("invalid field number: " + number, meta);
      }
      FieldEntry e = new FieldEntry();
      e.name = info.name;
      e.dimension = meta.readVInt();
      e.nbits = meta.readByte();
      int similarity = meta.readByte();
      if (e.dimension <= 0
          || ResidualCodebook.isValidNbits(e.nbits) == false
          || similarity < 0
          || similarity >= VectorSimilarityFunction.values().length) {
        throw new CorruptIndexException(
            "invalid field entry: dim=" + e.dimension + " nbits=" + e.nbits, meta);
      }
      e.similarity = VectorSimilarityFunction.values()[similarity];
      e.numCodebooks = meta.readVInt();
      e.codebooksOffset = meta.readVLong();
      e.codebooksLength = meta.readVLong();
      e.centroidIdBytes = meta.readByte();
      if (e.centroidIdBytes < 1 || e.centroidIdBytes > 4) {
        throw new CorruptIndexException("invalid centroid id width " + e.centroidIdBytes, meta);
      }
      e.numDocs = meta.readInt();
      e.numTokens = meta.readVLong();
      e.docsWithFieldOffset = meta.readLong();
      e.docsWithFieldLength = meta.readLong();
      e.jumpTableEntryCount = meta.readShort();
      e.denseRankPower = meta.readByte();
      e.residualsOffset = meta.readLong();
      e.residualsLength = meta.readLong();
      e.centroidIdsOffset = meta.readLong();
      e.centroidIdsLength = meta.readLong();
      if (e.residualsLength != e.numTokens * ResidualCodebook.residualBytes(e.dimension, e.nbits)
          || e.centroidIdsLength != e.numTokens * e.centroidIdBytes) {
        throw new CorruptIndexException("token data lengths do not match the token count", meta);
      }
      e.tokenStartsOffset = meta.readLong();
      int blockShift = meta.readVInt();
      e.tokenStartsMeta = DirectMonotonicReader.loadMeta(meta, e.numDocs + 1L, blockShift);
      e.tokenStartsLength = meta.readLong();
      e.ordBits = meta.readByte();
      e.ordsOffset = meta.readLong();
      e.ordsLength = meta.readLong();
      e.numPostingLists = meta.readVInt();
      e.postingsOffset = meta.readLong();
      e.postingsLength = meta.readLong();
      e.postingIndexOffset = meta.readLong();
      blockShift = meta.readVInt();
      e.postingIndexMeta = DirectMonotonicReader.loadMeta(meta, e.numPostingLists + 1L, blockShift);
      e.postingIndexLength = meta.readLong();
      if (fields.put(e.name, e) != null) {
        throw new CorruptIndexException("duplicate field: " + e.name, meta);
      }
      fieldOrder.add(e);
    }
  }

  private void readCodebooks(IndexInput in) throws IOException {
    for (FieldEntry e : fieldOrder) {
      if (in.getFilePointer() != e.codebooksOffset) {
        throw new CorruptIndexException("codebooks of field " + e.name + " misplaced", in);
      }
      int count = in.readVInt();
      if (count != e.numCodebooks) {
        throw new CorruptIndexException("codebook count mismatch for field " + e.name, in);
      }
      List<ResidualCodebook> codebooks = new ArrayList<>(count);
      e.postingListBase = new int[count];
      int lists = 0;
      for (int i = 0; i < count; i++) {
        ResidualCodebook codebook = ResidualCodebook.readFrom(in);
        if (codebook.dimension() != e.dimension || codebook.nbits() != e.nbits) {
          throw new CorruptIndexException("codebook does not match field " + e.name, in);
        }
        e.postingListBase[i] = lists;
        lists += codebook.numCentroids();
        codebooks.add(codebook);
      }
      if (lists != e.numPostingLists
          || in.getFilePointer() - e.codebooksOffset != e.codebooksLength) {
        throw new CorruptIndexException("codebooks do not match metadata of " + e.name, in);
      }
      e.codebooks = codebooks;
    }
  }

  @Override
  public BinaryDocValues getBinary(FieldInfo field) throws IOException {
    FieldEntry e = fields.get(field.name);
    if (e == null) {
      return delegate == null ? DocValues.emptyBinary() : delegate.getBinary(field);
    }
    IndexedDISI disi = null;
    if (e.docsWithFieldOffset >= 0) {
      disi =
          new IndexedDISI(
              data,
              e.docsWithFieldOffset,
              e.docsWithFieldLength,
              e.jumpTableEntryCount,
              e.denseRankPower,
              e.numDocs);
    }
    RandomAccessInput starts = data.randomAccessSlice(e.tokenStartsOffset, e.tokenStartsLength);
    LongValues ords =
        e.ordBits == 0
            ? null
            : DirectReader.getInstance(
                data.randomAccessSlice(e.ordsOffset, e.ordsLength), e.ordBits);
    RandomAccessInput postingIndex =
        data.randomAccessSlice(e.postingIndexOffset, e.postingIndexLength);
    return new MultiVectorValues(
        e,
        e.numDocs == 0 ? 0 : maxDoc, // without a bit set, documents are 0 .. maxDoc-1

        disi,
        data.slice("residuals", e.residualsOffset, e.residualsLength),
        data.slice("centroid-ids", e.centroidIdsOffset, e.centroidIdsLength),
        DirectMonotonicReader.getInstance(e.tokenStartsMeta, starts),
        ords,
        data.slice("postings", e.postingsOffset, e.postingsLength),
        DirectMonotonicReader.getInstance(e.postingIndexMeta, postingIndex));
  }

  @Override
  public NumericDocValues getNumeric(FieldInfo field) throws IOException {
    return delegate == null ? DocValues.emptyNumeric() : delegate.getNumeric(field);
  }

  @Override
  public SortedDocValues getSorted(FieldInfo field) throws IOException {
    return delegate == null ? DocValues.emptySorted() : delegate.getSorted(field);
  }

  @Override
  public SortedNumericDocValues getSortedNumeric(FieldInfo field) throws IOException {
    return delegate == null ? DocValues.emptySortedNumeric() : delegate.getSortedNumeric(field);
  }

  @Override
  public SortedSetDocValues getSortedSet(FieldInfo field) throws IOException {
    return delegate == null ? DocValues.emptySortedSet() : delegate.getSortedSet(field);
  }

  @Override
  public void checkIntegrity() throws IOException {
    CodecUtil.checksumEntireFile(data);
    if (delegate != null) {
      delegate.checkIntegrity();
    }
  }

  @Override
  public void close() throws IOException {
    IOUtils.close(data, delegate);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(fields=" + fields.keySet() + ")";
  }
}
