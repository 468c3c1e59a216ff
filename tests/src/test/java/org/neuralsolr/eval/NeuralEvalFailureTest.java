package org.neuralsolr.eval;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.lucene.tests.util.LuceneTestCase.SuppressFileSystems;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * The evaluation tool ends every failed run with a non-zero exit code and one line saying why, and
 * leaves no thread of its own running (issue 20: a refused batch used to leave the ingest senders
 * waiting on their queue, and the JVM hung).
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
// ExtrasFS plants stray files and folders in new directories, which a dataset or Solr home never has
@SuppressFileSystems("ExtrasFS")
public class NeuralEvalFailureTest extends SolrTestCase {
  /** Documents of the dataset whose load Solr refuses: several batches, so senders and queue are busy. */
  private static final int DOCUMENTS = 500;

  /** Lucene refuses a term (here the unique key) longer than 32,766 UTF-8 bytes. */
  private static final int IMMENSE_ID_CHARS = 40_000;

  public void testARefusedBatchEndsTheRunWithItsReason() throws Exception {
    Path root = repositoryCopy();
    Path dataset = createTempDir("refused");
    StringBuilder corpus = new StringBuilder();
    for (int i = 0; i < DOCUMENTS; i++) {
      String id = i == 70 ? "x".repeat(IMMENSE_ID_CHARS) : "d" + i;
      corpus.append("{\"_id\": \"").append(id).append("\", \"title\": \"title ").append(i).append("\", \"text\": \"words of document ").append(i).append("\"}\n");
    }
    writeDataset(dataset, corpus.toString());

    Outcome outcome = runTool(root, "--dataset", dataset.toString(), "--pipeline", "bm25");

    assertEquals(outcome.err, 1, outcome.code);
    String reason = outcome.reasonLine();
    assertTrue(reason, reason.contains("Solr refused the batch of documents d64 to d127"));
    assertTrue(reason, reason.contains("32766")); // Lucene's limit, quoted in Solr's answer
    assertTrue(reason, reason.length() < 2_100); // the 40,000-character id is shortened
    assertTrue("took " + outcome.millis + " ms", outcome.millis < 60_000);
    assertNoThreadLeft(outcome.threadsBefore);
  }

  public void testSolrThatCannotStartEndsTheRun() throws Exception {
    Path root = repositoryCopy();
    Path home = Files.createDirectories(root.resolve(".eval/solr-home"));
    Files.writeString(home.resolve("solr.xml"), "<solr><int name=\"nope\">not a number</int></solr>\n");
    Path dataset = createTempDir("small");
    writeDataset(dataset, "{\"_id\": \"d1\", \"title\": \"a\", \"text\": \"b\"}\n");

    Outcome outcome = runTool(root, "--dataset", dataset.toString(), "--pipeline", "bm25");

    assertEquals(outcome.err, 1, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains("Solr did not start over " + home));
    assertTrue("took " + outcome.millis + " ms", outcome.millis < 60_000);
    assertNoThreadLeft(outcome.threadsBefore);
  }

  public void testUnreachableSolrEndsTheRun() throws Exception {
    Path dataset = createTempDir("small");
    writeDataset(dataset, "{\"_id\": \"d1\", \"title\": \"a\", \"text\": \"b\"}\n");

    Outcome outcome = runTool(repositoryCopy(), "--dataset", dataset.toString(), "--pipeline", "bm25", "--solr", "http://127.0.0.1:9/solr");

    assertEquals(outcome.err, 1, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains("127.0.0.1:9"));
    assertTrue("took " + outcome.millis + " ms", outcome.millis < 30_000);
    assertNoThreadLeft(outcome.threadsBefore);
  }

  public void testMissingDatasetIsNamed() throws Exception {
    Path missing = createTempDir().resolve("no-such-dataset");

    Outcome outcome = runTool(repositoryCopy(), "--dataset", missing.toString(), "--pipeline", "bm25");

    assertEquals(outcome.err, 1, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains(missing + " is not a BEIR dataset"));
    assertTrue("took " + outcome.millis + " ms", outcome.millis < 5_000);
  }

  public void testMissingSplitIsNamed() throws Exception {
    Path dataset = createTempDir("small");
    writeDataset(dataset, "{\"_id\": \"d1\", \"title\": \"a\", \"text\": \"b\"}\n");

    Outcome outcome = runTool(repositoryCopy(), "--dataset", dataset.toString(), "--pipeline", "bm25", "--split", "dev");

    assertEquals(outcome.err, 1, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains("no such file: " + dataset.resolve("qrels/dev.tsv")));
  }

  public void testMalformedCorpusIsNamed() throws Exception {
    Path dataset = createTempDir("malformed");
    writeDataset(dataset, "{\"_id\": \"d1\", \"title\": \"a\", \"text\": \"b\"}\n[\"not an object\"]\n");

    Outcome outcome = runTool(repositoryCopy(), "--dataset", dataset.toString(), "--pipeline", "bm25");

    assertEquals(outcome.err, 1, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains("expected a JSON object at line 2"));
    assertNoThreadLeft(outcome.threadsBefore);
  }

  public void testUnknownPipelineIsAWrongCommandLine() throws Exception {
    Outcome outcome = runTool(repositoryCopy(), "--dataset", "whatever", "--pipeline", "bm26");

    assertEquals(outcome.err, 2, outcome.code);
    assertTrue(outcome.reasonLine(), outcome.reasonLine().contains("unknown pipeline 'bm26'; pipelines are [bm25, dense"));
    assertTrue("took " + outcome.millis + " ms", outcome.millis < 5_000);
  }

  public void testBadParamsAreAWrongCommandLine() throws Exception {
    Path root = repositoryCopy();
    Outcome unknown = runTool(root, "--dataset", "whatever", "--pipeline", "dense", "--param", "nbits=2");
    assertEquals(unknown.err, 2, unknown.code);
    assertTrue(unknown.reasonLine(), unknown.reasonLine().contains("pipeline 'dense' has no setting 'nbits'; its settings are [model, package, topK]"));

    Outcome notANumber = runTool(root, "--dataset", "whatever", "--pipeline", "bm25", "--param", "topK=many");
    assertEquals(notANumber.err, 2, notANumber.code);
    assertTrue(notANumber.reasonLine(), notANumber.reasonLine().contains("topK must be a whole number, got 'many'"));

    Outcome noValue = runTool(root, "--dataset", "whatever", "--pipeline", "bm25", "--param");
    assertEquals(noValue.err, 2, noValue.code);
    assertTrue(noValue.reasonLine(), noValue.reasonLine().contains("option --param needs a value"));
    assertTrue(noValue.err, noValue.err.contains("usage: neural-eval"));
  }

  public void testReasonIsOneShortLine() {
    String id = "y".repeat(50_000);
    String reason = NeuralEval.reason(new IOException("Exception writing document id " + id + " to\nthe index;\r\n\u0000\u001b[31m possible"));
    assertEquals("Exception writing document id " + "y".repeat(100) + "…(50000 characters) to the index; [31m possible", reason);
  }

  /** The tool's result, what it wrote on stderr, and how long it took. */
  private record Outcome(int code, String err, long millis, Set<Thread> threadsBefore) {
    /** The one line that says why the run failed. */
    String reasonLine() {
      List<String> reasons = new ArrayList<>();
      for (String line : err.split("\n", -1)) {
        if (line.startsWith(NeuralEval.FAILURE_PREFIX)) {
          reasons.add(line);
        }
      }
      assertEquals(err, 1, reasons.size());
      return reasons.get(0);
    }
  }

  private static Outcome runTool(Path root, String... args) {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long start = System.nanoTime();
    int code;
    try (PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)) {
      code = NeuralEval.run(args, root, out, errStream);
    }
    return new Outcome(code, err.toString(StandardCharsets.UTF_8), (System.nanoTime() - start) / 1_000_000, before);
  }

  /**
   * No thread started during the run and not a daemon is alive a few seconds after it returned
   * (Jetty's last threads end shortly after its stop returns).
   */
  private static void assertNoThreadLeft(Set<Thread> before) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    List<String> alive;
    do {
      alive = new ArrayList<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (!before.contains(t) && t.isAlive() && !t.isDaemon()) {
          alive.add(t.getName());
        }
      }
      if (alive.isEmpty()) {
        return;
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    fail("threads left running: " + alive);
  }

  /** A repository for the tool to run in: the configset in conf/, and .eval/ written in a temp dir. */
  private static Path repositoryCopy() throws IOException {
    Path root = createTempDir("repository");
    Path conf = Files.createDirectories(root.resolve("conf"));
    try (Stream<Path> files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return root;
  }

  private static void writeDataset(Path dir, String corpus) throws IOException {
    Files.writeString(dir.resolve("corpus.jsonl"), corpus, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("queries.jsonl"), "{\"_id\": \"q1\", \"text\": \"words\"}\n", StandardCharsets.UTF_8);
    Files.createDirectories(dir.resolve("qrels"));
    Files.writeString(dir.resolve("qrels/test.tsv"), "query-id\tcorpus-id\tscore\nq1\td1\t1\n", StandardCharsets.UTF_8);
  }
}
