package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class BeirDatasetTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  /** Counts from shared/datasets/README.md. */
  @Test
  public void readsScifact() throws IOException {
    Path dir = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"), "scifact");
    BeirDataset scifact = BeirDataset.at(dir);
    Qrels test = scifact.qrels("test");
    assertEquals(300, test.queryIds().size());
    assertEquals(339, test.size());
    Qrels train = scifact.qrels("train");
    assertEquals(809, train.queryIds().size());
    assertEquals(919, train.size());
    Map<String, String> queries = scifact.queries();
    assertEquals(1109, queries.size());
    assertTrue(queries.keySet().containsAll(test.queryIds()));

    int documents = 0;
    try (BeirCorpusReader corpus = scifact.openCorpus()) {
      CorpusDocument doc;
      while ((doc = corpus.next()) != null) {
        documents++;
        assertTrue(doc.id(), !doc.text().isEmpty());
      }
      assertNull(corpus.next());
    }
    assertEquals(5183, documents);
  }

  @Test
  public void readsAwkwardJson() throws IOException {
    Path dir = dataset(
        "\uFEFF{\"_id\": \"d1\", \"title\": \"Caf\\u00e9 \\\"quoted\\\"\", \"text\": \"line\\nbreak \\ud83d\\ude00\"}\r\n"
            + "\n"
            + "{\"metadata\": {\"_id\": \"not me\", \"text\": [1, {\"title\": 2}]}, \"text\": \"t2\",\n"
            + "  \"_id\": 42, \"title\": null}\n"
            + "{\"_id\":\"d3\",\"text\":\"\u00fcml\u00e4ut\",\"extra\":[[],{}]}",
        "{\"_id\": \"q1\", \"text\": \"first\", \"metadata\": {\"d1\": [{\"sentences\": [4]}]}}\n");
    List<CorpusDocument> docs = new ArrayList<>();
    try (BeirCorpusReader corpus = BeirDataset.at(dir).openCorpus()) {
      CorpusDocument doc;
      while ((doc = corpus.next()) != null) {
        docs.add(doc);
      }
    }
    assertEquals(List.of(
        new CorpusDocument("d1", "Caf\u00e9 \"quoted\"", "line\nbreak \ud83d\ude00"),
        new CorpusDocument("42", "", "t2"),
        new CorpusDocument("d3", "", "\u00fcml\u00e4ut")), docs);
    assertEquals(Map.of("q1", "first"), BeirDataset.at(dir).queries());
  }

  @Test
  public void refusesDocumentsWithoutId() throws IOException {
    Path dir = dataset("{\"_id\": \"d1\", \"text\": \"a\"}\n{\"title\": \"no id\"}\n", "");
    try (BeirCorpusReader corpus = BeirDataset.at(dir).openCorpus()) {
      corpus.next();
      corpus.next();
      fail("a document without _id was read");
    } catch (IOException expected) {
      assertTrue(expected.getMessage(), expected.getMessage().contains("without _id"));
    }
  }

  @Test
  public void readsQrelsWithOrWithoutHeader() throws IOException {
    Path withHeader = files.newFile().toPath();
    Files.writeString(withHeader, "query-id\tcorpus-id\tscore\r\n1\td1\t1\r\n1\td2\t0\r\n2\td1\t2\r\n\r\n");
    Qrels qrels = Qrels.readBeirTsv(withHeader);
    assertEquals(List.of("1", "2"), List.copyOf(qrels.queryIds()));
    assertEquals(Map.of("d1", 1, "d2", 0), qrels.judgments("1"));
    assertEquals(Map.of(), qrels.judgments("3"));

    Path withoutHeader = files.newFile().toPath();
    Files.writeString(withoutHeader, "1\td1\t1\n");
    assertEquals(1, Qrels.readBeirTsv(withoutHeader).size());
  }

  @Test
  public void refusesQrelsTrecEvalWouldRefuse() throws IOException {
    assertQrelsFail("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td1\t2\n", "judged twice");
    assertQrelsFail("query-id\tcorpus-id\tscore\n1\td1\t0.5\n", ":2:");
    assertQrelsFail("query-id\tcorpus-id\tscore\n1\td1\n", ":2:");
  }

  @Test
  public void writesAndReadsTrecQrels() throws IOException {
    Qrels qrels = Qrels.copyOf(Map.of("q1", Map.of("d1", 3, "d2", -1), "q2", Map.of("\u00e9", 0)));
    Path file = files.newFile().toPath();
    qrels.writeTrec(file);
    Qrels reread = Qrels.readTrec(file);
    for (String queryId : qrels.queryIds()) {
      assertEquals(qrels.judgments(queryId), reread.judgments(queryId));
    }
    assertEquals(qrels.queryIds(), reread.queryIds());
  }

  private void assertQrelsFail(String content, String message) throws IOException {
    Path file = files.newFile().toPath();
    Files.writeString(file, content);
    try {
      Qrels.readBeirTsv(file);
      fail("read: " + content);
    } catch (IOException expected) {
      assertTrue(expected.getMessage(), expected.getMessage().contains(message));
    }
  }

  private Path dataset(String corpus, String queries) throws IOException {
    Path dir = files.newFolder().toPath();
    Files.writeString(dir.resolve("corpus.jsonl"), corpus, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("queries.jsonl"), queries, StandardCharsets.UTF_8);
    Files.createDirectory(dir.resolve("qrels"));
    return dir;
  }
}
