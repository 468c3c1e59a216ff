package org.neuralsolr.model;

import java.io.Closeable;
import java.lang.invoke.MethodHandles;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches the texts of all callers of one model (ingest and queries alike) into forward passes.
 *
 * <p>Callers tokenise in their own threads and queue the token ids; a worker thread takes what is
 * queued (up to a window of several batches), sorts it by length so that texts of similar length
 * share a batch and padding stays small, cuts it into batches bounded by {@code maxBatchSize}
 * texts and {@code maxBatchTokens} padded tokens, runs them, and hands each text's rows to the
 * caller's {@link Reducer} (pooling, sparsification...) on the worker thread, so only the reduced
 * result is kept. The token budget bounds every forward pass whatever the lengths: one
 * 8,192-token document does not run with 255 short texts padded to its length ({@code
 * batchOrder=arrival} skips the sort, to measure what it saves). The queue is bounded by {@code
 * maxQueuedTexts}: a caller waits for room at most {@code queueTimeoutMillis}, then gets a {@link
 * ModelOverloadedException}.
 *
 * <p>Work comes in two {@link Lane}s, each with its own worker. A search waits for its query's
 * encoding, while a forward pass over an ingest batch can take a second or more on a small machine, and a
 * running forward pass cannot be interrupted: a query queued behind one waits for all of it. So
 * queries are batched and run by their own worker, beside the bulk worker's forward pass (the
 * model is thread-safe), and never wait for ingest; at most two forward passes of a model run at
 * once, one per lane, which bounds the memory they take.
 */
public final class BatchScheduler implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());
  /** Batches' worth of queued texts sorted together; more gives better length grouping. */
  private static final int GROUPING_WINDOW_BATCHES = 4;

  /** Who waits for a text's encoding, and so how soon it runs. */
  public enum Lane {
    /** A search request: query texts, query-time re-ranking. */
    INTERACTIVE,
    /** Ingest: documents of update requests. */
    BULK;

    /** Query texts are interactive; documents are bulk work, whoever asks. */
    public static Lane of(TextRole role) {
      return role == TextRole.QUERY ? INTERACTIVE : BULK;
    }
  }

  /** Turns one text's rows of a batch output into what the caller wants. Runs on a worker. */
  @FunctionalInterface
  public interface Reducer<R> {
    R reduce(BatchOutput output, int row, TokenizedText text);
  }

  private static final class Task<R> {
    final TokenizedText text;
    final Reducer<R> reducer;
    final CompletableFuture<R> result = new CompletableFuture<>();

    Task(TokenizedText text, Reducer<R> reducer) {
      this.text = text;
      this.reducer = reducer;
    }

    void complete(BatchOutput output, int row) {
      try {
        result.complete(reducer.reduce(output, row, text));
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    }
  }

  /** Runs one forward pass; {@link LoadedModel#forward} in production, a fake in tests. */
  @FunctionalInterface
  interface Forward {
    BatchOutput run(List<TokenizedText> batch);
  }

  private final String modelName;
  private final Forward forward;
  private final SchedulerConfig config;
  private final ModelStats stats;
  /**
   * Slices of callers' texts per lane, each at most a batch, guarded by {@code lock}. A caller adds
   * all slices of a request that fits the queue at once, and the worker drains under the lock: it
   * then takes a request's slices together, never the first ones alone, so a lone caller's batches
   * do not depend on thread timing. That matters for dynamically quantised models, whose outputs
   * depend slightly on their batch-mates.
   */
  private final EnumMap<Lane, ArrayDeque<List<Task<?>>>> queued = new EnumMap<>(Lane.class);
  private final ReentrantLock lock = new ReentrantLock();
  /** Per lane: work was queued. */
  private final EnumMap<Lane, Condition> arrived = new EnumMap<>(Lane.class);
  private final Semaphore room;
  private final EnumMap<Lane, Thread> workers = new EnumMap<>(Lane.class);
  private volatile boolean closed;

  BatchScheduler(String modelName, Forward forward, SchedulerConfig config, ModelStats stats) {
    this.modelName = modelName;
    this.forward = forward;
    this.config = config;
    this.stats = stats;
    this.room = new Semaphore(config.maxQueuedTexts);
    for (Lane lane : Lane.values()) {
      queued.put(lane, new ArrayDeque<>());
      arrived.put(lane, lock.newCondition());
      Thread worker = new Thread(() -> work(lane), "neural-model-" + modelName + "-" + lane.name().toLowerCase(java.util.Locale.ROOT));
      worker.setDaemon(true);
      // DJL resolves native resources through the context class loader
      worker.setContextClassLoader(BatchScheduler.class.getClassLoader());
      workers.put(lane, worker);
    }
    workers.values().forEach(Thread::start);
  }

  /** Texts queued and not yet taken by a worker. */
  public int queueDepth() {
    return config.maxQueuedTexts - room.availablePermits();
  }

  public SchedulerConfig config() {
    return config;
  }

  /** {@link #run(List, Reducer, Lane)} in the {@link Lane#INTERACTIVE} lane. */
  public <R> List<R> run(List<TokenizedText> texts, Reducer<R> reducer) {
    return run(texts, reducer, Lane.INTERACTIVE);
  }

  /**
   * Queues {@code texts} in {@code lane} and waits for their results, in order.
   *
   * @throws ModelOverloadedException if the queue had no room for {@code queueTimeoutMillis}
   * @throws RuntimeException the failure of the forward pass or reducer, if one failed
   */
  public <R> List<R> run(List<TokenizedText> texts, Reducer<R> reducer, Lane lane) {
    List<Task<R>> tasks = new ArrayList<>(texts.size());
    for (TokenizedText t : texts) {
      tasks.add(new Task<>(t, reducer));
    }
    if (tasks.size() <= config.maxQueuedTexts) {
      acquireRoom(tasks.size());
      enqueue(lane, tasks, 0, tasks.size());
      return awaitAll(tasks);
    }
    // A request larger than the whole queue goes in slices no bigger than a batch: later slices
    // wait (back-pressure) while the worker drains earlier ones.
    for (int from = 0; from < tasks.size(); from += config.maxBatchSize) {
      int to = Math.min(tasks.size(), from + config.maxBatchSize);
      acquireRoom(to - from);
      enqueue(lane, tasks, from, to);
    }
    return awaitAll(tasks);
  }

  /** Queues {@code tasks[from, to)} in slices of at most a batch, all at once. */
  private void enqueue(Lane lane, List<? extends Task<?>> tasks, int from, int to) {
    lock.lock();
    try {
      if (closed) {
        room.release(to - from);
        throw new IllegalStateException("model '" + modelName + "' is closed");
      }
      for (int start = from; start < to; start += config.maxBatchSize) {
        queued.get(lane).add(new ArrayList<>(tasks.subList(start, Math.min(to, start + config.maxBatchSize))));
      }
      arrived.get(lane).signal();
    } finally {
      lock.unlock();
    }
  }

  private static <R> List<R> awaitAll(List<Task<R>> tasks) {
    List<R> results = new ArrayList<>(tasks.size());
    for (Task<R> task : tasks) {
      results.add(await(task.result));
    }
    return results;
  }

  private void acquireRoom(int permits) {
    boolean acquired;
    try {
      acquired = room.tryAcquire(permits, config.queueTimeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for model '" + modelName + "'", e);
    }
    if (!acquired) {
      stats.rejected.add(permits);
      throw new ModelOverloadedException(
          "model '"
              + modelName
              + "' is overloaded: "
              + queueDepth()
              + " texts queued (maxQueuedTexts="
              + config.maxQueuedTexts
              + ") and no room freed within "
              + config.queueTimeoutMillis
              + " ms; retry later");
    }
  }

  private static <R> R await(CompletableFuture<R> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the model", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw new IllegalStateException(cause);
    }
  }

  private void work(Lane lane) {
    int window = config.maxBatchSize * GROUPING_WINDOW_BATCHES;
    List<Task<?>> taken = new ArrayList<>(window);
    while (!closed) {
      try {
        if (!take(lane, taken, window)) {
          continue;
        }
        room.release(taken.size());
        for (List<Task<?>> batch : group(taken)) {
          runBatch(batch);
        }
      } catch (InterruptedException e) {
        if (!closed) {
          log.warn("{} worker of model '{}' interrupted", lane, modelName);
        }
      } catch (Throwable t) {
        // never let the worker die: fail what it held and go on
        log.error("{} worker of model '{}' failed", lane, modelName, t);
        for (Task<?> task : taken) {
          task.result.completeExceptionally(t);
        }
      } finally {
        taken.clear();
      }
    }
    failPending();
  }

  /**
   * Moves a window of {@code lane}'s queued texts into {@code taken}: waits up to 100 ms for work,
   * and then up to {@code maxWaitMillis} for a fuller batch.
   *
   * @return false when there was no work
   */
  private boolean take(Lane lane, List<Task<?>> taken, int window) throws InterruptedException {
    lock.lock();
    try {
      ArrayDeque<List<Task<?>>> from = queued.get(lane);
      if (from.isEmpty()) {
        arrived.get(lane).await(100, TimeUnit.MILLISECONDS);
      }
      while (taken.size() < window && !from.isEmpty()) {
        taken.addAll(from.poll());
      }
      if (taken.isEmpty()) {
        return false;
      }
      if (config.maxWaitMillis > 0 && taken.size() < config.maxBatchSize) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.maxWaitMillis);
        long left;
        while (taken.size() < config.maxBatchSize && (left = deadline - System.nanoTime()) > 0) {
          if (from.isEmpty()) {
            arrived.get(lane).awaitNanos(left);
          } else {
            taken.addAll(from.poll());
          }
        }
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code taken} sorted by length (longest first; {@link SchedulerConfig.BatchOrder#ARRIVAL}
   * leaves it as it came) and cut into batches within the limits: a batch takes the next text while
   * it stays within {@code maxBatchSize} texts and its rows × its longest text (what the forward
   * pass pads to) within {@code maxBatchTokens}. So a batch's tensors are bounded by the budget
   * whatever the lengths, and only a text longer than the budget alone exceeds it, in a batch of
   * its own.
   */
  private List<List<Task<?>>> group(List<Task<?>> taken) {
    if (config.batchOrder == SchedulerConfig.BatchOrder.LENGTH) {
      taken.sort(Comparator.comparingInt((Task<?> t) -> t.text.length()).reversed());
    }
    List<List<Task<?>>> batches = new ArrayList<>();
    int start = 0;
    while (start < taken.size()) {
      int longest = taken.get(start).text.length();
      int end = start + 1;
      while (end < taken.size() && end - start < config.maxBatchSize) {
        int widened = Math.max(longest, taken.get(end).text.length());
        if ((long) (end - start + 1) * widened > config.maxBatchTokens) {
          break;
        }
        longest = widened;
        end++;
      }
      batches.add(new ArrayList<>(taken.subList(start, end)));
      start = end;
    }
    return batches;
  }

  /** Runs one batch, padded to its longest text. */
  private void runBatch(List<Task<?>> batch) {
    int longest = 0;
    List<TokenizedText> texts = new ArrayList<>(batch.size());
    long realTokens = 0;
    for (Task<?> t : batch) {
      texts.add(t.text);
      realTokens += t.text.length();
      longest = Math.max(longest, t.text.length());
    }
    long start = System.nanoTime();
    BatchOutput output;
    try {
      output = forward.run(texts);
    } catch (RuntimeException e) {
      stats.failedBatches.increment();
      RuntimeException failure =
          new IllegalStateException("model '" + modelName + "' failed on a batch of " + batch.size() + ": " + e.getMessage(), e);
      for (Task<?> t : batch) {
        t.result.completeExceptionally(failure);
      }
      return;
    }
    stats.forwardNanos.add(System.nanoTime() - start);
    stats.batches.increment();
    stats.texts.add(batch.size());
    stats.tokens.add(realTokens);
    stats.paddedTokens.add((long) batch.size() * longest);
    stats.peakBatchTokens.accumulate((long) batch.size() * longest);
    for (int row = 0; row < batch.size(); row++) {
      batch.get(row).complete(output, row);
    }
  }

  private void failPending() {
    IllegalStateException closedError = new IllegalStateException("model '" + modelName + "' is closed");
    lock.lock();
    try {
      for (ArrayDeque<List<Task<?>>> slices : queued.values()) {
        List<Task<?>> slice;
        while ((slice = slices.poll()) != null) {
          room.release(slice.size());
          for (Task<?> t : slice) {
            t.result.completeExceptionally(closedError);
          }
        }
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true; // under the lock: no caller queues after the workers' last drain
    } finally {
      lock.unlock();
    }
    workers.values().forEach(Thread::interrupt);
    try {
      for (Thread worker : workers.values()) {
        worker.join(10_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failPending();
  }
}
