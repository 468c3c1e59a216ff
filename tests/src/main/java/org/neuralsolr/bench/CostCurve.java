package org.neuralsolr.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.eval.Machine;

/**
 * One cost curve as a data file, {@code <results>/curves/<name>.json}, which {@code ./neural-eval
 * --results} draws as an SVG ({@link org.neuralsolr.eval.SvgPlot}) into the "Cost curves" section of
 * docs/RESULTS.md. The benchmark that measured the points writes the file, so every drawn point has
 * the command and the machine next to it.
 *
 * <p>Keys: {@code title}, {@code x} and {@code y} ({@code label}, {@code log}), {@code series} (each
 * {@code name} and {@code points}, a list of {@code [x, y]}), {@code caption}, {@code command},
 * {@code machine} ({@link Machine#describe()}), optionally {@code loadAverage}.
 */
final class CostCurve {
  /** An axis: its label and whether it is drawn on a log scale. */
  record Axis(String label, boolean log) {
    Map<String, Object> toMap() {
      return Map.of("label", label, "log", log);
    }
  }

  private CostCurve() {}

  /** One line of a curve. */
  static Map<String, Object> series(String name, List<List<Number>> points) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("name", name);
    s.put("points", points);
    return s;
  }

  /**
   * @param loadAverage the load averages while the points were measured (e.g. "before / after"), or
   *     null when they come from several runs that recorded their own
   */
  static void write(Path file, String title, Axis x, Axis y, List<Map<String, Object>> series, String caption, String command,
      String loadAverage) throws IOException {
    Map<String, Object> curve = new LinkedHashMap<>();
    curve.put("tool", "neural-bench");
    curve.put("title", title);
    curve.put("x", x.toMap());
    curve.put("y", y.toMap());
    curve.put("series", series);
    curve.put("caption", caption);
    curve.put("command", command);
    curve.put("machine", Machine.describe());
    if (loadAverage != null) {
      curve.put("loadAverage", loadAverage);
    }
    Files.createDirectories(file.getParent());
    Files.writeString(file, Utils.toJSONString(curve) + "\n");
  }
}
