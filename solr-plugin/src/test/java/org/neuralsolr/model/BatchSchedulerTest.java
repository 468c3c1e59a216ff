package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * The scheduler against a fake forward pass that records its batches: batching across callers,
 * limits, length grouping, back-pressure, and failures.
 */
@ThreadLeakFilters(defaultFilters = true, filters = {NativeLibraryThreadsFilter.class})
public class BatchSchedulerTest extends LuceneTestCase {
  /** A forward pass whose output row for each text is its first id, so results are checkable. */
  private static final class RecordingForward implements BatchScheduler.Forward {
    final List<List<Integer>> batchLengths = Collections.synchronizedList(new ArrayList<>());
    /** Texts that reached the forward pass, counted before it waits at the gate. */
    final AtomicInteger entered = new AtomicInteger();
    volatile CountDownLatch gate;
    volatile RuntimeException failure;

    @Override
    public BatchOutput run(List<TokenizedText> batch) {
      entered.addAndGet(batch.size());
      if (gate != null) {
        try {
          gate.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (failure != null) {
        throw failure;
      }
      List<Integer> lengths = new ArrayList<>();
      float[] data = new float[batch.size()];
      for (int i = 0; i < batch.size(); i++) {
        lengths.add(batch.get(i).length());
        data[i] = batch.get(i).ids[0];
      }
      batchLengths.add(lengths);
      return new BatchOutput(data, batch.size(), 1, 1);
    }
  }

  private static TokenizedText text(int id, int length) {
    long[] ids = new long[length];
    ids[0] = id;
    return new TokenizedText(ids, new long[length]);
  }

  private static final BatchScheduler.Reducer<Integer> FIRST_ID = (out, row, text) -> (int) out.data[out.offset(row)];

  public void testResultsComeBackInOrderAndBatchesRespectLimits() {
    RecordingForward forward = new RecordingForward();
    SchedulerConfig config = new SchedulerConfig(8, 100, 0, 64, 1000);
    try (BatchScheduler scheduler = new BatchScheduler("t", forward, config, new ModelStats())) {
      List<TokenizedText> texts = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        texts.add(text(i, 1 + random().nextInt(30)));
      }
      List<Integer> results = scheduler.run(texts, FIRST_ID);
      for (int i = 0; i < 50; i++) {
        assertEquals(Integer.valueOf(i), results.get(i));
      }
      for (List<Integer> batch : forward.batchLengths) {
        assertTrue(batch.size() <= 8);
        int longest = Collections.max(batch);
        assertTrue("padded tokens " + batch.size() * longest, batch.size() == 1 || batch.size() * longest <= 100);
      }
    }
  }

  public void testTextsOfSimilarLengthShareBatches() {
    RecordingForward forward = new RecordingForward();
    forward.gate = new CountDownLatch(1);
    ModelStats stats = new ModelStats();
    try (BatchScheduler scheduler = new BatchScheduler("t", forward, new SchedulerConfig(4, 10_000, 0, 64, 1000), stats)) {
      // first call blocks the worker so that the next 16 queue up and are sorted together
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<?> blocker = pool.submit(() -> scheduler.run(List.of(text(0, 1)), FIRST_ID));
        waitFor(() -> forward.entered.get() == 1);
        List<TokenizedText> mixed = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          mixed.add(text(i, i % 2 == 0 ? 2 : 40)); // alternating short and long
        }
        Future<List<Integer>> f = pool.submit(() -> scheduler.run(mixed, FIRST_ID));
        waitFor(() -> scheduler.queueDepth() == 16);
        forward.gate.countDown();
        f.get(30, TimeUnit.SECONDS);
        blocker.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        pool.shutdownNow();
      }
    }
    for (List<Integer> batch : forward.batchLengths) {
      assertEquals("a batch mixes lengths: " + batch, 1, batch.stream().distinct().count());
    }
    assertEquals(2 * 8 + 40 * 8 + 1, stats.tokens());
    assertEquals(1.0, stats.paddingEfficiency(), 1e-9);
  }

  public void testALoneCallersBatchesDoNotDependOnTiming() {
    // Without the worker taking a request's slices together, it sometimes wakes on the first
    // slice alone and runs it unsorted: the batches (and an int8 model's vectors) would change
    // from run to run.
    for (int run = 0; run < 300; run++) {
      RecordingForward forward = new RecordingForward();
      try (BatchScheduler scheduler = new BatchScheduler("t", forward, new SchedulerConfig(4, 10_000, 0, 64, 1000), new ModelStats())) {
        List<TokenizedText> mixed = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          mixed.add(text(i, i % 2 == 0 ? 2 : 40)); // alternating short and long
        }
        scheduler.run(mixed, FIRST_ID);
      }
      for (List<Integer> batch : forward.batchLengths) {
        assertEquals("run " + run + ": a batch mixes lengths: " + batch, 1, batch.stream().distinct().count());
      }
    }
  }

  public void testConcurrentCallersShareBatches() throws Exception {
    RecordingForward forward = new RecordingForward();
    forward.gate = new CountDownLatch(1);
    ModelStats stats = new ModelStats();
    int callers = 6;
    try (BatchScheduler scheduler = new BatchScheduler("t", forward, new SchedulerConfig(32, 10_000, 0, 256, 1000), stats)) {
      ExecutorService pool = Executors.newFixedThreadPool(callers);
      try {
        List<Future<List<Integer>>> futures = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
          int id = c;
          futures.add(pool.submit(() -> scheduler.run(List.of(text(id, 5)), FIRST_ID)));
        }
        waitFor(() -> scheduler.queueDepth() + forward.entered.get() == callers);
        forward.gate.countDown();
        for (int c = 0; c < callers; c++) {
          assertEquals(List.of(c), futures.get(c).get(30, TimeUnit.SECONDS));
        }
      } finally {
        pool.shutdownNow();
      }
    }
    // the worker took what had arrived when it woke; everything queued while it ran went together
    assertTrue("batches " + forward.batchLengths, forward.batchLengths.size() <= 2);
    assertEquals(callers, stats.texts());
  }

  public void testFullQueueGivesOverloadErrorNotUnboundedMemory() throws Exception {
    RecordingForward forward = new RecordingForward();
    forward.gate = new CountDownLatch(1);
    ModelStats stats = new ModelStats();
    try (BatchScheduler scheduler = new BatchScheduler("m", forward, new SchedulerConfig(2, 100, 0, 4, 50), stats)) {
      ExecutorService pool = Executors.newFixedThreadPool(3);
      try {
        pool.submit(() -> scheduler.run(List.of(text(1, 1)), FIRST_ID)); // taken by the worker, which blocks
        waitFor(() -> forward.entered.get() == 1);
        pool.submit(() -> scheduler.run(List.of(text(2, 1), text(3, 1), text(4, 1), text(5, 1)), FIRST_ID));
        waitFor(() -> scheduler.queueDepth() == 4);
        ModelOverloadedException e =
            expectThrows(ModelOverloadedException.class, () -> scheduler.run(List.of(text(6, 1)), FIRST_ID));
        assertTrue(e.getMessage(), e.getMessage().contains("model 'm' is overloaded"));
        assertEquals(1, stats.rejected());
        assertEquals(4, scheduler.queueDepth());
      } finally {
        forward.gate.countDown();
        pool.shutdownNow();
      }
    }
  }

  /** A forward pass that holds batches of texts of {@code heldLength} tokens until released. */
  private static final class HoldingForward implements BatchScheduler.Forward {
    final RecordingForward recording = new RecordingForward();
    final int heldLength;
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch holding = new CountDownLatch(1);

    HoldingForward(int heldLength) {
      this.heldLength = heldLength;
    }

    @Override
    public BatchOutput run(List<TokenizedText> batch) {
      if (batch.get(0).length() == heldLength) {
        holding.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return recording.run(batch);
    }
  }

  public void testQueriesDoNotWaitForARunningIngestBatch() throws Exception {
    HoldingForward forward = new HoldingForward(3);
    try (BatchScheduler scheduler = new BatchScheduler("m", forward, new SchedulerConfig(2, 1000, 0, 100, 10_000), new ModelStats())) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<TokenizedText> documents = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          documents.add(text(i, 3));
        }
        Future<List<Integer>> ingest = pool.submit(() -> scheduler.run(documents, FIRST_ID, BatchScheduler.Lane.BULK));
        assertTrue(forward.holding.await(30, TimeUnit.SECONDS)); // a bulk batch is running, and stays so
        // the query is answered while the bulk forward pass still runs
        assertEquals(List.of(42), scheduler.run(List.of(text(42, 7)), FIRST_ID));
        assertFalse(ingest.isDone());
        forward.release.countDown();
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), ingest.get(30, TimeUnit.SECONDS));
      } finally {
        forward.release.countDown();
        pool.shutdownNow();
      }
    }
  }

  public void testIngestDoesNotWaitForARunningQueryBatch() throws Exception {
    HoldingForward forward = new HoldingForward(7);
    try (BatchScheduler scheduler = new BatchScheduler("m", forward, new SchedulerConfig(2, 1000, 0, 100, 10_000), new ModelStats())) {
      ExecutorService pool = Executors.newFixedThreadPool(1);
      try {
        Future<List<Integer>> query = pool.submit(() -> scheduler.run(List.of(text(42, 7)), FIRST_ID));
        assertTrue(forward.holding.await(30, TimeUnit.SECONDS));
        assertEquals(List.of(1, 2), scheduler.run(List.of(text(1, 3), text(2, 3)), FIRST_ID, BatchScheduler.Lane.BULK));
        assertFalse(query.isDone());
        forward.release.countDown();
        assertEquals(List.of(42), query.get(30, TimeUnit.SECONDS));
      } finally {
        forward.release.countDown();
        pool.shutdownNow();
      }
    }
  }

  /** One long text among short ones, in the order they arrive: long, 255 short, long. */
  private static List<TokenizedText> longAmongShort(int longLength) {
    List<TokenizedText> texts = new ArrayList<>();
    texts.add(text(0, longLength));
    for (int i = 1; i <= 255; i++) {
      texts.add(text(i, 8 + i % 9));
    }
    texts.add(text(256, longLength / 2));
    return texts;
  }

  public void testALongTextNeverSharesABatchWithTheShortOnesAndEveryBatchKeepsToTheBudget() {
    for (SchedulerConfig.BatchOrder order : SchedulerConfig.BatchOrder.values()) {
      RecordingForward forward = new RecordingForward();
      ModelStats stats = new ModelStats();
      SchedulerConfig config = new SchedulerConfig(256, 16_384, 0, 1024, 1000, order);
      try (BatchScheduler scheduler = new BatchScheduler("t", forward, config, stats)) {
        List<TokenizedText> texts = longAmongShort(8192);
        texts.add(text(257, 20_000)); // longer than the budget: alone
        List<Integer> results = scheduler.run(texts, FIRST_ID, BatchScheduler.Lane.BULK);
        for (int i = 0; i < texts.size(); i++) {
          assertEquals(Integer.valueOf(i), results.get(i));
        }
      }
      long peak = 0;
      for (List<Integer> batch : forward.batchLengths) {
        long padded = (long) batch.size() * Collections.max(batch);
        assertTrue(order + ": batch " + batch, batch.size() == 1 || padded <= 16_384);
        if (batch.contains(8192)) {
          assertTrue(order + ": the 8,192-token text shares a batch with " + batch, batch.size() <= 2);
        }
        peak = Math.max(peak, padded);
      }
      assertEquals(order.toString(), peak, stats.peakBatchTokens());
      assertEquals(20_000, peak);
    }
  }

  public void testArrivalOrderPadsMoreThanLengthOrder() {
    double[] efficiency = new double[2];
    for (SchedulerConfig.BatchOrder order : SchedulerConfig.BatchOrder.values()) {
      ModelStats stats = new ModelStats();
      RecordingForward forward = new RecordingForward();
      try (BatchScheduler scheduler = new BatchScheduler("t", forward, new SchedulerConfig(32, 16_384, 0, 1024, 1000, order), stats)) {
        List<TokenizedText> texts = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
          texts.add(text(i, i % 2 == 0 ? 10 : 300)); // alternating
        }
        scheduler.run(texts, FIRST_ID, BatchScheduler.Lane.BULK);
      }
      efficiency[order.ordinal()] = stats.paddingEfficiency();
      if (order == SchedulerConfig.BatchOrder.ARRIVAL) {
        assertEquals("batches in arrival order: " + forward.batchLengths, List.of(10, 300, 10), forward.batchLengths.get(0).subList(0, 3));
      }
    }
    assertEquals(1.0, efficiency[SchedulerConfig.BatchOrder.LENGTH.ordinal()], 1e-9);
    assertEquals((10 + 300) / 600.0, efficiency[SchedulerConfig.BatchOrder.ARRIVAL.ordinal()], 1e-9);
  }

  public void testBatchOrderSetting() {
    org.apache.solr.common.util.NamedList<Object> args = new org.apache.solr.common.util.NamedList<>();
    assertEquals(SchedulerConfig.BatchOrder.LENGTH, SchedulerConfig.fromNamedList(args, SchedulerConfig.DEFAULTS).batchOrder);
    args.add("batchOrder", "arrival");
    SchedulerConfig arrival = SchedulerConfig.fromNamedList(args, SchedulerConfig.DEFAULTS);
    assertEquals(SchedulerConfig.BatchOrder.ARRIVAL, arrival.batchOrder);
    assertFalse(arrival.equals(SchedulerConfig.DEFAULTS)); // models with different orders are not shared
    args.setVal(0, "shortest");
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> SchedulerConfig.fromNamedList(args, SchedulerConfig.DEFAULTS));
    assertEquals("scheduler setting 'batchOrder' must be length or arrival, got 'shortest'", e.getMessage());
  }

  public void testForwardFailureReachesEveryCallerOfTheBatch() {
    RecordingForward forward = new RecordingForward();
    forward.failure = new IllegalStateException("boom");
    ModelStats stats = new ModelStats();
    try (BatchScheduler scheduler = new BatchScheduler("m", forward, SchedulerConfig.DEFAULTS, stats)) {
      IllegalStateException e = expectThrows(IllegalStateException.class, () -> scheduler.run(List.of(text(1, 3), text(2, 3)), FIRST_ID));
      assertTrue(e.getMessage(), e.getMessage().contains("boom"));
      forward.failure = null;
      assertEquals(List.of(7), scheduler.run(List.of(text(7, 3)), FIRST_ID)); // the worker survived
      assertEquals(1, stats.failedBatches());
    }
  }

  public void testClosedSchedulerRefusesWork() {
    BatchScheduler scheduler = new BatchScheduler("m", new RecordingForward(), SchedulerConfig.DEFAULTS, new ModelStats());
    scheduler.close();
    expectThrows(IllegalStateException.class, () -> scheduler.run(List.of(text(1, 1)), FIRST_ID));
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached in 30 s");
      }
      Thread.onSpinWait();
    }
  }
}
