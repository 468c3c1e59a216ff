package org.neuralsolr.eval;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr: done/total, rate, ETA. */
final class ProgressBar {
  private static final int WIDTH = 30;
  private final String label;
  private final long total;
  private final long start = System.nanoTime();
  private final PrintStream out;
  private long lastPrint;
  private boolean lineOpen;

  ProgressBar(String label, long total, PrintStream out) {
    this.label = label;
    this.total = total;
    this.out = out;
  }

  /** Redraws at most twice a second, and always at the end. */
  synchronized void update(long done) {
    long now = System.nanoTime();
    if (done < total && now - lastPrint < 500_000_000L) {
      return;
    }
    lastPrint = now;
    double seconds = (now - start) / 1e9;
    double rate = seconds > 0 ? done / seconds : 0;
    int filled = total == 0 ? WIDTH : (int) (WIDTH * done / total);
    String eta = rate > 0 && done < total ? formatSeconds((total - done) / rate) : "0s";
    out.printf(
        Locale.ROOT,
        "\r%s [%s%s] %,d/%,d  %.1f/s  ETA %s   ",
        label,
        "=".repeat(filled),
        " ".repeat(WIDTH - filled),
        done,
        total,
        rate,
        eta);
    lineOpen = done < total;
    if (!lineOpen) {
      out.println();
    }
    out.flush();
  }

  /** Ends the bar's line if it was left unfinished (a failure), so that what follows starts a line. */
  synchronized void close() {
    if (lineOpen) {
      out.println();
      out.flush();
      lineOpen = false;
    }
  }

  double rate(long done) {
    return done / ((System.nanoTime() - start) / 1e9);
  }

  static String formatSeconds(double s) {
    long t = Math.round(s);
    return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", t / 3600, (t % 3600) / 60)
        : t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
  }
}
