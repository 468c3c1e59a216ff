package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.analysis.MockAnalyzer;
import org.apache.lucene.tests.util.LineFileDocs;
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

  /**
   * Lucene's version is nightly and indexes positions, which this format delegates. This one
   * indexes real text as DOCS_AND_FREQS, through this format's own layout, and lets CheckIndex
   * verify postings and impacts.
   */
  @Override
  public void testLineFileDocs() throws IOException {
    FieldType type = new FieldType(TextField.TYPE_NOT_STORED);
    type.setIndexOptions(IndexOptions.DOCS_AND_FREQS);
    type.setOmitNorms(random().nextBoolean());
    type.freeze();
    try (Directory dir = newDirectory();
        LineFileDocs docs = new LineFileDocs(random())) {
      IndexWriterConfig iwc = new IndexWriterConfig(new MockAnalyzer(random())).setCodec(codec);
      try (IndexWriter w = new IndexWriter(dir, iwc)) {
        int numDocs = atLeast(1000);
        for (int i = 0; i < numDocs; i++) {
          Document doc = new Document();
          doc.add(new Field("body", docs.nextDoc().get("body"), type));
          w.addDocument(doc);
        }
        w.forceMerge(1);
      }
      assertTrue(TestUtil.checkIndex(dir).clean);
    }
  }
}
