package org.neuralsolr.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws a line chart as a self-contained SVG document: one polyline with markers per series, axes
 * with ticks (linear or base-10 logarithmic), a legend and a title. No library and no fonts to
 * fetch, so the charts under {@code docs/curves/} render on GitHub and in any browser.
 *
 * <p>Input is a cost curve as the benchmarks write it (see {@link ResultsTable}): {@code title},
 * {@code x} and {@code y} ({@code label}, {@code log}), and {@code series}, each a {@code name} and
 * {@code points} as {@code [x, y]} pairs. Points with a non-positive coordinate on a log axis are
 * left out, as no log scale can place them.
 */
final class SvgPlot {
  private static final int WIDTH = 720;
  private static final int HEIGHT = 440;
  private static final int LEFT = 78;
  private static final int RIGHT = 190;
  private static final int TOP = 44;
  private static final int BOTTOM = 58;
  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

  private SvgPlot() {}

  /** One axis: its label, whether it is logarithmic, and the data range it maps to the plot. */
  private record Axis(String label, boolean log, double min, double max) {
    double position(double v) {
      return log ? (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) : (v - min) / (max - min);
    }

    /** Tick values: powers of ten (with 2 and 5 when the range spans few decades) or a 1-2-5 step. */
    List<Double> ticks() {
      List<Double> out = new ArrayList<>();
      if (log) {
        int lo = (int) Math.floor(Math.log10(min));
        int hi = (int) Math.ceil(Math.log10(max));
        double[] mantissas = hi - lo <= 2 ? new double[] {1, 2, 5} : new double[] {1};
        for (int e = lo; e <= hi; e++) {
          for (double m : mantissas) {
            double v = m * Math.pow(10, e);
            if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) {
              out.add(v);
            }
          }
        }
      } else {
        double raw = (max - min) / 6;
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / magnitude < 1.5 ? magnitude : raw / magnitude < 3.5 ? 2 * magnitude : raw / magnitude < 7.5 ? 5 * magnitude : 10 * magnitude;
        for (double v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
          out.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        }
      }
      return out;
    }
  }

  @SuppressWarnings("unchecked")
  static String draw(Map<String, Object> curve) {
    Map<String, Object> x = (Map<String, Object>) curve.get("x");
    Map<String, Object> y = (Map<String, Object>) curve.get("y");
    boolean xLog = Boolean.TRUE.equals(x.get("log"));
    boolean yLog = Boolean.TRUE.equals(y.get("log"));
    List<String> names = new ArrayList<>();
    List<List<double[]>> series = new ArrayList<>();
    double[] xr = {Double.MAX_VALUE, -Double.MAX_VALUE};
    double[] yr = {Double.MAX_VALUE, -Double.MAX_VALUE};
    for (Map<String, Object> s : (List<Map<String, Object>>) curve.get("series")) {
      List<double[]> points = new ArrayList<>();
      for (List<Number> p : (List<List<Number>>) s.get("points")) {
        double px = p.get(0).doubleValue();
        double py = p.get(1).doubleValue();
        if ((xLog && px <= 0) || (yLog && py <= 0) || !Double.isFinite(px) || !Double.isFinite(py)) {
          continue;
        }
        points.add(new double[] {px, py});
        xr[0] = Math.min(xr[0], px);
        xr[1] = Math.max(xr[1], px);
        yr[0] = Math.min(yr[0], py);
        yr[1] = Math.max(yr[1], py);
      }
      names.add(String.valueOf(s.get("name")));
      series.add(points);
    }
    if (xr[0] > xr[1]) {
      throw new IllegalArgumentException("cost curve '" + curve.get("title") + "' has no point to plot");
    }
    Axis xa = axis((String) x.get("label"), xLog, xr, false);
    Axis ya = axis((String) y.get("label"), yLog, yr, true);
    int pw = WIDTH - LEFT - RIGHT;
    int ph = HEIGHT - TOP - BOTTOM;

    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
        WIDTH, HEIGHT, WIDTH, HEIGHT));
    svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT));
    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", LEFT, escape((String) curve.get("title"))));
    for (double t : xa.ticks()) {
      double px = LEFT + xa.position(t) * pw;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e5e5\"/>\n", px, TOP, px, TOP + ph));
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", px, TOP + ph + 17, label(t)));
    }
    for (double t : ya.ticks()) {
      double py = TOP + ph - ya.position(t) * ph;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", LEFT, py, LEFT + pw, py));
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 6, py + 4, label(t)));
    }
    svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", LEFT, TOP, pw, ph));
    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
        LEFT + pw / 2, HEIGHT - 14, escape(xa.label() + (xLog ? " (log scale)" : ""))));
    svg.append(String.format(Locale.ROOT, "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
        TOP + ph / 2, escape(ya.label() + (yLog ? " (log scale)" : ""))));
    for (int s = 0; s < series.size(); s++) {
      String color = COLORS[s % COLORS.length];
      StringBuilder line = new StringBuilder();
      for (double[] p : series.get(s)) {
        double px = LEFT + xa.position(p[0]) * pw;
        double py = TOP + ph - ya.position(p[1]) * ph;
        line.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
        svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s: %s, %s</title></circle>\n",
            px, py, color, escape(names.get(s)), label(p[0]), label(p[1])));
      }
      svg.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", line.toString().trim(), color));
      int ly = TOP + 10 + s * 20;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n",
          LEFT + pw + 14, ly, LEFT + pw + 38, ly, color));
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>\n", LEFT + pw + 44, ly + 4, escape(names.get(s))));
    }
    svg.append("</svg>\n");
    return svg.toString();
  }

  /** The data range, padded on a linear axis (and from 0 on a linear y axis, so heights compare). */
  private static Axis axis(String label, boolean log, double[] range, boolean fromZero) {
    double min = range[0];
    double max = range[1];
    if (log) {
      if (min == max) {
        min /= 2;
        max *= 2;
      }
      return new Axis(label, true, min / 1.15, max * 1.15);
    }
    if (fromZero && min > 0) {
      min = 0;
    }
    if (min == max) {
      max = min + 1;
    }
    double pad = (max - min) * 0.05;
    return new Axis(label, false, min == 0 ? 0 : min - pad, max + pad);
  }

  private static String label(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      long l = (long) v;
      return l >= 10_000 && l % 1000 == 0 ? (l % 1_000_000 == 0 ? l / 1_000_000 + "M" : l / 1000 + "K") : Long.toString(l);
    }
    return Math.abs(v) >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.3g", v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
