package org.neuralsolr.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.Utils;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackage;
import org.neuralsolr.model.ModelRoots;
import org.neuralsolr.model.SchedulerConfig;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.SharedModelStore;

/**
 * {@code ./neural-bench ingest-curve} on a small grid (2 lengths × 2 batch sizes): every cell is
 * measured, the two cost curves are written with one point per cell, and the texts it encodes have
 * exactly the length asked for in the model's own tokens.
 */
public class IngestCurveBenchTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  @Test
  @SuppressWarnings("unchecked")
  public void measuresEveryCellAndWritesBothCurves() throws Exception {
    Path data = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"), "scifact");
    Path root = files.newFolder("root").toPath();
    System.setProperty("neural.curve.lengths", "16,64");
    System.setProperty("neural.curve.batches", "1,4");
    System.setProperty("neural.curve.tokens", "256");
    Map<String, Object> r;
    try {
      r = IngestCurveBench.run(root, data);
    } finally {
      System.clearProperty("neural.curve.lengths");
      System.clearProperty("neural.curve.batches");
      System.clearProperty("neural.curve.tokens");
    }
    for (String cell : List.of("length16.batch1", "length16.batch4", "length64.batch1", "length64.batch4")) {
      double rate = (Double) r.get("docsPerSecond." + cell);
      assertTrue(cell + ": " + r, rate > 0 && Double.isFinite(rate));
    }
    Path curves = root.resolve(".eval/bench/curves");
    Map<String, Object> byBatch = (Map<String, Object>) Utils.fromJSONString(Files.readString(curves.resolve("ingest-docs-per-second-by-batch-size.json")));
    List<Map<String, Object>> series = (List<Map<String, Object>>) byBatch.get("series");
    assertEquals(2, series.size());
    assertEquals("16 tokens", series.get(0).get("name"));
    assertEquals(List.of(List.of(1L, r.get("docsPerSecond.length16.batch1")), List.of(4L, r.get("docsPerSecond.length16.batch4"))),
        series.get(0).get("points"));
    Map<String, Object> byLength = (Map<String, Object>) Utils.fromJSONString(Files.readString(curves.resolve("ingest-docs-per-second-by-length.json")));
    assertEquals(2, ((List<?>) byLength.get("series")).size());
    assertEquals("./neural-bench ingest-curve", byLength.get("command"));
  }

  @Test
  public void cutsTextsToTheExactTokenCount() throws Exception {
    Path data = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"), "scifact");
    List<String> abstracts = NeuralBench.documents(data, 20);
    try (SharedModelStore store = new SharedModelStore()) {
      ServedModel model = store.acquire(ModelPackage.resolve(IngestCurveBench.MODEL, ModelRoots.of(List.of())),
          DeviceRequest.parse("cpu"), SchedulerConfig.DEFAULTS);
      for (int length : new int[] {16, 100, 512}) {
        List<String> texts = IngestCurveBench.cut(model, abstracts, length, 5);
        assertEquals(5, texts.size());
        for (String t : texts) {
          // spans leave the two special tokens out
          assertEquals(t, length - 2, model.denseEncoder().tokenSpans(t).length);
        }
      }
    }
  }
}
