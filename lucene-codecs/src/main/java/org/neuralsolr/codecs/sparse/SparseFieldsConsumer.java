package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.FieldsConsumer;
import org.apache.lucene.codecs.NormsProducer;
import org.apache.lucene.codecs.lucene90.blocktree.Lucene90BlockTreeTermsWriter;
import org.apache.lucene.codecs.lucene912.Lucene912PostingsFormat;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.Fields;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.index.Terms;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.lucene.store.ByteBuffersIndexOutput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;

/**
 * Writes fields without positions through the block tree and {@link SparsePostingsWriter}, and
 * hands fields with positions to Lucene's default postings format.
 */
final class SparseFieldsConsumer extends FieldsConsumer {

  private final SegmentWriteState state;
  private final FieldsConsumer own;
  private FieldsConsumer delegate;
  private final List<Integer> delegatedFieldNumbers = new ArrayList<>();
  private IndexOutput forwardOut; // created with the first field that has frequencies
  private int numForwardFields;
  private final ByteBuffersDataOutput forwardMeta = ByteBuffersDataOutput.newResettableInstance();
  private boolean closed;

  SparseFieldsConsumer(SegmentWriteState state) throws IOException {
    this.state = state;
    SparsePostingsWriter postingsWriter = new SparsePostingsWriter(state);
    boolean success = false;
    try {
      own =
          new Lucene90BlockTreeTermsWriter(
              state,
              postingsWriter,
              Lucene90BlockTreeTermsWriter.DEFAULT_MIN_BLOCK_SIZE,
              Lucene90BlockTreeTermsWriter.DEFAULT_MAX_BLOCK_SIZE);
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(postingsWriter);
      }
    }
  }

  static boolean isDelegated(FieldInfo fieldInfo) {
    return fieldInfo.getIndexOptions().compareTo(IndexOptions.DOCS_AND_FREQS) > 0;
  }

  @Override
  public void write(Fields fields, NormsProducer norms) throws IOException {
    List<String> mine = new ArrayList<>();
    List<String> theirs = new ArrayList<>();
    for (String field : fields) {
      FieldInfo fieldInfo = state.fieldInfos.fieldInfo(field);
      if (isDelegated(fieldInfo)) {
        theirs.add(field);
        delegatedFieldNumbers.add(fieldInfo.number);
      } else {
        mine.add(field);
      }
    }
    own.write(new SubsetFields(fields, mine), norms);
    for (String field : mine) {
      FieldInfo fieldInfo = state.fieldInfos.fieldInfo(field);
      Terms terms = fields.terms(field);
      if (terms == null
          || SparsePostingsReader.hasFreqs(fieldInfo) == false
          || "false".equals(fieldInfo.getAttribute(SparsePostingsFormat.FORWARD_INDEX_ATTRIBUTE))) {
        continue;
      }
      if (forwardOut == null) {
        forwardOut =
            state.directory.createOutput(
                IndexFileNames.segmentFileName(
                    state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.FORWARD_EXTENSION),
                state.context);
        CodecUtil.writeIndexHeader(
            forwardOut,
            SparsePostingsFormat.FORWARD_CODEC,
            SparsePostingsFormat.VERSION_CURRENT,
            state.segmentInfo.getId(),
            state.segmentSuffix);
      }
      try (ByteBuffersIndexOutput meta = new ByteBuffersIndexOutput(forwardMeta, "forward meta", "forward meta")) {
        meta.writeVInt(fieldInfo.number);
        long[] region = SparseForwardIndex.write(terms, state.segmentInfo.maxDoc(), forwardOut, meta);
        for (long v : region) {
          meta.writeVLong(v);
        }
      }
      numForwardFields++;
    }
    if (theirs.isEmpty() == false) {
      if (delegate != null) {
        throw new IllegalStateException("write called twice with positional fields");
      }
      delegate =
          new Lucene912PostingsFormat()
              .fieldsConsumer(
                  new SegmentWriteState(
                      state, SparsePostingsFormat.delegateSuffix(state.segmentSuffix)));
      delegate.write(new SubsetFields(fields, theirs), norms);
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    boolean success = false;
    try {
      String metaName =
          IndexFileNames.segmentFileName(
              state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.META_EXTENSION);
      try (IndexOutput meta = state.directory.createOutput(metaName, state.context)) {
        CodecUtil.writeIndexHeader(
            meta,
            SparsePostingsFormat.META_CODEC,
            SparsePostingsFormat.VERSION_CURRENT,
            state.segmentInfo.getId(),
            state.segmentSuffix);
        meta.writeVInt(delegatedFieldNumbers.size());
        for (int number : delegatedFieldNumbers) {
          meta.writeVInt(number);
        }
        meta.writeVInt(numForwardFields);
        forwardMeta.copyTo(meta);
        CodecUtil.writeFooter(meta);
      }
      if (forwardOut != null) {
        CodecUtil.writeFooter(forwardOut);
      }
      success = true;
    } finally {
      if (success) {
        IOUtils.close(own, delegate, forwardOut);
      } else {
        IOUtils.closeWhileHandlingException(own, delegate, forwardOut);
      }
    }
  }

  /** A view of some of the fields of a {@link Fields}, in the same (sorted) order. */
  private static final class SubsetFields extends Fields {
    private final Fields in;
    private final List<String> names;

    SubsetFields(Fields in, List<String> names) {
      this.in = in;
      this.names = names;
    }

    @Override
    public Iterator<String> iterator() {
      return names.iterator();
    }

    @Override
    public Terms terms(String field) throws IOException {
      return names.contains(field) ? in.terms(field) : null;
    }

    @Override
    public int size() {
      return names.size();
    }
  }
}
