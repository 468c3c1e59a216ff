package org.neuralsolr.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.Utils;

/** Documents of the example's SciFact sample, for tests that need real text. */
final class SampleDocs {
  private SampleDocs() {}

  static List<SolrInputDocument> first(int n) {
    List<SolrInputDocument> docs = new ArrayList<>();
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(
                SampleDocs.class.getClassLoader().getResourceAsStream("org/neuralsolr/example/scifact-sample.jsonl"),
                StandardCharsets.UTF_8))) {
      String line;
      while (docs.size() < n && (line = reader.readLine()) != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) Utils.fromJSONString(line);
        SolrInputDocument doc = new SolrInputDocument();
        doc.addField("id", json.get("_id"));
        doc.addField("title", json.get("title"));
        doc.addField("text", json.get("text"));
        // a keyword facet for filter tests: abstracts whose id is even
        doc.addField("parity_s", Long.parseLong((String) json.get("_id")) % 2 == 0 ? "even" : "odd");
        docs.add(doc);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return docs;
  }
}
