package org.neuralsolr.codecs.sparse;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.tests.index.BasePostingsFormatTestCase;
import org.apache.lucene.tests.util.TestUtil;

/**
 * Lucene's conformance suite. DOCS and DOCS_AND_FREQS fields (testDocsOnly, testDocsAndFreqs, and
 * the random ones) run through this format's own layout; positional fields through the delegate.
 */
public class TestSparsePostingsFormat extends BasePostingsFormatTestCase {
  private final Codec codec = TestUtil.alwaysPostingsFormat(new SparsePostingsFormat());

  @Override
  protected Codec getCodec() {
    return codec;
  }

  /** Nightly in Lucene, cheap enough here: no skipped tests in this suite. */
  @Override
  public void testLineFileDocs() throws java.io.IOException {
    super.testLineFileDocs();
  }
}
