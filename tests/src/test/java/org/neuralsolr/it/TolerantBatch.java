package org.neuralsolr.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.UpdateResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.NamedList;

/**
 * One update request of good documents mixed with one bad document of each kind the neural chains
 * must refuse: no source text where the field requires it and a vector of the wrong dimension
 * (refused by the neural processor when they arrive), and NaN sparse weights (refused by the schema
 * after the neural processor held and encoded the document). Sent through the configset's {@code
 * neural-tolerant} chain, to a core created with {@code neural.requireText=true}.
 */
final class TolerantBatch {
  static final int GOOD = 12;
  /** Bad document id suffix → a part of the error Solr must report for it. */
  static final Map<String, String> BAD =
      Map.of(
          "no-text", "field 'vector': none of its source fields [title, text] has text to encode",
          "short-vector", "field 'vector'",
          "nan-weights-1", "NaN",
          "nan-weights-2", "NaN",
          "nan-weights-3", "NaN");

  private final String prefix;

  TolerantBatch(String prefix) {
    this.prefix = prefix;
  }

  String id(String suffix) {
    return prefix + suffix;
  }

  /** The documents in a fixed order, bad ones between good ones. */
  List<SolrInputDocument> documents() {
    List<SolrInputDocument> docs = new ArrayList<>();
    List<SolrInputDocument> sample = SampleDocs.first(GOOD);
    for (int i = 0; i < GOOD; i++) {
      SolrInputDocument d = sample.get(i);
      d.setField("id", id("good-" + i));
      docs.add(d);
    }
    docs.add(3, new SolrInputDocument("id", id("no-text"), "parity_s", "odd"));
    SolrInputDocument shortVector = new SolrInputDocument("id", id("short-vector"), "title", "x", "text", "y");
    shortVector.addField("vector", List.of(1.0f, 2.0f, 3.0f));
    docs.add(6, shortVector);
    for (int i = 1; i <= 3; i++) {
      SolrInputDocument nan = new SolrInputDocument("id", id("nan-weights-" + i), "title", "Solar", "text", "Solar panels " + i);
      nan.addField("sparse", "solar:1.5,panel:NaN");
      docs.add(2 * i + 5, nan);
    }
    return docs;
  }

  Set<String> goodIds() {
    Set<String> ids = new TreeSet<>();
    for (int i = 0; i < GOOD; i++) {
      ids.add(id("good-" + i));
    }
    return ids;
  }

  Set<String> badIds() {
    Set<String> ids = new TreeSet<>();
    BAD.keySet().forEach(s -> ids.add(id(s)));
    return ids;
  }

  UpdateRequest request(String chain) {
    UpdateRequest req = new UpdateRequest();
    req.add(documents());
    req.setParam("update.chain", chain);
    return req;
  }

  /**
   * Sends the batch through the tolerant chain and checks that each bad document is listed in the
   * response's {@code errors} with its reason, and that after a commit exactly the good documents
   * are in the index, each with its vector.
   */
  void assertTolerated(SolrClient client, String collection) throws Exception {
    UpdateResponse rsp = request("neural-tolerant").process(client, collection);
    Map<String, String> errors = errors(rsp.getResponseHeader());
    assertEquals("errors: " + errors, badIds(), new TreeSet<>(errors.keySet()));
    for (Map.Entry<String, String> bad : BAD.entrySet()) {
      String message = errors.get(id(bad.getKey()));
      assertTrue(bad.getKey() + ": " + message, message.contains(bad.getValue()));
    }
    client.commit(collection);
    assertEquals(goodIds(), indexed(client, collection, "id:" + prefix + "*"));
    // every good document got its vector: an exhaustive {!knn} finds each of them
    assertEquals(goodIds(), indexed(client, collection, "{!dense f=vector model=bge-small topK=1000}solar panels", "id:" + prefix + "*"));
  }

  static Set<String> indexed(SolrClient client, String collection, String q, String... fq) throws Exception {
    SolrQuery query = new SolrQuery(q).setFields("id").setRows(1000).addFilterQuery(fq);
    Set<String> ids = new TreeSet<>();
    for (SolrDocument d : client.query(collection, query).getResults()) {
      ids.add((String) d.getFieldValue("id"));
    }
    return ids;
  }

  /** The {@code errors} section of TolerantUpdateProcessor's response header: id → message. */
  static Map<String, String> errors(NamedList<?> header) {
    Map<String, String> errors = new LinkedHashMap<>();
    Object list = header.get("errors");
    if (list == null) {
      return errors;
    }
    for (Object e : (List<?>) list) {
      Object id = e instanceof NamedList ? ((NamedList<?>) e).get("id") : ((Map<?, ?>) e).get("id");
      Object message = e instanceof NamedList ? ((NamedList<?>) e).get("message") : ((Map<?, ?>) e).get("message");
      errors.put(String.valueOf(id), String.valueOf(message));
    }
    return errors;
  }
}
