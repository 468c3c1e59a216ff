package org.neuralsolr.model;

import java.io.Closeable;
import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches the texts of all callers of one model (ingest and queries alike) into forward passes.
 *
 * <p>Callers tokenise in their own threads and queue the token ids; one worker thread takes what
 * is queued (up to a window of several batches), sorts it by length so that texts of similar
 * length share a batch and padding stays small, cuts it into batches bounded by {@code
 * maxBatchSize} texts and {@code maxBatchTokens} padded tokens, runs them, and hands each text's
 * rows to the caller's {@link Reducer} (pooling, sparsification...) on the worker thread, so only
 * the reduced result is kept. The queue is bounded by {@code maxQueuedTexts}: a caller waits for
 * room at most {@code queueTimeoutMillis}, then gets a {@link ModelOverloadedException}.
 */
public final class BatchScheduler implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());
  /** Batches' worth of queued texts sorted together; more gives better length grouping. */
  private static final int GROUPING_WINDOW_BATCHES = 4;

  /** Turns one text's rows of a batch output into what the caller wants. Runs on the worker. */
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
  /** Slices of callers' texts, each at most a batch. */
  private final LinkedBlockingQueue<List<Task<?>>> queue = new LinkedBlockingQueue<>();
  /**
   * Held by a caller while it queues all slices of a request that fits the queue, and by the worker
   * while it drains: the worker then takes a request's slices together, never the first ones alone,
   * so a lone caller's batches do not depend on thread timing. That matters for dynamically
   * quantised models, whose outputs depend slightly on their batch-mates.
   */
  private final Object enqueueLock = new Object();
  private final Semaphore room;
  private final Thread worker;
  private volatile boolean closed;

  BatchScheduler(String modelName, Forward forward, SchedulerConfig config, ModelStats stats) {
    this.modelName = modelName;
    this.forward = forward;
    this.config = config;
    this.stats = stats;
    this.room = new Semaphore(config.maxQueuedTexts);
    this.worker = new Thread(this::work, "neural-model-" + modelName);
    this.worker.setDaemon(true);
    // DJL resolves native resources through the context class loader
    this.worker.setContextClassLoader(BatchScheduler.class.getClassLoader());
    this.worker.start();
  }

  /** Texts queued and not yet taken by the worker. */
  public int queueDepth() {
    return config.maxQueuedTexts - room.availablePermits();
  }

  public SchedulerConfig config() {
    return config;
  }

  /**
   * Queues {@code texts} and waits for their results, in order.
   *
   * @throws ModelOverloadedException if the queue had no room for {@code queueTimeoutMillis}
   * @throws RuntimeException the failure of the forward pass or reducer, if one failed
   */
  public <R> List<R> run(List<TokenizedText> texts, Reducer<R> reducer) {
    List<Task<R>> tasks = new ArrayList<>(texts.size());
    for (TokenizedText t : texts) {
      tasks.add(new Task<>(t, reducer));
    }
    if (tasks.size() <= config.maxQueuedTexts) {
      acquireRoom(tasks.size());
      synchronized (enqueueLock) {
        if (closed) {
          room.release(tasks.size());
          throw new IllegalStateException("model '" + modelName + "' is closed");
        }
        for (int from = 0; from < tasks.size(); from += config.maxBatchSize) {
          queue.add(new ArrayList<>(tasks.subList(from, Math.min(tasks.size(), from + config.maxBatchSize))));
        }
      }
      if (closed) {
        failPending(); // the worker may have exited between the check and the add
      }
      return awaitAll(tasks);
    }
    // A request larger than the whole queue goes in slices no bigger than a batch: later slices
    // wait (back-pressure) while the worker drains earlier ones.
    for (int from = 0; from < tasks.size(); from += config.maxBatchSize) {
      int to = Math.min(tasks.size(), from + config.maxBatchSize);
      acquireRoom(to - from);
      if (closed) {
        room.release(to - from);
        throw new IllegalStateException("model '" + modelName + "' is closed");
      }
      queue.add(new ArrayList<>(tasks.subList(from, to)));
      if (closed) {
        failPending(); // the worker may have exited between the check and the add
      }
    }
    return awaitAll(tasks);
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

  private void work() {
    int window = config.maxBatchSize * GROUPING_WINDOW_BATCHES;
    List<Task<?>> taken = new ArrayList<>(window);
    while (!closed) {
      try {
        List<Task<?>> first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        taken.addAll(first);
        List<Task<?>> next;
        synchronized (enqueueLock) {
          while (taken.size() < window && (next = queue.poll()) != null) {
            taken.addAll(next);
          }
        }
        if (config.maxWaitMillis > 0 && taken.size() < config.maxBatchSize) {
          long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.maxWaitMillis);
          while (taken.size() < config.maxBatchSize
              && (next = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) != null) {
            taken.addAll(next);
          }
        }
        room.release(taken.size());
        runGrouped(taken);
      } catch (InterruptedException e) {
        if (!closed) {
          log.warn("worker of model '{}' interrupted", modelName);
        }
      } catch (Throwable t) {
        // never let the worker die: fail what it held and go on
        log.error("worker of model '{}' failed", modelName, t);
        for (Task<?> task : taken) {
          task.result.completeExceptionally(t);
        }
      } finally {
        taken.clear();
      }
    }
    failPending();
  }

  private void runGrouped(List<Task<?>> taken) {
    taken.sort(Comparator.comparingInt((Task<?> t) -> t.text.length()).reversed());
    int start = 0;
    while (start < taken.size()) {
      int longest = taken.get(start).text.length();
      int end = start + 1;
      while (end < taken.size()
          && end - start < config.maxBatchSize
          && (long) (end - start + 1) * longest <= config.maxBatchTokens) {
        end++;
      }
      runBatch(taken.subList(start, end), longest);
      start = end;
    }
  }

  private void runBatch(List<Task<?>> batch, int longest) {
    List<TokenizedText> texts = new ArrayList<>(batch.size());
    long realTokens = 0;
    for (Task<?> t : batch) {
      texts.add(t.text);
      realTokens += t.text.length();
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
    for (int row = 0; row < batch.size(); row++) {
      batch.get(row).complete(output, row);
    }
  }

  private void failPending() {
    IllegalStateException closedError = new IllegalStateException("model '" + modelName + "' is closed");
    List<Task<?>> slice;
    while ((slice = queue.poll()) != null) {
      room.release(slice.size());
      for (Task<?> t : slice) {
        t.result.completeExceptionally(closedError);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    worker.interrupt();
    try {
      worker.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failPending();
  }
}
