package org.neuralsolr.codecs.multivector;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.tests.index.BaseDocValuesFormatTestCase;
import org.apache.lucene.tests.util.TestUtil;

/**
 * Lucene's doc-values conformance suite. None of its fields carries the multi-vector attributes, so
 * this checks the delegation (and the format's own files being there, empty, alongside).
 */
public class TestMultiVectorDocValuesFormat extends BaseDocValuesFormatTestCase {

  private final Codec codec = TestUtil.alwaysDocValuesFormat(new MultiVectorDocValuesFormat());

  @Override
  protected Codec getCodec() {
    return codec;
  }
}
