package org.neuralsolr.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.util.IOUtils;
import org.neuralsolr.eval.Machine;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackage;
import org.neuralsolr.model.ModelRoots;
import org.neuralsolr.model.SchedulerConfig;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.SharedModelStore;
import org.neuralsolr.model.TextRole;

/**
 * {@code ./neural-bench ingest-curve}: what ingest costs as batches and documents grow, for the
 * built-in dense model (bge-small-en-v1.5 fp32, the configset's default): documents/s for each
 * document length × scheduler batch size, written as two cost curves (docs/s against batch size per
 * length, and against length per batch size) that {@code ./neural-eval --results} draws.
 *
 * <p>Documents go the way the update processor sends them ({@code DenseEncoder.encode} of up to 256
 * at a time into the model's scheduler, in-process, no HTTP); the scheduler cuts them into forward
 * passes of {@code maxBatchSize} texts (its token budget set to fit them). Corpus: SciFact abstracts,
 * three joined per text and cut at the model's own token boundaries to exactly {@code length}
 * tokens, special tokens included. Each cell encodes about {@value #DEFAULT_TOKENS} tokens
 * (property {@code neural.curve.tokens}) and at least two full batches.
 */
final class IngestCurveBench {
  static final int DEFAULT_TOKENS = 8192;
  private static final int PROCESSOR_BATCH = 256;
  static final String MODEL = "builtin:bge-small-en-v1.5";

  private IngestCurveBench() {}

  static Map<String, Object> run(Path root, Path data) throws Exception {
    List<Integer> lengths = ints(System.getProperty("neural.curve.lengths", "32,64,128,256,512"));
    List<Integer> batches = ints(System.getProperty("neural.curve.batches", "1,4,16,32,64"));
    int tokensPerCell = Integer.getInteger("neural.curve.tokens", DEFAULT_TOKENS);
    Path outDir = root.resolve(System.getProperty("neural.curves.dir", ".eval/bench/curves"));
    NeuralBench.header("ingest-curve", "ingest documents/s by document length x scheduler batch size, " + MODEL + " (fp32)",
        "SciFact abstracts cut to " + lengths + " tokens; batch sizes " + batches + "; ~" + tokensPerCell
            + " tokens and >= 2 batches per cell; " + PROCESSOR_BATCH + " documents per encode call",
        "one batch of the cell's shape before each measured cell", "1 per cell (cells in length order, batch sizes interleaved)");
    List<String> abstracts = NeuralBench.documents(data, 600);
    ModelPackage pkg = ModelPackage.resolve(MODEL, ModelRoots.of(List.of()));
    int maxLength = Math.max(lengths.stream().mapToInt(Integer::intValue).max().orElse(0), 1);
    double[][] docsPerSecond = new double[lengths.size()][batches.size()];
    String loadBefore = Machine.loadAverage();
    // one model per batch size (the scheduler's limits are fixed when a model is acquired), all loaded
    // at once so that the batch sizes of one length run back to back: a load change on a shared
    // machine then moves a whole length's line, not one batch size's
    List<SharedModelStore> stores = new ArrayList<>();
    try {
      List<ServedModel> models = new ArrayList<>();
      for (int batch : batches) {
        SharedModelStore store = new SharedModelStore();
        stores.add(store);
        models.add(store.acquire(pkg, DeviceRequest.parse("cpu"),
            new SchedulerConfig(batch, batch * maxLength, 0, Math.max(PROCESSOR_BATCH, batch), 3_600_000)));
      }
      for (int l = 0; l < lengths.size(); l++) {
        int length = lengths.get(l);
        for (int b = 0; b < batches.size(); b++) {
          int batch = batches.get(b);
          ServedModel model = models.get(b);
          List<String> docs = cut(model, abstracts, length, Math.max(2 * batch, tokensPerCell / length));
          encode(model, docs.subList(0, batch));
          docsPerSecond[l][b] = docs.size() / encode(model, docs);
          System.out.printf(java.util.Locale.ROOT, "   length %4d  batch %3d  %8.2f docs/s%n", length, batch, docsPerSecond[l][b]);
        }
      }
    } finally {
      IOUtils.close(stores);
    }
    List<Map<String, Object>> byLength = new ArrayList<>();
    for (int l = 0; l < lengths.size(); l++) {
      List<List<Number>> points = new ArrayList<>();
      for (int b = 0; b < batches.size(); b++) {
        points.add(List.of(batches.get(b), round(docsPerSecond[l][b])));
      }
      byLength.add(CostCurve.series(lengths.get(l) + " tokens", points));
    }
    List<Map<String, Object>> byBatch = new ArrayList<>();
    for (int b = 0; b < batches.size(); b++) {
      List<List<Number>> points = new ArrayList<>();
      for (int l = 0; l < lengths.size(); l++) {
        points.add(List.of(lengths.get(l), round(docsPerSecond[l][b])));
      }
      byBatch.add(CostCurve.series("batch " + batches.get(b), points));
    }
    String command = "./neural-bench ingest-curve";
    String load = loadBefore + " before / " + Machine.loadAverage() + " after";
    CostCurve.Axis docsPerSecondAxis = new CostCurve.Axis("documents/s", true);
    CostCurve.write(outDir.resolve("ingest-docs-per-second-by-batch-size.json"), "Ingest docs/s against batch size, " + MODEL,
        new CostCurve.Axis("scheduler batch size (texts per forward pass)", true), docsPerSecondAxis, byLength,
        "One line per document length. In-process through the model's scheduler, as the update processor encodes.", command, load);
    CostCurve.write(outDir.resolve("ingest-docs-per-second-by-length.json"), "Ingest docs/s against document length, " + MODEL,
        new CostCurve.Axis("document length (tokens, special tokens included)", true), docsPerSecondAxis, byBatch,
        "One line per scheduler batch size. Longer documents cost more than their share: attention grows with the square of the length.", command, load);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("model", MODEL);
    r.put("lengths", lengths);
    r.put("batchSizes", batches);
    for (int l = 0; l < lengths.size(); l++) {
      for (int b = 0; b < batches.size(); b++) {
        r.put("docsPerSecond.length" + lengths.get(l) + ".batch" + batches.get(b), round(docsPerSecond[l][b]));
      }
    }
    r.put("curves", outDir.toString());
    NeuralBench.print(r);
    return r;
  }

  /**
   * {@code n} texts of exactly {@code length} tokens (special tokens included), each cut from three
   * consecutive abstracts joined, at the model's own token boundaries.
   */
  static List<String> cut(ServedModel model, List<String> abstracts, int length, int n) {
    List<String> out = new ArrayList<>(n);
    for (int i = 0; out.size() < n; i++) {
      int first = i % abstracts.size();
      String text = abstracts.get(first) + " " + abstracts.get((first + 1) % abstracts.size()) + " " + abstracts.get((first + 2) % abstracts.size());
      int[][] spans = model.denseEncoder().tokenSpans(text);
      int pieces = length - 2; // [CLS] and [SEP] are added by the model
      if (pieces < 1 || spans.length < pieces) {
        if (i > 3 * abstracts.size()) {
          throw new IllegalArgumentException("no text of " + length + " tokens can be cut from the corpus for " + MODEL);
        }
        continue;
      }
      out.add(text.substring(0, spans[pieces - 1][1]));
    }
    return out;
  }

  /** Seconds to encode {@code docs} as the update processor does. */
  private static double encode(ServedModel model, List<String> docs) {
    long t0 = System.nanoTime();
    for (int from = 0; from < docs.size(); from += PROCESSOR_BATCH) {
      model.denseEncoder().encode(docs.subList(from, Math.min(docs.size(), from + PROCESSOR_BATCH)), TextRole.DOCUMENT);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static List<Integer> ints(String csv) {
    List<Integer> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      out.add(Integer.parseInt(s.trim()));
    }
    return out;
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
