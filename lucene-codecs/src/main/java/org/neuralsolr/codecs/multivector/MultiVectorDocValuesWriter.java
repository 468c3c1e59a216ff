package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DocIDMerger;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.IOUtils;

/**
 * Writes {@link MultiVectorDocValuesFormat}: multi-vector fields itself, everything else through
 * the delegate format (opened on first use).
 */
final class MultiVectorDocValuesWriter extends DocValuesConsumer {

  private final SegmentWriteState state;
  private final CodebookSource codebookSource;
  private final DocValuesFormat delegateFormat;
  private DocValuesConsumer delegate;
  private IndexOutput meta, codebooks, data;

  MultiVectorDocValuesWriter(
      SegmentWriteState state, CodebookSource codebookSource, DocValuesFormat delegateFormat)
      throws IOException {
    this.state = state;
    this.codebookSource = codebookSource;
    this.delegateFormat = delegateFormat;
    boolean success = false;
    try {
      meta = open(MultiVectorDocValuesFormat.META_EXTENSION, MultiVectorDocValuesFormat.META_CODEC);
      codebooks =
          open(
              MultiVectorDocValuesFormat.CODEBOOKS_EXTENSION,
              MultiVectorDocValuesFormat.CODEBOOKS_CODEC);
      data = open(MultiVectorDocValuesFormat.DATA_EXTENSION, MultiVectorDocValuesFormat.DATA_CODEC);
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(this);
      }
    }
  }

  private IndexOutput open(String extension, String codec) throws IOException {
    String name =
        IndexFileNames.segmentFileName(state.segmentInfo.name, state.segmentSuffix, extension);
    IndexOutput out = state.directory.createOutput(name, state.context);
    boolean success = false;
    try {
      CodecUtil.writeIndexHeader(
          out,
          codec,
          MultiVectorDocValuesFormat.VERSION_CURRENT,
          state.segmentInfo.getId(),
          state.segmentSuffix);
      success = true;
      return out;
    } finally {
      if (success == false) {
        // not yet in a field, so the constructor's cleanup cannot see it
        IOUtils.closeWhileHandlingException(out);
      }
    }
  }

  private DocValuesConsumer delegate() throws IOException {
    if (delegate == null) {
      delegate = delegateFormat.fieldsConsumer(state);
    }
    return delegate;
  }

  @Override
  public void addNumericField(FieldInfo field, DocValuesProducer valuesProducer)
      throws IOException {
    delegate().addNumericField(field, valuesProducer);
  }

  @Override
  public void addSortedField(FieldInfo field, DocValuesProducer valuesProducer) throws IOException {
    delegate().addSortedField(field, valuesProducer);
  }

  @Override
  public void addSortedNumericField(FieldInfo field, DocValuesProducer valuesProducer)
      throws IOException {
    delegate().addSortedNumericField(field, valuesProducer);
  }

  @Override
  public void addSortedSetField(FieldInfo field, DocValuesProducer valuesProducer)
      throws IOException {
    delegate().addSortedSetField(field, valuesProducer);
  }

  /** Flush (or any raw input): every document's value is a float32 token matrix to encode. */
  @Override
  public void addBinaryField(FieldInfo field, DocValuesProducer valuesProducer) throws IOException {
    FieldSettings settings = FieldSettings.of(field);
    if (settings == null) {
      delegate().addBinaryField(field, valuesProducer);
      return;
    }
    RawDocs raw =
        visitor -> {
          BinaryDocValues values = valuesProducer.getBinary(field);
          for (int doc = values.nextDoc();
              doc != DocIdSetIterator.NO_MORE_DOCS;
              doc = values.nextDoc()) {
            visitor.visit(values.binaryValue());
          }
        };
    List<ResidualCodebook> table = new ArrayList<>();
    FieldSettings stored = settings;
    long tokens = raw.countTokens(field, settings.dimension());
    if (tokens > 0) {
      ResidualCodebook codebook = suppliedCodebook(field, settings);
      if (codebook == null) {
        if (mayTrain(field) == false || settings.canTrainOn(tokens, false) == false) {
          // too few vectors for a codebook that generalises, or the source trains it elsewhere
          stored = settings.untrained();
        }
        codebook = train(field, stored, tokens, raw);
      }
      table.add(codebook);
    }
    MultiVectorFieldWriter writer =
        new MultiVectorFieldWriter(
            field, stored, table, 0, data, state.segmentInfo.maxDoc());
    BinaryDocValues values = valuesProducer.getBinary(field);
    for (int doc = values.nextDoc();
        doc != DocIdSetIterator.NO_MORE_DOCS;
        doc = values.nextDoc()) {
      writer.addRaw(doc, values.binaryValue());
    }
    writer.finish(meta, codebooks);
    recordIfUntrained(field, settings, stored, writer);
    recordCodebooks(field, settings, stored, table);
  }

  /**
   * Merge: documents that come with codes of this format are copied, codes and codebooks verbatim
   * (codebooks deduplicated by id); only documents without usable codes are encoded. Segments kept
   * exact for want of a codebook (see {@link MultiVectorField#TRAINING_THRESHOLD_ATTRIBUTE}) count
   * as raw: they are encoded here, with a codebook trained on a sample spread over all of them,
   * unless they are still too few, in which case they are copied and stay exact.
   */
  @Override
  public void mergeBinaryField(FieldInfo field, MergeState mergeState) throws IOException {
    FieldSettings settings = FieldSettings.of(field);
    if (settings == null) {
      super.mergeBinaryField(field, mergeState); // ends in addBinaryField, i.e. the delegate
      return;
    }
    FieldSettings stored = settings;
    boolean[] coded = codedSources(mergeState, field, settings);
    RawDocs raw = rawDocs(mergeState, field, coded);
    long rawTokens = raw.countTokens(field, settings.dimension());
    ResidualCodebook rawCodebook = null;
    if (rawTokens > 0) {
      rawCodebook = suppliedCodebook(field, settings);
      boolean anyCoded = false;
      for (boolean c : coded) {
        anyCoded |= c;
      }
      if (rawCodebook == null
          && (mayTrain(field) == false
              || (anyCoded == false && settings.canTrainOn(rawTokens, isForcedMerge()) == false))) {
        // still too few vectors to train on, or the source trains elsewhere and has no codebook
        // yet: exact segments are copied and stay exact
        stored = settings.untrained();
        coded = codedSources(mergeState, field, stored);
        raw = rawDocs(mergeState, field, coded);
        rawTokens = raw.countTokens(field, settings.dimension());
      }
    }

    List<ResidualCodebook> table = new ArrayList<>();
    int[][] ordMaps = new int[mergeState.docValuesProducers.length][];
    // with an authoritative source, documents of any other codebook are re-encoded with its one
    ResidualCodebook required =
        codebookSource != null && codebookSource.authoritative(field.name) && stored == settings
            ? suppliedCodebook(field, settings)
            : null;
    boolean reencode = false;
    for (int i = 0; i < coded.length; i++) {
      if (coded[i]) {
        ordMaps[i] = codebookOrdinals(mergeState, i, field, table, required);
        for (int ord : ordMaps[i]) {
          reencode |= ord == REENCODE;
        }
      }
    }
    int rawOrd = -1;
    if (reencode) {
      rawCodebook = required;
      rawOrd = indexOf(table, required);
    }
    if (rawTokens > 0 && rawOrd < 0) {
      if (rawCodebook == null) {
        boolean fewRaw = stored.canTrainOn(rawTokens, false) == false;
        rawCodebook =
            fewRaw && table.isEmpty() == false
                // too few to train on: the codebook the copied segments already use
                ? table.get(0)
                : train(field, stored, rawTokens, raw);
      }
      rawOrd = indexOf(table, rawCodebook);
    }

    // subs in source order: without index sorting, DocIDMerger concatenates them in list order
    List<MergeSub> subs = new ArrayList<>();
    for (int i = 0; i < mergeState.docValuesProducers.length; i++) {
      BinaryDocValues values = sourceValues(mergeState, i, field.name);
      if (coded[i] || (rawOrd >= 0 && values != null)) {
        subs.add(new MergeSub(mergeState.docMaps[i], values, ordMaps[i]));
      }
    }

    MultiVectorFieldWriter writer =
        new MultiVectorFieldWriter(
            field, stored, table, rawOrd, data, mergeState.segmentInfo.maxDoc());
    DocIDMerger<MergeSub> merger = DocIDMerger.of(subs, mergeState.needsIndexSort);
    for (MergeSub sub = merger.next(); sub != null; sub = merger.next()) {
      if (sub.ordMap != null) {
        MultiVectorValues mv = (MultiVectorValues) sub.values;
        int ord = sub.ordMap[mv.codebookOrd()];
        if (ord == REENCODE) {
          writer.addRaw(sub.mappedDocID, mv.binaryValue()); // its decoded vectors
        } else {
          writer.addCopy(sub.mappedDocID, ord, mv);
        }
      } else {
        writer.addRaw(sub.mappedDocID, sub.values.binaryValue());
      }
    }
    writer.finish(meta, codebooks);
    recordIfUntrained(field, settings, stored, writer);
    recordCodebooks(field, settings, stored, table);
  }

  /**
   * Notes in the segment's attributes that {@code field} waits for its codebook (see {@link
   * MultiVectorDocValuesFormat#UNTRAINED_ATTRIBUTE_PREFIX}): the segment's .mvm says nbits 0 too,
   * but merge policies and monitoring see only {@code SegmentInfo}s, without opening the segment.
   * Only segments with token vectors are recorded, because only they can be trained: a forced merge
   * of them always trains (see {@link FieldSettings#canTrainOn}), so a recorded segment is
   * rewritten once by an optimize, never again.
   */
  private void recordIfUntrained(
      FieldInfo field, FieldSettings settings, FieldSettings stored, MultiVectorFieldWriter writer) {
    if (stored.nbits() != settings.nbits() && writer.numTokens() > 0) {
      state.segmentInfo.putAttribute(
          MultiVectorDocValuesFormat.UNTRAINED_ATTRIBUTE_PREFIX + field.name,
          Long.toString(writer.numTokens()));
    }
  }

  /**
   * Notes in the segment's attributes which codebooks {@code field}'s documents use (see {@link
   * MultiVectorDocValuesFormat#CODEBOOKS_ATTRIBUTE_PREFIX}), so that a merge policy can find
   * segments encoded with a codebook that is no longer the field's without opening them.
   */
  private void recordCodebooks(
      FieldInfo field, FieldSettings settings, FieldSettings stored, List<ResidualCodebook> table) {
    if (stored.nbits() == settings.nbits() && table.isEmpty() == false) {
      StringBuilder ids = new StringBuilder();
      for (ResidualCodebook c : table) {
        ids.append(ids.length() == 0 ? "" : ",").append(MultiVectorDocValuesFormat.idString(c.id()));
      }
      state.segmentInfo.putAttribute(
          MultiVectorDocValuesFormat.CODEBOOKS_ATTRIBUTE_PREFIX + field.name, ids.toString());
    }
  }

  /** Whether the writer may train a codebook of the field's own nbits (see {@link CodebookSource#authoritative}). */
  private boolean mayTrain(FieldInfo field) {
    return codebookSource == null || codebookSource.authoritative(field.name) == false;
  }

  /** Which sources hold codes that can be copied into a field stored with {@code stored}. */
  private static boolean[] codedSources(
      MergeState mergeState, FieldInfo field, FieldSettings stored) throws IOException {
    boolean[] coded = new boolean[mergeState.docValuesProducers.length];
    for (int i = 0; i < coded.length; i++) {
      coded[i] =
          sourceValues(mergeState, i, field.name) instanceof MultiVectorValues mv
              && mv.dimension() == stored.dimension()
              && mv.nbits() == stored.nbits();
    }
    return coded;
  }

  /** The live documents of the sources that are not {@code coded}, as raw vectors. */
  private static RawDocs rawDocs(MergeState mergeState, FieldInfo field, boolean[] coded) {
    return visitor -> {
      for (int i = 0; i < coded.length; i++) {
        BinaryDocValues values = coded[i] ? null : sourceValues(mergeState, i, field.name);
        if (values == null) {
          continue;
        }
        MergeState.DocMap docMap = mergeState.docMaps[i];
        for (int doc = values.nextDoc();
            doc != DocIdSetIterator.NO_MORE_DOCS;
            doc = values.nextDoc()) {
          if (docMap.get(doc) != -1) {
            visitor.visit(values.binaryValue());
          }
        }
      }
    };
  }

  /** An optimize ({@code forceMerge}) trains on what it has: the user asked for final segments. */
  private boolean isForcedMerge() {
    return state.context.mergeInfo != null && state.context.mergeInfo.mergeMaxNumSegments > 0;
  }

  private static BinaryDocValues sourceValues(MergeState mergeState, int i, String field)
      throws IOException {
    DocValuesProducer producer = mergeState.docValuesProducers[i];
    FieldInfo info = mergeState.fieldInfos[i].fieldInfo(field);
    if (producer == null || info == null || info.getDocValuesType() != DocValuesType.BINARY) {
      return null;
    }
    return producer.getBinary(info);
  }

  /** Ordinal map entry of a codebook whose documents are re-encoded rather than copied. */
  private static final int REENCODE = -2;

  /**
   * Maps the codebook ordinals of source {@code i} to ordinals of {@code table}, adding the
   * codebooks its live documents use. Unused codebooks (all their documents deleted) are dropped.
   * With a {@code required} codebook, every other one maps to {@link #REENCODE}.
   */
  private static int[] codebookOrdinals(
      MergeState mergeState, int i, FieldInfo field, List<ResidualCodebook> table,
      ResidualCodebook required)
      throws IOException {
    MultiVectorValues values = (MultiVectorValues) sourceValues(mergeState, i, field.name);
    List<ResidualCodebook> sourceTable = values.codebooks();
    boolean[] used = new boolean[sourceTable.size()];
    MergeState.DocMap docMap = mergeState.docMaps[i];
    for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
      if (docMap.get(doc) != -1) {
        used[values.codebookOrd()] = true;
      }
    }
    int[] ordMap = new int[sourceTable.size()];
    Arrays.fill(ordMap, -1);
    for (int ord = 0; ord < used.length; ord++) {
      if (used[ord]) {
        ordMap[ord] =
            required == null || required.sameIdAs(sourceTable.get(ord))
                ? indexOf(table, sourceTable.get(ord))
                : REENCODE;
      }
    }
    return ordMap;
  }

  /** Index of {@code codebook} (by id) in {@code table}, appending it if absent. */
  private static int indexOf(List<ResidualCodebook> table, ResidualCodebook codebook) {
    for (int i = 0; i < table.size(); i++) {
      if (table.get(i).sameIdAs(codebook)) {
        return i;
      }
    }
    table.add(codebook);
    return table.size() - 1;
  }

  /** The source's codebook for {@code field}, or null if it has none usable. */
  private ResidualCodebook suppliedCodebook(FieldInfo field, FieldSettings settings) {
    if (codebookSource == null) {
      return null;
    }
    ResidualCodebook supplied =
        codebookSource.codebook(field.name, settings.dimension(), settings.nbits());
    return supplied != null
            && supplied.dimension() == settings.dimension()
            && supplied.nbits() == settings.nbits()
        ? supplied
        : null;
  }

  /**
   * Trains a codebook of {@code stored}'s nbits on a uniform sample of the raw vectors, and reports
   * it to the source unless it is the exact stand-in of an untrained field (its centroids serve
   * PLAID's candidate generation until then, and are of no use once the field is trained).
   */
  private ResidualCodebook train(
      FieldInfo field, FieldSettings stored, long totalTokens, RawDocs raw) throws IOException {
    int dim = stored.dimension();
    // deterministic per segment and field, so that a test seed reproduces an index
    Random random = new Random(31L * Arrays.hashCode(state.segmentInfo.getId()) + field.number);
    int sampleSize = (int) Math.min(totalTokens, stored.trainingSample());
    int[] picks = KMeans.sampleIndexes(totalTokens, sampleSize, random);
    float[] sample = new float[sampleSize * dim];
    long[] token = {0};
    int[] next = {0};
    raw.forEach(
        value -> {
          FloatBuffer floats =
              ByteBuffer.wrap(value.bytes, value.offset, value.length)
                  .order(ByteOrder.LITTLE_ENDIAN)
                  .asFloatBuffer();
          for (int t = 0, tokens = value.length / (dim * Float.BYTES); t < tokens; t++, token[0]++) {
            if (next[0] < sampleSize && picks[next[0]] == token[0]) {
              floats.get(t * dim, sample, next[0] * dim, dim);
              next[0]++;
            }
          }
        });
    ResidualCodebook trained =
        ResidualCodebook.train(
            sample,
            sampleSize,
            dim,
            stored.nbits(),
            stored.centroidsFor(totalTokens),
            random);
    boolean untrainedStandIn = stored.nbits() != FieldSettings.of(field).nbits();
    if (codebookSource != null && untrainedStandIn == false) {
      codebookSource.trained(field.name, trained);
    }
    return trained;
  }

  @Override
  public void close() throws IOException {
    boolean success = false;
    try {
      if (meta != null) {
        meta.writeInt(-1); // end of fields
        meta.writeByte((byte) (delegate != null ? 1 : 0));
        CodecUtil.writeFooter(meta);
      }
      if (codebooks != null) {
        CodecUtil.writeFooter(codebooks);
      }
      if (data != null) {
        CodecUtil.writeFooter(data);
      }
      success = true;
    } finally {
      if (success) {
        IOUtils.close(meta, codebooks, data, delegate);
      } else {
        IOUtils.closeWhileHandlingException(meta, codebooks, data, delegate);
      }
      meta = codebooks = data = null;
      delegate = null;
    }
  }

  /** The raw (float32 matrix) values of a field, visited in doc id order. */
  @FunctionalInterface
  private interface RawDocs {
    void forEach(RawVisitor visitor) throws IOException;

    default long countTokens(FieldInfo field, int dim) throws IOException {
      long[] count = {0};
      forEach(
          value ->
              count[0] += MultiVectorFieldWriter.tokenCount(field, dim, value.length));
      return count[0];
    }
  }

  @FunctionalInterface
  private interface RawVisitor {
    void visit(BytesRef value) throws IOException;
  }

  private static final class MergeSub extends DocIDMerger.Sub {
    final BinaryDocValues values;
    final int[] ordMap; // source codebook ordinal -> merged ordinal; null for raw sources

    MergeSub(MergeState.DocMap docMap, BinaryDocValues values, int[] ordMap) {
      super(docMap);
      this.values = values;
      this.ordMap = ordMap;
    }

    @Override
    public int nextDoc() throws IOException {
      return values.nextDoc();
    }
  }
}
