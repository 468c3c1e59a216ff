package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Our metrics against NIST trec_eval 9.0.4 itself, per query and on the mean, on real BM25 runs
 * over SciFact and on adversarial synthetic runs; and, so that agreement means something, wrong
 * variants of the ranking rules shown to disagree. Fails (never skips) when trec_eval or the data
 * is missing.
 */
public class TrecEvalAgreementTest {
  @ClassRule public static final TemporaryFolder FILES = new TemporaryFolder();

  private static ScifactBm25 scifact;
  private static Run bm25Top1000;
  private static AdversarialRuns.Case adversarial;

  /** Score descending, then doc id ascending: the commonest mistake. */
  private static final Comparator<ScoredDoc> ASCENDING_ID_TIE_BREAK = (a, b) -> {
    int byScore = Float.compare((float) b.score(), (float) a.score());
    return byScore != 0 ? byScore : TrecOrder.compareAsUtf8(a.docId(), b.docId());
  };
  /** Right tie-break, but scores compared as doubles (trec_eval 10's behaviour, not 9.x's). */
  private static final Comparator<ScoredDoc> DOUBLE_SCORES = (a, b) -> {
    if (a.score() != b.score()) {
      return a.score() > b.score() ? -1 : 1;
    }
    return TrecOrder.compareAsUtf8(b.docId(), a.docId());
  };
  /** Right everything, but ids compared as Java strings (UTF-16 units). */
  private static final Comparator<ScoredDoc> UTF16_IDS = (a, b) -> {
    float sa = (float) a.score();
    float sb = (float) b.score();
    if (sa != sb) {
      return sa > sb ? -1 : 1;
    }
    return b.docId().compareTo(a.docId());
  };

  @BeforeClass
  public static void buildRuns() throws IOException {
    TrecEvalOracle.requireAvailable();
    long start = System.nanoTime();
    scifact = ScifactBm25.open();
    bm25Top1000 = scifact.run(1000);
    adversarial = AdversarialRuns.build(20251122L);
    System.out.printf("SciFact BM25 index (%d docs) and 300 queries: %.1f s%n",
        scifact.documents, (System.nanoTime() - start) / 1e9);
  }

  @Test
  public void bm25Top1000AgreesWithTrecEval() throws IOException {
    Agreement agreement = assertAgrees(scifact.testQrels, bm25Top1000, false);
    MetricsReport report = agreement.report;
    assertEquals(300, report.perQuery().size());
    System.out.println("SciFact test, Lucene BM25 k1=0.9 b=0.4, top 1000:\n" + report);
    // loose sanity bounds around Anserini's flat BM25 (0.6789 / 0.9253): a broken index or query
    // would land far outside, while analysis differences from Anserini stay inside
    assertTrue(report.summaryLine(), Math.abs(report.mean().ndcgAt10() - 0.6789) < 0.03);
    assertTrue(report.summaryLine(), Math.abs(report.mean().recallAt100() - 0.9253) < 0.03);
  }

  @Test
  public void bm25Top100AgreesWithTrecEval() throws IOException {
    assertAgrees(scifact.testQrels, scifact.run(100), false);
  }

  @Test
  public void runFileReadBackEvaluatesTheSame() throws IOException {
    Path file = FILES.newFile().toPath();
    bm25Top1000.writeTrec(file, "bm25");
    MetricsReport reread = TrecEvaluator.evaluate(scifact.testQrels, Run.readTrec(file));
    MetricsReport direct = TrecEvaluator.evaluate(scifact.testQrels, bm25Top1000);
    assertEquals(direct.perQuery(), reread.perQuery());
  }

  @Test
  public void summaryLinePrintsWhatTrecEvalPrints() throws IOException {
    TrecEvalOracle.Output trecEval =
        TrecEvalOracle.evaluate(scifact.testQrels, bm25Top1000, false, FILES.getRoot().toPath());
    String expected = "ndcg@10=" + TrecFormat.fourDecimals(trecEval.mean("ndcg_cut_10"))
        + " recall@100=" + TrecFormat.fourDecimals(trecEval.mean("recall_100"));
    MetricsReport report = TrecEvaluator.evaluate(scifact.testQrels, bm25Top1000);
    assertEquals(expected, report.summaryLine());
    String[] lines = report.toString().split("\n");
    assertEquals(report.summaryLine(), lines[lines.length - 1]);
  }

  /** BM25 scores cut to integers: real qrels, real documents, and ties on most ranks. */
  @Test
  public void tieHeavyBm25AgreesWithTrecEvalAndAscendingTieBreakDoesNot() throws IOException {
    Run.Builder rounded = Run.builder();
    for (String queryId : bm25Top1000.queryIds()) {
      for (ScoredDoc doc : bm25Top1000.docs(queryId)) {
        rounded.add(queryId, doc.docId(), Math.floor(doc.score()));
      }
    }
    Run run = rounded.build();
    assertAgrees(scifact.testQrels, run, false);
    assertDisagrees(scifact.testQrels, run, ASCENDING_ID_TIE_BREAK);
  }

  @Test
  public void adversarialRunAgreesWithTrecEval() throws IOException {
    assertAgrees(adversarial.qrels(), adversarial.run(), false);
  }

  @Test
  public void adversarialRunAgreesWithTrecEvalCountingMissingQueries() throws IOException {
    Agreement agreement = assertAgrees(adversarial.qrels(), adversarial.run(), true);
    assertEquals(List.of("q-not-in-run"), List.copyOf(agreement.report.queriesMissingFromRun()));
    assertEquals(1, agreement.report.runQueriesWithoutQrels());
  }

  @Test
  public void ascendingDocIdTieBreakWouldFail() throws IOException {
    assertDisagrees(adversarial.qrels(), adversarial.run(), ASCENDING_ID_TIE_BREAK);
  }

  @Test
  public void comparingScoresAsDoublesWouldFail() throws IOException {
    Agreement.Difference largest =
        assertDisagrees(adversarial.qrels(), adversarial.run(), DOUBLE_SCORES);
    assertTrue(largest.toString(), largest.queryId().equals("q-float-ties") || largest.queryId().equals("all"));
  }

  @Test
  public void comparingIdsAsUtf16WouldFail() throws IOException {
    Run.Builder utf8Only = Run.builder();
    for (ScoredDoc doc : adversarial.run().docs("q-utf8")) {
      utf8Only.add("q-utf8", doc.docId(), doc.score());
    }
    assertDisagrees(adversarial.qrels(), utf8Only.build(), UTF16_IDS);
  }

  /**
   * Two thirds of the test queries retrieved, plus training queries the test qrels do not judge:
   * the default mean covers the 200, -c covers all 300 with the missing ones at 0.
   */
  @Test
  public void missingAndUnjudgedQueriesCountAsInTrecEval() throws IOException {
    Run.Builder partial = Run.builder();
    int kept = 0;
    for (String queryId : bm25Top1000.queryIds()) {
      if (kept++ % 3 == 2) {
        continue;
      }
      for (ScoredDoc doc : bm25Top1000.docs(queryId)) {
        partial.add(queryId, doc.docId(), doc.score());
      }
    }
    Qrels trainQrels = scifact.dataset.qrels("train");
    int unjudged = 0;
    for (String queryId : trainQrels.queryIds()) {
      if (unjudged++ == 25) {
        break;
      }
      partial.add(queryId, "4983", 1.0);
    }
    Run run = partial.build();
    Agreement byDefault = assertAgrees(scifact.testQrels, run, false);
    assertAgrees(scifact.testQrels, run, true);
    assertEquals(200, byDefault.report.perQuery().size());
    assertEquals(100, byDefault.report.queriesMissingFromRun().size());
    assertEquals(25, byDefault.report.runQueriesWithoutQrels());
    assertNotEquals(byDefault.report.mean(), byDefault.report.meanCountingMissingAsZero());
  }

  /**
   * Values on a rounding tie (1/32 = 0.03125 and 3/32 = 0.09375 are exact binary fractions) print as
   * glibc's printf prints them, half to even, which {@code String.format} would not do.
   */
  @Test
  public void printedValuesRoundLikeTrecEval() throws IOException {
    Qrels.Builder qrels = new Qrels.Builder();
    Run.Builder run = Run.builder();
    for (int retrieved : new int[] {1, 3}) {
      String queryId = "tie" + retrieved;
      for (int i = 0; i < 32; i++) {
        qrels.add(queryId, "d" + i, 1);
      }
      for (int i = 0; i < retrieved; i++) {
        run.add(queryId, "d" + i, 1.0);
      }
    }
    Qrels judged = qrels.build();
    Run retrieved = run.build();
    TrecEvalOracle.Output trecEval =
        TrecEvalOracle.evaluate(judged, retrieved, false, FILES.getRoot().toPath());
    MetricsReport report = TrecEvaluator.evaluate(judged, retrieved);
    for (String queryId : List.of("tie1", "tie3")) {
      double ours = report.perQuery().get(queryId).recallAt100();
      double theirs = trecEval.valuesByMeasure().get("recall_100").get(queryId);
      assertEquals(TrecFormat.fourDecimals(theirs), TrecFormat.fourDecimals(ours));
    }
    // half-up, as String.format rounds, would print 0.0313 where trec_eval prints 0.0312
    assertEquals("0.0313", String.format(Locale.ROOT, "%.4f", report.perQuery().get("tie1").recallAt100()));
  }

  /** trec_eval stops with exit code 4 on a repeated doc; we refuse such a run when it is built. */
  @Test
  public void duplicateDocIdsAreRefusedLikeTrecEval() throws IOException {
    Path qrelsFile = FILES.newFile().toPath();
    Path runFile = FILES.newFile().toPath();
    scifact.testQrels.writeTrec(qrelsFile);
    String queryId = scifact.testQrels.queryIds().iterator().next();
    String docId = scifact.testQrels.judgments(queryId).keySet().iterator().next();
    List<String> lines = new ArrayList<>();
    lines.add(queryId + " Q0 " + docId + " 1 2.0 dup");
    lines.add(queryId + " Q0 other 2 1.5 dup");
    lines.add(queryId + " Q0 " + docId + " 3 1.0 dup");
    Files.write(runFile, lines, StandardCharsets.UTF_8);

    assertEquals(4, TrecEvalOracle.exitCode(qrelsFile, runFile));
    try {
      Run.readTrec(runFile);
      fail("a run with a repeated doc was accepted");
    } catch (IOException expected) {
      assertTrue(expected.getMessage(), expected.getMessage().contains("retrieved twice"));
    }
    // the same file without the repeat is fine for both
    Files.write(runFile, lines.subList(0, 2), StandardCharsets.UTF_8);
    assertEquals(0, TrecEvalOracle.exitCode(qrelsFile, runFile));
  }

  private static Agreement assertAgrees(Qrels qrels, Run run, boolean averageOverAllQrelsQueries)
      throws IOException {
    TrecEvalOracle.Output trecEval =
        TrecEvalOracle.evaluate(qrels, run, averageOverAllQrelsQueries, FILES.getRoot().toPath());
    Agreement agreement = Agreement.compare(
        qrels, run, TrecOrder.TREC_EVAL, trecEval, averageOverAllQrelsQueries);
    assertEquals("", agreement.querySetMismatch);
    List<Agreement.Difference> beyond = agreement.beyond(Agreement.PRINTED_PRECISION);
    assertTrue(beyond.size() + " of " + agreement.differences.size() + " values differ from trec_eval: "
        + beyond.subList(0, Math.min(20, beyond.size())), beyond.isEmpty());
    return agreement;
  }

  /** The variant must miss trec_eval by far more than the agreement tolerance. */
  private static Agreement.Difference assertDisagrees(
      Qrels qrels, Run run, Comparator<ScoredDoc> wrongOrder) throws IOException {
    TrecEvalOracle.Output trecEval =
        TrecEvalOracle.evaluate(qrels, run, false, FILES.getRoot().toPath());
    Agreement agreement = Agreement.compare(qrels, run, wrongOrder, trecEval, false);
    Agreement.Difference largest = agreement.largest();
    System.out.println("wrong variant, largest difference from trec_eval: " + largest + " ("
        + agreement.beyond(Agreement.PRINTED_PRECISION).size() + " values differ)");
    assertTrue("a wrong ranking order agrees with trec_eval; largest difference " + largest,
        largest.size() > 1e-2);
    return largest;
  }
}
