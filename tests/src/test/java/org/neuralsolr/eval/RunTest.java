package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class RunTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  @Test
  public void writesRanksInTrecEvalOrderAndReadsBackExactScores() throws IOException {
    double[] scores = {0.1, 1e-300, 12345.678901234567, -0.0, 0.3f, Double.MAX_VALUE, -2.5, 1.0 / 3};
    Run.Builder builder = Run.builder();
    for (int i = 0; i < scores.length; i++) {
      builder.add("q1", "d" + i, scores[i]);
    }
    builder.add("q2", "\u00e9t\u00e9", 1.0);
    Run run = builder.build();
    Path file = files.newFile().toPath();
    run.writeTrec(file, "tag");

    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<ScoredDoc> ranked = run.ranked("q1");
    for (int i = 0; i < ranked.size(); i++) {
      List<String> fields = TrecFormat.fields(lines.get(i));
      assertEquals(List.of("q1", "Q0", ranked.get(i).docId(), Integer.toString(i + 1)),
          fields.subList(0, 4));
      assertEquals("tag", fields.get(5));
    }
    Run reread = Run.readTrec(file);
    assertEquals(List.of("q1", "q2"), List.copyOf(reread.queryIds()));
    for (String queryId : run.queryIds()) {
      assertEquals(run.ranked(queryId), reread.ranked(queryId));
    }
  }

  @Test
  public void readsLikeTrecEval() throws IOException {
    Path file = files.newFile().toPath();
    Files.writeString(file,
        "\n  q1\tQ0  d1 99 1.5 tag extra fields\r\n\n"
            + "q1 0 d2 1 2.5 tag\n"
            + "q1 Q0 d3 1 2.5 tag", // no final newline, rank column ignored
        StandardCharsets.UTF_8);
    Run run = Run.readTrec(file);
    assertEquals(List.of("d3", "d2", "d1"),
        run.ranked("q1").stream().map(ScoredDoc::docId).toList());
  }

  @Test
  public void refusesWhatTrecEvalCannotRead() throws IOException {
    assertReadFails("q1 Q0 d1 1 1.0\n", ":1:");
    assertReadFails("q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 high t\n", ":2:");
    assertReadFails("q1 Q0 d1 1 1.0 t\nq1 Q0 d1 2 0.5 t\n", "retrieved twice");
    assertReadFails("q1 Q0 d1 1 NaN t\n", "NaN");
  }

  @Test
  public void refusesIdsWithWhitespace() {
    try {
      Run.builder().add("q 1", "d1", 1.0);
      fail();
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("whitespace"));
    }
  }

  private void assertReadFails(String content, String message) throws IOException {
    Path file = files.newFile().toPath();
    Files.writeString(file, content, StandardCharsets.UTF_8);
    try {
      Run.readTrec(file);
      fail("read: " + content);
    } catch (IOException expected) {
      assertTrue(expected.getMessage(), expected.getMessage().contains(message));
    }
  }
}
