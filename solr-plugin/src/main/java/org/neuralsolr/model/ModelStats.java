package org.neuralsolr.model;

import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/** Counters of one loaded model, shared by every core using it; read by the metrics gauges. */
public final class ModelStats {
  final LongAdder texts = new LongAdder();
  final LongAdder batches = new LongAdder();
  final LongAdder tokens = new LongAdder();
  final LongAdder paddedTokens = new LongAdder();
  /** The most padded tokens (rows × longest text) of one forward pass so far. */
  final LongAccumulator peakBatchTokens = new LongAccumulator(Math::max, 0);
  final LongAdder forwardNanos = new LongAdder();
  final LongAdder rejected = new LongAdder();
  final LongAdder failedBatches = new LongAdder();

  public long texts() {
    return texts.sum();
  }

  public long batches() {
    return batches.sum();
  }

  public double meanBatchSize() {
    long b = batches.sum();
    return b == 0 ? 0 : (double) texts.sum() / b;
  }

  public long tokens() {
    return tokens.sum();
  }

  /** Tokens the forward passes computed, padding included (rows × longest text per pass). */
  public long paddedTokens() {
    return paddedTokens.sum();
  }

  /** Real tokens over padded tokens: how much of the computed work was not padding. */
  public double paddingEfficiency() {
    long padded = paddedTokens.sum();
    return padded == 0 ? 1 : (double) tokens.sum() / padded;
  }

  /**
   * The largest forward pass so far in padded tokens (rows × longest text): what the scheduler's
   * {@code maxBatchTokens} bounds, except for a single text longer than it, which runs alone.
   */
  public long peakBatchTokens() {
    return peakBatchTokens.get();
  }

  public double encodeMillis() {
    return forwardNanos.sum() / 1e6;
  }

  public long rejected() {
    return rejected.sum();
  }

  public long failedBatches() {
    return failedBatches.sum();
  }
}
