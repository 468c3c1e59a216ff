package org.neuralsolr.bench;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.Test;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * {@code ./neural-bench localize} on a tiny corpus (24 SciFact abstracts, 3 claims per method): each
 * method's figures are measured and consistent, every hit of every highlighted request had its
 * snippet (the bench refuses to time a highlighter that returned nothing), and the summary line
 * carries the ratios.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class LocalizeBenchTest extends SolrTestCase {

  @Test
  public void runsOnTinyCorpusAndHighlightsEveryHit() throws Exception {
    Path data = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"), "scifact");
    Path root = Paths.get(System.getProperty("neural.conf.dir", "../conf")).toAbsolutePath().normalize().getParent();
    System.setProperty("neural.localize.docs", "24");
    System.setProperty("neural.localize.queries", "3");
    Map<String, Object> r;
    try {
      r = LocalizeBench.run(root, data, createTempDir());
    } finally {
      System.clearProperty("neural.localize.docs");
      System.clearProperty("neural.localize.queries");
    }
    assertEquals(24, r.get("documents"));
    for (String method : new String[] {"maxsim", "maxsim-sentences", "dense", "cross-encoder"}) {
      Map<?, ?> m = (Map<?, ?>) r.get(method);
      double plain = (Double) m.get("plainP50Ms");
      double highlighted = (Double) m.get("highlightedP50Ms");
      double stage = (Double) m.get("highlightStageP50Ms");
      assertTrue(method + " " + m, plain > 0 && highlighted > 0);
      assertTrue(method + " " + m, stage > 0 && stage < highlighted);
      assertEquals(method + " " + m, highlighted / plain, (Double) m.get("ratioHighlightedOverPlainP50"), 1e-3 * highlighted / plain); // the report rounds p50s and ratio to 3 decimals
      // 3 measured claims, topK=10 over 24 abstracts: 10 hits each, every one with a snippet
      assertEquals(method + " " + m, 30, m.get("hitsHighlighted"));
    }
    String summary = (String) r.get("summary");
    assertTrue(summary, summary.matches("maxsim_over_colbert=[0-9.]+ maxsim_sentences_over_colbert=[0-9.]+ dense_over_dense=[0-9.]+ cross-encoder_over_dense=[0-9.]+"));
  }
}
