package org.neuralsolr.model;

import java.util.Locale;
import java.util.Objects;
import org.apache.solr.common.util.NamedList;

/**
 * Limits of one model's {@link BatchScheduler}, set in solrconfig.xml on the registry (for all its
 * models) or per model.
 */
public final class SchedulerConfig {
  /** The order in which the texts a worker takes are cut into batches. */
  public enum BatchOrder {
    /**
     * Longest first, so that texts of similar length share a batch and padding stays small (the
     * default): one 8,192-token document then runs with the other long ones, not with 255 short
     * texts padded to its length.
     */
    LENGTH,
    /**
     * As the texts arrived. Only for measuring what length-aware batching saves ({@code
     * ./neural-bench long}); batches still keep to {@code maxBatchTokens}.
     */
    ARRIVAL;

    static BatchOrder fromSetting(String value) {
      switch (value.trim()) {
        case "length":
          return LENGTH;
        case "arrival":
          return ARRIVAL;
        default:
          throw new IllegalArgumentException("scheduler setting 'batchOrder' must be length or arrival, got '" + value + "'");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Texts in one forward pass. */
  final int maxBatchSize;
  /**
   * Padded tokens (texts × longest text) in one forward pass; bounds activation memory whatever
   * the lengths. A single text longer than this runs alone (it is at most the model's {@code
   * maxLength}).
   */
  final int maxBatchTokens;
  /**
   * How long the worker waits for more texts before running a batch that is not full. 0 (the
   * default) runs whatever is queued at once: under load batches fill by themselves while the
   * previous one runs, and a lone query pays no wait.
   */
  final long maxWaitMillis;
  /** Texts waiting for the model, all callers together; the bound of the queue. */
  final int maxQueuedTexts;
  /** How long a caller waits for room in a full queue before getting an overload error (503). */
  final long queueTimeoutMillis;
  /** How taken texts are ordered before they are cut into batches; {@link BatchOrder#LENGTH} unless set. */
  final BatchOrder batchOrder;

  public SchedulerConfig(
      int maxBatchSize, int maxBatchTokens, long maxWaitMillis, int maxQueuedTexts, long queueTimeoutMillis) {
    this(maxBatchSize, maxBatchTokens, maxWaitMillis, maxQueuedTexts, queueTimeoutMillis, BatchOrder.LENGTH);
  }

  public SchedulerConfig(
      int maxBatchSize, int maxBatchTokens, long maxWaitMillis, int maxQueuedTexts, long queueTimeoutMillis, BatchOrder batchOrder) {
    if (maxBatchSize < 1 || maxBatchTokens < 1 || maxWaitMillis < 0 || maxQueuedTexts < maxBatchSize || queueTimeoutMillis < 0) {
      throw new IllegalArgumentException(
          "scheduler limits must be positive and maxQueuedTexts >= maxBatchSize: " + describe(maxBatchSize, maxBatchTokens, maxWaitMillis, maxQueuedTexts, queueTimeoutMillis));
    }
    this.maxBatchSize = maxBatchSize;
    this.maxBatchTokens = maxBatchTokens;
    this.maxWaitMillis = maxWaitMillis;
    this.maxQueuedTexts = maxQueuedTexts;
    this.queueTimeoutMillis = queueTimeoutMillis;
    this.batchOrder = Objects.requireNonNull(batchOrder);
  }

  public static final SchedulerConfig DEFAULTS = new SchedulerConfig(32, 16384, 0, 4096, 10_000);

  /** Reads the keys of a {@code <lst name="scheduler">}, falling back to {@code base}. */
  public static SchedulerConfig fromNamedList(NamedList<?> args, SchedulerConfig base) {
    if (args == null) {
      return base;
    }
    for (int i = 0; i < args.size(); i++) {
      String key = args.getName(i);
      if (!key.equals("maxBatchSize") && !key.equals("maxBatchTokens") && !key.equals("maxWaitMillis")
          && !key.equals("maxQueuedTexts") && !key.equals("queueTimeoutMillis") && !key.equals("batchOrder")) {
        throw new IllegalArgumentException("unknown scheduler setting '" + key + "'");
      }
    }
    return new SchedulerConfig(
        intArg(args, "maxBatchSize", base.maxBatchSize),
        intArg(args, "maxBatchTokens", base.maxBatchTokens),
        intArg(args, "maxWaitMillis", (int) base.maxWaitMillis),
        intArg(args, "maxQueuedTexts", base.maxQueuedTexts),
        intArg(args, "queueTimeoutMillis", (int) base.queueTimeoutMillis),
        args.get("batchOrder") == null ? base.batchOrder : BatchOrder.fromSetting(args.get("batchOrder").toString()));
  }

  private static int intArg(NamedList<?> args, String key, int fallback) {
    Object v = args.get(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Number) {
      return ((Number) v).intValue();
    }
    try {
      return Integer.parseInt(v.toString().trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("scheduler setting '" + key + "' must be an integer, got '" + v + "'");
    }
  }

  private static String describe(int a, int b, long c, int d, long e) {
    return "maxBatchSize=" + a + " maxBatchTokens=" + b + " maxWaitMillis=" + c + " maxQueuedTexts=" + d + " queueTimeoutMillis=" + e;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SchedulerConfig)) {
      return false;
    }
    SchedulerConfig c = (SchedulerConfig) o;
    return maxBatchSize == c.maxBatchSize && maxBatchTokens == c.maxBatchTokens && maxWaitMillis == c.maxWaitMillis
        && maxQueuedTexts == c.maxQueuedTexts && queueTimeoutMillis == c.queueTimeoutMillis && batchOrder == c.batchOrder;
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxBatchSize, maxBatchTokens, maxWaitMillis, maxQueuedTexts, queueTimeoutMillis, batchOrder);
  }

  @Override
  public String toString() {
    return describe(maxBatchSize, maxBatchTokens, maxWaitMillis, maxQueuedTexts, queueTimeoutMillis) + " batchOrder=" + batchOrder;
  }
}
