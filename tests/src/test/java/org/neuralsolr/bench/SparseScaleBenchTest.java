package org.neuralsolr.bench;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.solr.SolrTestCase;
import org.apache.solr.common.util.Utils;
import org.junit.Test;

/**
 * {@code ./neural-bench sparse-scale} on a few thousand generated documents: the report has its
 * parts (fit table, build and size line, exact against FeatureField, the sweep, the last line),
 * exact {@code {!sparse}} and the FeatureField {@code BooleanQuery} return the same top-10 ids for
 * every query, the JSON and its cost curve (curves/sparse-latency.json) are written, and a second run reuses the cached indexes.
 */
public class SparseScaleBenchTest extends SolrTestCase {

  @Test
  public void runsOnSmallCollectionAndAgreesWithFeatureField() throws Exception {
    Path root = createTempDir();
    Path cache = root.resolve("cache");
    Path json = root.resolve("sparse-scale.json");
    System.setProperty("neural.sparse.sizes", "3000");
    System.setProperty("neural.sparse.queries", "40");
    System.setProperty("neural.sparse.rounds", "1");
    System.setProperty("neural.sparse.only", "candidateTerms=64");
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      Map<String, Object> r = SparseScaleBench.run(root, cache, json, new PrintStream(bytes, true, StandardCharsets.UTF_8));
      String out = bytes.toString(StandardCharsets.UTF_8);
      for (String part : new String[] {"terms/document mean p50 p90", "df/N at rank", "document weight p10", "share of query terms in its relevant doc",
          "size 3,000: ", "bytes per posting: NeuralSparse", "exact {!sparse} p50", "best speed-up at recall@10 >= 0.98"}) {
        assertTrue(part + " missing from:\n" + out, out.contains(part));
      }
      String[] lines = out.strip().split("\n");
      String last = lines[lines.length - 1];
      assertTrue(last, last.matches("exact_vs_featurefield=[0-9.]+ approx_speedup=[0-9.]+ recall=[0-9.]+ size=3000"));
      assertEquals(last, r.get("summary"));
      Map<?, ?> size = (Map<?, ?>) r.get("3000");
      assertEquals(out, "40/40", size.get("identicalTop10Ids"));
      assertTrue(size.toString(), (Double) size.get("exactP50Ms") > 0 && (Double) size.get("featureFieldP50Ms") > 0);
      Map<?, ?> sweep = (Map<?, ?>) size.get("approximate");
      assertFalse(sweep.isEmpty());
      for (Object label : sweep.keySet()) {
        assertTrue(label.toString(), label.toString().startsWith("candidateTerms=64")); // neural.sparse.only
      }
      Map<?, ?> written = (Map<?, ?>) ((Map<?, ?>) Utils.fromJSONString(Files.readString(json))).get("sizes");
      assertEquals(size.get("exactP50Ms"), ((Map<?, ?>) written.get("3000")).get("exactP50Ms"));
      // the cost curve drawn into RESULTS.md: one point per size on each line, the same p50s
      Map<?, ?> curve = (Map<?, ?>) Utils.fromJSONString(Files.readString(root.resolve("curves/sparse-latency.json")));
      List<?> series = (List<?>) curve.get("series");
      assertEquals(curve.toString(), 3, series.size());
      assertEquals(List.of(List.of(3000L, size.get("exactP50Ms"))), ((Map<?, ?>) series.get(0)).get("points"));
      assertEquals(List.of(List.of(3000L, size.get("featureFieldP50Ms"))), ((Map<?, ?>) series.get(1)).get("points"));
      assertEquals("./neural-bench sparse-scale", curve.get("command"));
      assertFalse(out.contains("cached index reused"));

      bytes.reset();
      SparseScaleBench.run(root, cache, json, new PrintStream(bytes, true, StandardCharsets.UTF_8));
      assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("cached index reused"));
    } finally {
      System.clearProperty("neural.sparse.sizes");
      System.clearProperty("neural.sparse.queries");
      System.clearProperty("neural.sparse.rounds");
      System.clearProperty("neural.sparse.only");
    }
  }

  @Test
  public void generatorIsDeterministicPerSeedAndIndex() throws Exception {
    Map<String, Object> fit = SparseCollectionGenerator.loadFit();
    SparseCollectionGenerator a = new SparseCollectionGenerator(fit, 7);
    SparseCollectionGenerator b = new SparseCollectionGenerator(fit, 7);
    SparseCollectionGenerator c = new SparseCollectionGenerator(fit, 8);
    SparseCollectionGenerator.Vector d5 = a.document(5);
    a.document(6);
    assertEquals(d5.toMap(), a.document(5).toMap()); // independent of what was drawn before
    assertEquals(d5.toMap(), b.document(5).toMap());
    assertFalse(d5.toMap().equals(c.document(5).toMap()));
    assertTrue(Arrays.equals(d5.ranks(), Arrays.stream(d5.ranks()).sorted().distinct().toArray()));
    SparseCollectionGenerator.GeneratedQuery q = a.query(3, 1000);
    assertEquals(q.vector().toMap(), b.query(3, 1000).vector().toMap());
    // a query shares terms with the document it was drawn from
    Map<String, Float> doc = a.document(q.relevant()).toMap();
    assertTrue(q.vector().toMap().keySet().stream().anyMatch(doc::containsKey));
  }
}
