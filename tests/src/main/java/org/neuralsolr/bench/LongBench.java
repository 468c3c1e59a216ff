package org.neuralsolr.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackage;
import org.neuralsolr.model.ModelRoots;
import org.neuralsolr.model.ModelStats;
import org.neuralsolr.model.SchedulerConfig;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.SharedModelStore;
import org.neuralsolr.model.TextRole;

/**
 * {@code ./neural-bench long}: ingest of long documents of mixed lengths on a decoder embedder,
 * length-aware batching (the scheduler's default, {@code batchOrder=length}) against batches in
 * arrival order ({@code batchOrder=arrival}), in one run.
 *
 * <p>Model: the {@code tiny-llama-embed} parity fixture (a Llama decoder, last-token pooling) through
 * {@code neural-model-long.json}, whose {@code maxLength} is the model's own limit, 8,192 tokens. No
 * real long-context embedder can be obtained here; the fixture's attention is real, so the cost of
 * a row grows with the square of its padded length, as an LLM embedder's does. Documents go the
 * way the update processor sends them: {@code DenseEncoder.encode} of up to 256 documents at a time
 * into the model's scheduler (bulk lane), with the configset's scheduler limits (32 texts, 16,384
 * padded tokens per forward pass); the two models differ only in {@code batchOrder}.
 *
 * <p>Corpus: {@value #DEFAULT_DOCS} synthetic documents (property {@code neural.long.docs}) with
 * lengths drawn log-uniformly from 64 to 8,192 tokens (seeded), in that arrival order: cuts of the
 * fixture's long reference passage repeated, from a word start to the drawn number of tokenizer
 * pieces (the appended EOS token included).
 */
final class LongBench {
  static final int DEFAULT_DOCS = 32;
  private static final int MIN_TOKENS = 64;
  private static final int MAX_TOKENS = 8192;
  /** What the update processor hands the model at once (its default batchSize). */
  private static final int PROCESSOR_BATCH = 256;
  private static final long SEED = 20261204L;

  private LongBench() {}

  static Map<String, Object> run(Path root) throws Exception {
    Path parity = root.resolve("solr-plugin/src/test/resources/parity").toAbsolutePath().normalize();
    int n = Integer.getInteger("neural.long.docs", DEFAULT_DOCS);
    List<String> docs = corpus(parity.resolve("tiny-llama-embed"), n);
    NeuralBench.header("long", "ingest of mixed-length documents, length-aware batching / arrival-order batching (tiny-llama-embed, maxLength 8192)",
        n + " synthetic documents of " + MIN_TOKENS + " to " + MAX_TOKENS + " tokens (log-uniform), " + PROCESSOR_BATCH
            + " per encode call, scheduler 32 texts / 16384 padded tokens per pass",
        "the two longest documents and 4 short ones before each measured pass over the corpus (each side's model is loaded for its pass and closed after it)",
        "2, alternating which side goes first");
    ModelPackage pkg = ModelPackage.resolve("tiny-llama-embed/neural-model-long.json", ModelRoots.of(List.of(parity)));
    List<String> warmUp = warmUp(docs);
    Measured[] sides = {new Measured(), new Measured()};
    for (int rep = 0; rep < 2; rep++) {
      for (SchedulerConfig.BatchOrder order : rep % 2 == 0
          ? List.of(SchedulerConfig.BatchOrder.LENGTH, SchedulerConfig.BatchOrder.ARRIVAL)
          : List.of(SchedulerConfig.BatchOrder.ARRIVAL, SchedulerConfig.BatchOrder.LENGTH)) {
        // one model at a time: a forward pass of 2 x 8,192 tokens takes GBs of attention scratch,
        // which ONNX Runtime's arena keeps until the model is closed
        try (SharedModelStore store = new SharedModelStore()) {
          ServedModel model = store.acquire(pkg, DeviceRequest.parse("cpu"), scheduler(order));
          ingest(model, warmUp);
          Snapshot before = new Snapshot(model.stats());
          double seconds = ingest(model, docs);
          sides[order.ordinal()].add(before, new Snapshot(model.stats()), seconds, model.stats().peakBatchTokens());
        }
      }
    }
    Measured byLength = sides[SchedulerConfig.BatchOrder.LENGTH.ordinal()];
    Measured byArrival = sides[SchedulerConfig.BatchOrder.ARRIVAL.ordinal()];
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("documents", n);
    r.put("realTokensPerRepetition", byLength.tokens / 2);
    r.put("lengthAwarePaddingEfficiency", round(byLength.efficiency()));
    r.put("arrivalOrderPaddingEfficiency", round(byArrival.efficiency()));
    r.put("lengthAwareForwardPassesPerRepetition", byLength.batches / 2);
    r.put("arrivalOrderForwardPassesPerRepetition", byArrival.batches / 2);
    r.put("lengthAwarePeakBatchTokens", byLength.peakBatchTokens);
    r.put("arrivalOrderPeakBatchTokens", byArrival.peakBatchTokens);
    r.put("lengthAwareDocsPerSecond", round(2 * n / byLength.seconds));
    r.put("arrivalOrderDocsPerSecond", round(2 * n / byArrival.seconds));
    r.put("ratioPaddingEfficiencyLengthAwareOverArrival", round(byLength.efficiency() / byArrival.efficiency()));
    r.put("ratioDocsPerSecondLengthAwareOverArrival", round(byArrival.seconds / byLength.seconds));
    NeuralBench.print(r);
    return r;
  }

  /** One side's measured repetitions, summed. */
  private static final class Measured {
    long tokens;
    long paddedTokens;
    long batches;
    long peakBatchTokens;
    double seconds;

    void add(Snapshot before, Snapshot after, double seconds, long peak) {
      tokens += after.tokens - before.tokens;
      paddedTokens += after.paddedTokens - before.paddedTokens;
      batches += after.batches - before.batches;
      peakBatchTokens = Math.max(peakBatchTokens, peak);
      this.seconds += seconds;
    }

    double efficiency() {
      return (double) tokens / paddedTokens;
    }
  }

  private static SchedulerConfig scheduler(SchedulerConfig.BatchOrder order) {
    // the configset's limits, with a queue timeout no forward pass over long texts reaches
    return new SchedulerConfig(32, 16_384, 0, 4096, 3_600_000, order);
  }

  /** The two longest documents (one forward pass of the largest size) and four short ones. */
  private static List<String> warmUp(List<String> docs) {
    List<String> sorted = new ArrayList<>(docs);
    sorted.sort(java.util.Comparator.comparingInt(String::length).reversed());
    List<String> out = new ArrayList<>(sorted.subList(0, 2));
    out.addAll(sorted.subList(sorted.size() - 4, sorted.size()));
    return out;
  }

  /** Encodes {@code docs} as the update processor does; seconds taken. */
  private static double ingest(ServedModel model, List<String> docs) {
    long t0 = System.nanoTime();
    for (int from = 0; from < docs.size(); from += PROCESSOR_BATCH) {
      model.denseEncoder().encode(docs.subList(from, Math.min(docs.size(), from + PROCESSOR_BATCH)), TextRole.DOCUMENT);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Counters of a model at one moment, to measure what happened between two. */
  private static final class Snapshot {
    final long tokens;
    final long paddedTokens;
    final long batches;

    Snapshot(ModelStats stats) {
      this.tokens = stats.tokens();
      this.paddedTokens = stats.paddedTokens();
      this.batches = stats.batches();
    }
  }

  /**
   * {@code n} documents whose lengths (the fixture tokenizer's pieces + the EOS token the manifest
   * appends) are drawn log-uniformly from [64, 8192]: cuts of the reference's long text, each from
   * one of its first words (a cut that ends inside a word may tokenise a piece or two differently
   * on its own; the report counts the real tokens).
   */
  @SuppressWarnings("unchecked")
  static List<String> corpus(Path fixture, int n) throws Exception {
    Map<String, Object> reference =
        (Map<String, Object>) Utils.fromJSONString(Files.readString(fixture.resolve("reference.json"), StandardCharsets.UTF_8));
    Map<String, Object> longText = (Map<String, Object>) reference.get("longText");
    String unit = (String) longText.get("unit");
    String text = unit.repeat(((Number) longText.get("repeat")).intValue() + 2);
    try (HuggingFaceTokenizer tokenizer =
        HuggingFaceTokenizer.newInstance(fixture.resolve("tokenizer.json"), Map.of("addSpecialTokens", "false", "truncation", "false"))) {
      Encoding encoding = tokenizer.encode(text, false, false);
      CharSpan[] spans = encoding.getCharTokenSpans();
      List<Integer> wordStarts = new ArrayList<>();
      for (int t = 0; t < 200; t++) {
        int start = spans[t].getStart();
        if (start == 0 || text.charAt(start - 1) == ' ') {
          wordStarts.add(t);
        }
      }
      Random random = new Random(SEED);
      List<String> docs = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int tokens = (int) Math.round(MIN_TOKENS * Math.pow((double) MAX_TOKENS / MIN_TOKENS, random.nextDouble()));
        int first = wordStarts.get(random.nextInt(wordStarts.size()));
        int last = first + tokens - 2; // tokens - 1 pieces, then the EOS token
        docs.add(text.substring(spans[first].getStart(), spans[last].getEnd()));
      }
      return docs;
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
