package org.neuralsolr.example;

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

/** The example's sample: 300 SciFact abstracts (see README.md, "Data and licences"). */
public final class ExampleData {
  private static final String SAMPLE = "org/neuralsolr/example/scifact-sample.jsonl";

  private ExampleData() {}

  /** The sample's first {@code limit} abstracts as documents with {@code id}, {@code title}, {@code text}. */
  public static List<SolrInputDocument> documents(int limit) {
    List<SolrInputDocument> docs = new ArrayList<>();
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(ExampleData.class.getClassLoader().getResourceAsStream(SAMPLE), StandardCharsets.UTF_8))) {
      String line;
      while (docs.size() < limit && (line = reader.readLine()) != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) Utils.fromJSONString(line);
        SolrInputDocument doc = new SolrInputDocument();
        doc.addField("id", json.get("_id"));
        doc.addField("title", json.get("title"));
        doc.addField("text", json.get("text"));
        docs.add(doc);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return docs;
  }
}
