package org.neuralsolr.bench;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code ./neural-bench plaid} on a tiny index built by the bench itself (40 SciFact abstracts, 6
 * claims): the figures are measured and in range, and the query token vectors come back from the
 * cache unchanged.
 */
public class PlaidBenchTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  @Test
  public void runsOnTinyIndexAndCachesQueries() throws Exception {
    Path data = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"), "scifact");
    Path root = files.newFolder("root").toPath();
    System.setProperty("neural.plaid.docs", "40");
    System.setProperty("neural.plaid.queries", "6");
    Map<String, Object> r;
    try {
      r = PlaidBench.run(root, data);
    } finally {
      System.clearProperty("neural.plaid.docs");
      System.clearProperty("neural.plaid.queries");
    }
    assertEquals(40, r.get("documents"));
    assertEquals(2, r.get("nbits"));
    double plaid = (Double) r.get("plaid_p50_ms");
    double exhaustive = (Double) r.get("exhaustive_p50_ms");
    assertTrue(r.toString(), plaid > 0 && plaid <= (Double) r.get("plaid_p99_ms"));
    assertTrue(r.toString(), exhaustive > 0 && exhaustive <= (Double) r.get("exhaustive_p99_ms"));
    double overlap = (Double) r.get("top10Overlap_plaidVsExhaustive");
    // 40 documents: ndocs (256) covers them all, so PLAID scores every document exactly
    assertEquals(r.toString(), 1.0, overlap, 1e-9);
    // surefire runs with --add-modules jdk.incubator.vector, so the peak is measured
    double peak = (Double) r.get("fmaPeak_gflops_1thread");
    double fraction = (Double) r.get("exhaustive_fractionOfFmaPeak");
    assertTrue(r.toString(), peak > 1);
    assertTrue(r.toString(), fraction > 0 && fraction < 1.5);
    // the same in the thread's CPU time
    assertTrue(r.toString(), (Double) r.get("plaid_cpu_p50_ms") > 0);
    assertTrue(r.toString(), (Double) r.get("exhaustive_cpu_p50_ms") > 0);
    assertTrue(r.toString(), (Double) r.get("fmaPeak_gflops_1thread_cpu") > 1);
    double fractionCpu = (Double) r.get("exhaustive_fractionOfFmaPeak_cpu");
    assertTrue(r.toString(), fractionCpu > 0 && fractionCpu < 1.5);

    List<Path> cached;
    try (var list = Files.list(root.resolve(".eval/plaid"))) {
      cached = list.toList();
    }
    assertEquals(cached.toString(), 1, cached.size());
    List<float[][]> first = PlaidBench.queries(root, data, 6);
    List<float[][]> again = PlaidBench.queries(root, data, 6);
    assertEquals(6, again.size());
    for (int q = 0; q < 6; q++) {
      assertEquals(first.get(q).length, again.get(q).length);
      for (int t = 0; t < first.get(q).length; t++) {
        assertArrayEquals(first.get(q)[t], again.get(q)[t], 0f);
      }
    }
  }
}
