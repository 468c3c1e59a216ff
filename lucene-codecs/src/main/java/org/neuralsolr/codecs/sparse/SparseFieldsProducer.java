package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.FieldsProducer;
import org.apache.lucene.codecs.lucene90.blocktree.Lucene90BlockTreeTermsReader;
import org.apache.lucene.codecs.lucene912.Lucene912PostingsFormat;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.Terms;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.IOUtils;
import org.apache.lucene.util.packed.DirectMonotonicReader;

/** Reads what {@link SparseFieldsConsumer} wrote. */
final class SparseFieldsProducer extends FieldsProducer {

  private final FieldsProducer own;
  private final FieldsProducer delegate;
  private final Set<String> delegatedFields;
  private final List<String> allFields;
  private final IndexInput forwardIn; // null if no field has frequencies
  private final Map<String, SparseForwardIndex> forward = new HashMap<>();

  SparseFieldsProducer(SegmentReadState state) throws IOException {
    Set<String> delegated = new HashSet<>();
    Map<String, DirectMonotonicReader.Meta> forwardMetas = new HashMap<>();
    Map<String, DirectMonotonicReader.Meta> impactMetas = new HashMap<>();
    Map<String, long[]> forwardRegions = new HashMap<>();
    String metaName =
        IndexFileNames.segmentFileName(
            state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.META_EXTENSION);
    try (ChecksumIndexInput meta = state.directory.openChecksumInput(metaName, IOContext.READONCE)) {
      Throwable priorE = null;
      try {
        CodecUtil.checkIndexHeader(
            meta,
            SparsePostingsFormat.META_CODEC,
            SparsePostingsFormat.VERSION_START,
            SparsePostingsFormat.VERSION_CURRENT,
            state.segmentInfo.getId(),
            state.segmentSuffix);
        int count = meta.readVInt();
        for (int i = 0; i < count; i++) {
          int number = meta.readVInt();
          FieldInfo fieldInfo = state.fieldInfos.fieldInfo(number);
          if (fieldInfo == null || SparseFieldsConsumer.isDelegated(fieldInfo) == false) {
            throw new CorruptIndexException("invalid delegated field number " + number, meta);
          }
          delegated.add(fieldInfo.name);
        }
        int numForward = meta.readVInt();
        for (int i = 0; i < numForward; i++) {
          int number = meta.readVInt();
          FieldInfo fieldInfo = state.fieldInfos.fieldInfo(number);
          if (fieldInfo == null || SparsePostingsReader.hasFreqs(fieldInfo) == false || delegated.contains(fieldInfo.name)) {
            throw new CorruptIndexException("invalid forward index field number " + number, meta);
          }
          int numOrds = meta.readVInt();
          impactMetas.put(
              fieldInfo.name,
              DirectMonotonicReader.loadMeta(meta, numOrds + 1L, SparseForwardIndex.ADDRESSES_BLOCK_SHIFT));
          forwardMetas.put(
              fieldInfo.name,
              DirectMonotonicReader.loadMeta(
                  meta, state.segmentInfo.maxDoc() + 1L, SparseForwardIndex.ADDRESSES_BLOCK_SHIFT));
          long[] region = new long[9];
          for (int j = 0; j < region.length; j++) {
            region[j] = meta.readVLong();
          }
          if (region[0] != Short.BYTES && region[0] != Integer.BYTES) {
            throw new CorruptIndexException("invalid forward index frequency width " + region[0], meta);
          }
          forwardRegions.put(fieldInfo.name, region);
        }
      } catch (Throwable t) {
        priorE = t;
      } finally {
        CodecUtil.checkFooter(meta, priorE);
      }
    }
    this.delegatedFields = delegated;

    FieldsProducer ownProducer = null;
    FieldsProducer delegateProducer = null;
    IndexInput forwardInput = null;
    SparsePostingsReader postingsReader = new SparsePostingsReader(state);
    boolean success = false;
    try {
      if (forwardMetas.isEmpty() == false) {
        forwardInput =
            state.directory.openInput(
                IndexFileNames.segmentFileName(
                    state.segmentInfo.name, state.segmentSuffix, SparsePostingsFormat.FORWARD_EXTENSION),
                state.context);
        CodecUtil.checkIndexHeader(
            forwardInput,
            SparsePostingsFormat.FORWARD_CODEC,
            SparsePostingsFormat.VERSION_START,
            SparsePostingsFormat.VERSION_CURRENT,
            state.segmentInfo.getId(),
            state.segmentSuffix);
        CodecUtil.retrieveChecksum(forwardInput);
        for (Map.Entry<String, long[]> e : forwardRegions.entrySet()) {
          long[] r = e.getValue();
          forward.put(
              e.getKey(),
              new SparseForwardIndex(
                  forwardInput.slice("forward index entries", r[1], r[2]),
                  DirectMonotonicReader.getInstance(
                      forwardMetas.get(e.getKey()), forwardInput.randomAccessSlice(r[3], r[4])),
                  (int) r[0],
                  forwardInput.slice("forward index impact lists", r[5], r[6]),
                  DirectMonotonicReader.getInstance(
                      impactMetas.get(e.getKey()), forwardInput.randomAccessSlice(r[7], r[8]))));
        }
      }
      ownProducer = new Lucene90BlockTreeTermsReader(postingsReader, state);
      if (delegated.isEmpty() == false) {
        delegateProducer =
            new Lucene912PostingsFormat()
                .fieldsProducer(
                    new SegmentReadState(
                        state, SparsePostingsFormat.delegateSuffix(state.segmentSuffix)));
      }
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(ownProducer, delegateProducer, postingsReader, forwardInput);
      }
    }
    this.forwardIn = forwardInput;
    this.own = ownProducer;
    this.delegate = delegateProducer;
    TreeSet<String> names = new TreeSet<>();
    own.forEach(names::add);
    if (delegate != null) {
      delegate.forEach(names::add);
    }
    this.allFields = Collections.unmodifiableList(new ArrayList<>(names));
  }

  @Override
  public Iterator<String> iterator() {
    return allFields.iterator();
  }

  @Override
  public Terms terms(String field) throws IOException {
    if (delegatedFields.contains(field)) {
      return delegate.terms(field);
    }
    Terms terms = own.terms(field);
    SparseForwardIndex f = forward.get(field);
    return terms == null || f == null ? terms : new SparseTerms(terms, f);
  }

  /** A field's terms, with its forward index for {@link SparseWeight}. */
  static final class SparseTerms extends FilterLeafReader.FilterTerms {
    final SparseForwardIndex forward;

    SparseTerms(Terms in, SparseForwardIndex forward) {
      super(in);
      this.forward = forward;
    }
  }

  @Override
  public int size() {
    return allFields.size();
  }

  @Override
  public void checkIntegrity() throws IOException {
    own.checkIntegrity();
    if (forwardIn != null) {
      CodecUtil.checksumEntireFile(forwardIn);
    }
    if (delegate != null) {
      delegate.checkIntegrity();
    }
  }

  @Override
  public void close() throws IOException {
    IOUtils.close(own, delegate, forwardIn);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(delegated=" + delegatedFields + ")";
  }
}
