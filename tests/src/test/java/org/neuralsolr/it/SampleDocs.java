package org.neuralsolr.it;

import java.util.List;
import org.apache.solr.common.SolrInputDocument;
import org.neuralsolr.example.ExampleData;

/** The example's SciFact abstracts, with a keyword field for filter tests. */
final class SampleDocs {
  private SampleDocs() {}

  static List<SolrInputDocument> first(int n) {
    List<SolrInputDocument> docs = ExampleData.documents(n);
    for (SolrInputDocument doc : docs) {
      // a keyword facet for filter tests: abstracts whose id is even
      doc.addField("parity_s", Long.parseLong((String) doc.getFieldValue("id")) % 2 == 0 ? "even" : "odd");
    }
    return docs;
  }
}
