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
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.util.IOUtils;

/** Reads what {@link SparseFieldsConsumer} wrote. */
final class SparseFieldsProducer extends FieldsProducer {

  private final FieldsProducer own;
  private final FieldsProducer delegate;
  private final Set<String> delegatedFields;
  private final List<String> allFields;

  SparseFieldsProducer(SegmentReadState state) throws IOException {
    Set<String> delegated = new HashSet<>();
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
      } catch (Throwable t) {
        priorE = t;
      } finally {
        CodecUtil.checkFooter(meta, priorE);
      }
    }
    this.delegatedFields = delegated;

    FieldsProducer ownProducer = null;
    FieldsProducer delegateProducer = null;
    SparsePostingsReader postingsReader = new SparsePostingsReader(state);
    boolean success = false;
    try {
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
        IOUtils.closeWhileHandlingException(ownProducer, delegateProducer, postingsReader);
      }
    }
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
    return own.terms(field);
  }

  @Override
  public int size() {
    return allFields.size();
  }

  @Override
  public void checkIntegrity() throws IOException {
    own.checkIntegrity();
    if (delegate != null) {
      delegate.checkIntegrity();
    }
  }

  @Override
  public void close() throws IOException {
    IOUtils.close(own, delegate);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(delegated=" + delegatedFields + ")";
  }
}
