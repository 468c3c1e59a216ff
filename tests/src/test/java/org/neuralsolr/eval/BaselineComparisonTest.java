package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class BaselineComparisonTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  @Test
  public void overlapCountsTheBaselinesTopTenAndLatencyIsBaselineOverThis() throws IOException {
    Run.Builder base = Run.builder();
    Run.Builder ours = Run.builder();
    for (int i = 0; i < 12; i++) {
      base.add("q1", "d" + i, 100 - i);
      // q1: ours swaps d9 (baseline rank 10) for d10 (rank 11): 9 of 10 kept
      ours.add("q1", "d" + i, i == 9 ? 0 : 100 - i);
      base.add("q2", "e" + i, 100 - i);
    }
    // q2: ours finds only 3 documents, two of them in the baseline's top 10
    ours.add("q2", "e0", 3);
    ours.add("q2", "e5", 2);
    ours.add("q2", "x", 1);
    Path dir = files.newFolder().toPath();
    base.build().writeTrec(dir.resolve("base.trec"), "base");
    Files.writeString(
        dir.resolve("base.json"),
        "{\"pipeline\":\"p\",\"runFile\":\"base.trec\",\"queries\":{"
            + "\"latencyMs\":{\"p50\":50.0,\"mean\":60.0},\"qtimeMs\":{\"p50\":40.0,\"mean\":45.0}}}");
    Map<String, Object> timing =
        Map.of("latencyMs", Map.of("p50", 10.0, "mean", 20.0), "qtimeMs", Map.of("p50", 8.0, "mean", 9.0));

    Map<String, Object> c = NeuralEval.compareWithBaseline(dir.resolve("base.json"), ours.build(), timing);

    assertEquals(2, c.get("queries"));
    assertEquals((0.9 + 0.2) / 2, (Double) c.get("top10Overlap"), 1e-9);
    assertEquals(5.0, (Double) c.get("latencyMs_p50_baselineOverThis"), 1e-9);
    assertEquals(3.0, (Double) c.get("latencyMs_mean_baselineOverThis"), 1e-9);
    assertEquals(5.0, (Double) c.get("qtimeMs_p50_baselineOverThis"), 1e-9);
    assertEquals(5.0, (Double) c.get("qtimeMs_mean_baselineOverThis"), 1e-9);
  }
}
