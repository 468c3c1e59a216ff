package org.neuralsolr.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float multiply-add peak of one core, measured with the JDK Vector API: {@link #CHAINS}
 * independent {@code acc = acc.fma(a, b)} chains on register-resident vectors of the preferred
 * species, so neither memory nor the latency of one chain limits the rate. The result is what a
 * dense kernel on this core could reach at best; benchmarks report their GFLOP/s as a fraction of
 * it. Only loaded where {@code jdk.incubator.vector} is available ({@code --add-modules
 * jdk.incubator.vector}).
 */
final class FmaPeak {
  /** Enough independent chains to cover FMA latency (4 cycles) times issue width (2 per cycle). */
  static final int CHAINS = 12;

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private FmaPeak() {}

  /** Lanes of the preferred float vector. */
  static int lanes() {
    return SPECIES.length();
  }

  /** Best GFLOP/s (an FMA counts 2) of {@code rounds} runs of about {@code millis} each, 1 thread. */
  static double gflops(int rounds, long millis) {
    return gflops(rounds, millis, false);
  }

  /**
   * Like {@link #gflops(int, long)}, timed in this thread's CPU time when {@code cpuTime}: on a
   * machine shared with other work, the rate while this thread actually ran.
   */
  static double gflops(int rounds, long millis, boolean cpuTime) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    double best = 0;
    sink(run(20_000)); // compile
    for (int r = 0; r < rounds; r++) {
      long iterations = 0;
      float sum = 0;
      long t0 = cpuTime ? threads.getCurrentThreadCpuTime() : System.nanoTime();
      long deadline = t0 + millis * 1_000_000L;
      long now;
      do {
        sum += run(100_000);
        iterations += 100_000;
        now = cpuTime ? threads.getCurrentThreadCpuTime() : System.nanoTime();
      } while (now < deadline);
      sink(sum);
      double flops = 2.0 * CHAINS * SPECIES.length() * iterations;
      best = Math.max(best, flops / (now - t0));
    }
    return best;
  }

  private static volatile float sink;

  private static void sink(float v) {
    sink = v;
  }

  /** {@code iterations} FMAs on each of the chains; returns their sum so none is dead code. */
  private static float run(int iterations) {
    // a slightly below 1 and b small keep every accumulator finite and normal for any count
    FloatVector a = FloatVector.broadcast(SPECIES, 0.999999f);
    FloatVector b = FloatVector.broadcast(SPECIES, 1e-6f);
    FloatVector c0 = FloatVector.broadcast(SPECIES, 0.1f), c1 = FloatVector.broadcast(SPECIES, 0.2f);
    FloatVector c2 = FloatVector.broadcast(SPECIES, 0.3f), c3 = FloatVector.broadcast(SPECIES, 0.4f);
    FloatVector c4 = FloatVector.broadcast(SPECIES, 0.5f), c5 = FloatVector.broadcast(SPECIES, 0.6f);
    FloatVector c6 = FloatVector.broadcast(SPECIES, 0.7f), c7 = FloatVector.broadcast(SPECIES, 0.8f);
    FloatVector c8 = FloatVector.broadcast(SPECIES, 0.9f), c9 = FloatVector.broadcast(SPECIES, 1.0f);
    FloatVector c10 = FloatVector.broadcast(SPECIES, 1.1f), c11 = FloatVector.broadcast(SPECIES, 1.2f);
    for (int i = 0; i < iterations; i++) {
      c0 = c0.fma(a, b);
      c1 = c1.fma(a, b);
      c2 = c2.fma(a, b);
      c3 = c3.fma(a, b);
      c4 = c4.fma(a, b);
      c5 = c5.fma(a, b);
      c6 = c6.fma(a, b);
      c7 = c7.fma(a, b);
      c8 = c8.fma(a, b);
      c9 = c9.fma(a, b);
      c10 = c10.fma(a, b);
      c11 = c11.fma(a, b);
    }
    return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
        .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
  }
}
