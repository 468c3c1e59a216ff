package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.lucene90.IndexedDISI;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.ParallelLeafReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.LongValues;

/**
 * The multi-vectors of one field in one segment: an iterator over the documents that have vectors
 * which, on each document, gives its token count, its decoded vectors, its codebook and centroid
 * ids; and, for the whole segment, the codebooks and the centroid → document postings.
 *
 * <p>Obtain one per leaf with {@link #get(LeafReader, String)}. Like every doc-values iterator it
 * moves forward only and is meant for one thread; get a new one to start over. Decoding methods
 * take a buffer and return it, or a larger replacement when it is too small, so that a caller that
 * keeps what they return does not allocate per document.
 *
 * <p>As {@link BinaryDocValues}, {@link #binaryValue()} is the decoded token matrix as
 * little-endian float32.
 */
public final class MultiVectorValues extends BinaryDocValues {

  private final MultiVectorDocValuesReader.FieldEntry entry;
  private final int maxDoc;
  private final IndexedDISI disi; // null when every document has vectors
  private final IndexInput residuals;
  private final IndexInput centroidIds;
  private final LongValues tokenStarts;
  private final LongValues codebookOrds; // null with a single codebook
  private final IndexInput postings;
  private final LongValues postingStarts;
  private final int residualBytes;
  private int doc = -1;

  private byte[] codes = new byte[0];
  private byte[] idBytes = new byte[0];
  private float[] decoded = new float[0];
  private final BytesRef bytes = new BytesRef();

  MultiVectorValues(
      MultiVectorDocValuesReader.FieldEntry entry,
      int maxDoc,
      IndexedDISI disi,
      IndexInput residuals,
      IndexInput centroidIds,
      LongValues tokenStarts,
      LongValues codebookOrds,
      IndexInput postings,
      LongValues postingStarts) {
    this.entry = entry;
    this.maxDoc = maxDoc;
    this.disi = disi;
    this.residuals = residuals;
    this.centroidIds = centroidIds;
    this.tokenStarts = tokenStarts;
    this.codebookOrds = codebookOrds;
    this.postings = postings;
    this.postingStarts = postingStarts;
    this.residualBytes = ResidualCodebook.residualBytes(entry.dimension, entry.nbits);
  }

  /**
   * The multi-vector values of {@code field} in {@code reader}, or null if no document of this
   * leaf has vectors in that field. Looks through reader wrappers that hide the format's values
   * but keep doc ids ({@link FilterLeafReader}, {@link ParallelLeafReader}) down to the {@link
   * CodecReader}.
   *
   * @throws IllegalArgumentException if the field exists but is not a multi-vector field of {@link
   *     MultiVectorDocValuesFormat}
   */
  public static MultiVectorValues get(LeafReader reader, String field) throws IOException {
    FieldInfo info = reader.getFieldInfos().fieldInfo(field);
    if (info == null) {
      return null;
    }
    if (FieldSettings.of(info) == null || info.getDocValuesType() != DocValuesType.BINARY) {
      throw new IllegalArgumentException("field \"" + field + "\" is not a multi-vector field");
    }
    MultiVectorValues values = find(reader, field);
    if (values != null) {
      return values.docCount() == 0 ? null : values;
    }
    BinaryDocValues binary = reader.getBinaryDocValues(field);
    if (binary == null || binary.nextDoc() == NO_MORE_DOCS) {
      return null;
    }
    throw new IllegalArgumentException(
        "field \""
            + field
            + "\" is not indexed with the "
            + MultiVectorDocValuesFormat.NAME
            + " doc-values format");
  }

  /**
   * The format's own values, looking through wrappers that keep doc ids: {@link FilterLeafReader}s
   * and {@link ParallelLeafReader}s. A {@link CodecReader} is asked for its doc-values producer,
   * which a doc-id-changing wrapper (such as {@code SortingCodecReader}) replaces, so such wrappers
   * are never looked through.
   */
  private static MultiVectorValues find(LeafReader reader, String field) throws IOException {
    if (reader.getBinaryDocValues(field) instanceof MultiVectorValues values) {
      return values;
    }
    if (reader instanceof FilterLeafReader filter) {
      return find(filter.getDelegate(), field);
    }
    if (reader instanceof ParallelLeafReader parallel) {
      for (LeafReader sub : parallel.getParallelReaders()) {
        if (sub.getFieldInfos().fieldInfo(field) != null) {
          return find(sub, field);
        }
      }
    }
    if (reader instanceof CodecReader codecReader) {
      DocValuesProducer producer = codecReader.getDocValuesReader();
      FieldInfo info = codecReader.getFieldInfos().fieldInfo(field);
      if (producer != null
          && info != null
          && info.getDocValuesType() == DocValuesType.BINARY
          && producer.getBinary(info) instanceof MultiVectorValues values) {
        return values;
      }
    }
    return null;
  }

  /** Dimension of the token vectors. */
  public int dimension() {
    return entry.dimension;
  }

  /** Bits per dimension of the stored residuals; 0 means exact float32. */
  public int nbits() {
    return entry.nbits;
  }

  /** DOT_PRODUCT, or COSINE (vectors were normalised at indexing). */
  public VectorSimilarityFunction similarity() {
    return entry.similarity;
  }

  /** Number of documents with vectors in this segment. */
  public int docCount() {
    return entry.numDocs;
  }

  /** Number of token vectors in this segment. */
  public long totalTokenCount() {
    return entry.numTokens;
  }

  /**
   * Bytes this field occupies in the segment's files: its codebooks in .mvc and its regions of .mvd
   * (residual codes, centroid ids, token starts, codebook ordinals, docs-with-field set, posting
   * lists and their index). File headers, footers and the .mvm metadata are not counted: they are
   * per segment, not per field, when several multi-vector fields share the files.
   */
  public long storedBytes() {
    return entry.codebooksLength
        + entry.residualsLength
        + entry.centroidIdsLength
        + entry.tokenStartsLength
        + entry.ordsLength
        + Math.max(0, entry.docsWithFieldLength)
        + entry.postingsLength
        + entry.postingIndexLength;
  }

  /** Bytes of this field's codebooks in .mvc (part of {@link #storedBytes()}). */
  public long codebookBytes() {
    return entry.codebooksLength;
  }

  /** This segment's codebooks; {@link #codebookOrd()} indexes this list. */
  public List<ResidualCodebook> codebooks() {
    return entry.codebooks;
  }

  @Override
  public int docID() {
    return doc;
  }

  @Override
  public int nextDoc() throws IOException {
    return doc == NO_MORE_DOCS ? doc : advance(doc + 1);
  }

  @Override
  public int advance(int target) throws IOException {
    if (disi != null) {
      return doc = disi.advance(target);
    }
    return doc = target >= maxDoc ? NO_MORE_DOCS : target;
  }

  @Override
  public boolean advanceExact(int target) throws IOException {
    if (disi != null) {
      boolean found = disi.advanceExact(target);
      doc = target;
      return found;
    }
    doc = target;
    return true;
  }

  @Override
  public long cost() {
    return entry.numDocs;
  }

  private long index() {
    return disi != null ? disi.index() : doc;
  }

  /** Number of token vectors of the current document. */
  public int tokenCount() {
    long i = index();
    return (int) (tokenStarts.get(i + 1) - tokenStarts.get(i));
  }

  /** Ordinal in {@link #codebooks()} of the current document's codebook. */
  public int codebookOrd() {
    return codebookOrds == null ? 0 : (int) codebookOrds.get(index());
  }

  /**
   * Decodes the current document's token vectors, row-major ({@code tokenCount() × dimension()}),
   * into {@code buffer} if it is large enough (it may be null), else into a new array; returns the
   * array written.
   */
  public float[] vectors(float[] buffer) throws IOException {
    long i = index();
    long start = tokenStarts.get(i);
    int tokens = (int) (tokenStarts.get(i + 1) - start);
    int dim = entry.dimension;
    buffer = buffer == null ? new float[tokens * dim] : ArrayUtil.grow(buffer, tokens * dim);
    if (entry.nbits == 0) {
      residuals.seek(start * residualBytes);
      residuals.readFloats(buffer, 0, tokens * dim);
      return buffer;
    }
    readCodes(start, tokens);
    ResidualCodebook codebook = entry.codebooks.get(codebookOrd());
    readCentroidIds(start, tokens);
    int w = entry.centroidIdBytes;
    for (int t = 0; t < tokens; t++) {
      codebook.decode(centroidId(t, w), codes, t * residualBytes, buffer, t * dim);
    }
    return buffer;
  }

  /** Reads the packed residual codes of {@code tokens} token vectors from token {@code start} into {@link #codes}. */
  private void readCodes(long start, int tokens) throws IOException {
    residuals.seek(start * residualBytes);
    codes = ArrayUtil.grow(codes, tokens * residualBytes);
    residuals.readBytes(codes, 0, tokens * residualBytes);
  }

  /**
   * Decodes the residual part only of the current document's token vectors (nbits above 0): row
   * {@code t} of {@link #vectors} is centroid {@code centroidIds()[t]} plus row {@code t} of this,
   * dimension by dimension (see {@link ResidualCodebook#decodeResidual}). Same buffer contract as
   * {@link #vectors}.
   */
  public float[] residuals(float[] buffer) throws IOException {
    if (entry.nbits == 0) {
      throw new IllegalStateException("field stores float32 vectors, not residuals");
    }
    long i = index();
    long start = tokenStarts.get(i);
    int tokens = (int) (tokenStarts.get(i + 1) - start);
    int dim = entry.dimension;
    buffer = buffer == null ? new float[tokens * dim] : ArrayUtil.grow(buffer, tokens * dim);
    readCodes(start, tokens);
    ResidualCodebook codebook = entry.codebooks.get(codebookOrd());
    for (int t = 0; t < tokens; t++) {
      codebook.decodeResidual(codes, t * residualBytes, buffer, t * dim);
    }
    return buffer;
  }

  /**
   * Whether {@link #residualWords} can be used: the field stores residuals whose per-token code is
   * a whole number of ints.
   */
  public boolean hasResidualWords() {
    return entry.nbits > 0 && residualBytes % Integer.BYTES == 0;
  }

  /** Ints per token vector of {@link #residualWords}. */
  public int residualWordsPerToken() {
    return residualBytes / Integer.BYTES;
  }

  /**
   * The current document's packed residual codes, undecoded, as little-endian ints ({@code
   * residualBytes / 4} per token vector, in token order; see {@link #hasResidualWords}), into
   * {@code buffer} if it is large enough, else into a new array; returns the array written. For
   * kernels that decode while they score.
   */
  public int[] residualWords(int[] buffer) throws IOException {
    if (hasResidualWords() == false) {
      throw new IllegalStateException("residual codes are not whole ints");
    }
    long start = tokenStarts.get(index());
    int words = tokenCount() * residualWordsPerToken();
    buffer = buffer == null ? new int[words] : ArrayUtil.grow(buffer, words);
    residuals.seek(start * residualBytes);
    residuals.readInts(buffer, 0, words);
    return buffer;
  }

  /**
   * Writes the current document's centroid ids (one per token vector, indexes into its codebook)
   * into {@code buffer} if it is large enough, else into a new array; returns the array written.
   */
  public int[] centroidIds(int[] buffer) throws IOException {
    long i = index();
    long start = tokenStarts.get(i);
    int tokens = (int) (tokenStarts.get(i + 1) - start);
    buffer = buffer == null ? new int[tokens] : ArrayUtil.grow(buffer, tokens);
    readCentroidIds(start, tokens);
    int w = entry.centroidIdBytes;
    for (int t = 0; t < tokens; t++) {
      buffer[t] = centroidId(t, w);
    }
    return buffer;
  }

  private void readCentroidIds(long start, int tokens) throws IOException {
    int w = entry.centroidIdBytes;
    idBytes = ArrayUtil.grow(idBytes, tokens * w);
    centroidIds.seek(start * w);
    centroidIds.readBytes(idBytes, 0, tokens * w);
  }

  private int centroidId(int t, int w) {
    int o = t * w;
    int id = idBytes[o] & 0xFF;
    for (int b = 1; b < w; b++) {
      id |= (idBytes[o + b] & 0xFF) << (8 * b);
    }
    return id;
  }

  /** Copies the current document's raw residual codes, for merging. */
  void readResidualCodes(byte[] dest) throws IOException {
    long i = index();
    long start = tokenStarts.get(i);
    int tokens = (int) (tokenStarts.get(i + 1) - start);
    residuals.seek(start * residualBytes);
    residuals.readBytes(dest, 0, tokens * residualBytes);
  }

  /**
   * The documents of this segment having at least one token vector assigned to centroid {@code
   * centroid} of codebook {@code codebookOrd}, in increasing order. Independent of this iterator's
   * position; {@link DocIdSetIterator#cost()} is the exact document count.
   */
  public DocIdSetIterator centroidPostings(int codebookOrd, int centroid) throws IOException {
    if (codebookOrd < 0
        || codebookOrd >= entry.codebooks.size()
        || centroid < 0
        || centroid >= entry.codebooks.get(codebookOrd).numCentroids()) {
      throw new IllegalArgumentException(
          "no centroid " + centroid + " in codebook " + codebookOrd);
    }
    IndexInput in = postings.clone();
    in.seek(postingStarts.get(entry.postingListBase[codebookOrd] + centroid));
    int count = in.readVInt();
    return new DocIdSetIterator() {
      int remaining = count;
      int current = -1;

      @Override
      public int docID() {
        return current;
      }

      @Override
      public int nextDoc() throws IOException {
        if (remaining == 0) {
          return current = NO_MORE_DOCS;
        }
        remaining--;
        return current = Math.max(current, 0) + in.readVInt();
      }

      @Override
      public int advance(int target) throws IOException {
        return slowAdvance(target);
      }

      @Override
      public long cost() {
        return count;
      }
    };
  }

  /** The current document's decoded token matrix, as little-endian float32. */
  @Override
  public BytesRef binaryValue() throws IOException {
    decoded = vectors(decoded);
    int n = tokenCount() * entry.dimension;
    bytes.bytes = ArrayUtil.grow(bytes.bytes, n * Float.BYTES);
    for (int i = 0; i < n; i++) {
      BitUtil.VH_LE_FLOAT.set(bytes.bytes, i * Float.BYTES, decoded[i]);
    }
    bytes.offset = 0;
    bytes.length = n * Float.BYTES;
    return bytes;
  }
}
