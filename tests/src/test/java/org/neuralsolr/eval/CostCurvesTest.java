package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.solr.common.util.Utils;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The cost curves of {@code ./neural-eval --results}: each data file under {@code curves/} becomes a
 * well-formed SVG chart beside the table, with one line per series and one marker per plottable
 * point, and the table links it with its command.
 */
public class CostCurvesTest {
  @Rule public final TemporaryFolder files = new TemporaryFolder();

  @Test
  public void drawsEachCurveAndLinksIt() throws Exception {
    Path reports = files.newFolder("results").toPath();
    Files.createDirectories(reports.resolve("curves"));
    Map<String, Object> curve = Map.of(
        "title", "Query latency against collection size",
        "x", Map.of("label", "documents", "log", true),
        "y", Map.of("label", "p50 ms", "log", true),
        "series", List.of(
            Map.of("name", "exact", "points", List.of(List.of(10_000, 0.8), List.of(100_000, 7.5), List.of(1_000_000, 80.0))),
            // 0 cannot be placed on a log axis: left out, not drawn at the edge
            Map.of("name", "approximate <r=0.98>", "points", List.of(List.of(10_000, 0.0), List.of(100_000, 1.5), List.of(1_000_000, 9.0)))),
        "caption", "A caption.",
        "command", "./neural-bench sparse-scale",
        "machine", Machine.describe());
    Files.writeString(reports.resolve("curves/sparse-latency.json"), Utils.toJSONString(curve));
    Path out = files.getRoot().toPath().resolve("docs/RESULTS.md");
    ResultsTable.write(reports, out);

    String md = Files.readString(out);
    assertTrue(md, md.contains("![Query latency against collection size](curves/sparse-latency.svg)"));
    assertTrue(md, md.contains("Command: `./neural-bench sparse-scale`"));
    String svg = Files.readString(out.getParent().resolve("curves/sparse-latency.svg"));
    Document dom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    NodeList lines = dom.getElementsByTagName("polyline");
    assertEquals(2, lines.getLength());
    assertEquals(3, ((Element) lines.item(0)).getAttribute("points").split(" ").length);
    assertEquals(2, ((Element) lines.item(1)).getAttribute("points").split(" ").length);
    assertEquals(5, dom.getElementsByTagName("circle").getLength());
    assertTrue(svg, svg.contains("approximate &lt;r=0.98&gt;"));
    // log ticks of a three-decade range: the powers of ten, labelled as sizes
    assertTrue(svg, svg.contains(">10K<") && svg.contains(">100K<") && svg.contains(">1M<"));
    // every marker lies inside the plot frame
    NodeList circles = dom.getElementsByTagName("circle");
    for (int i = 0; i < circles.getLength(); i++) {
      double cx = Double.parseDouble(((Element) circles.item(i)).getAttribute("cx"));
      double cy = Double.parseDouble(((Element) circles.item(i)).getAttribute("cy"));
      assertTrue(cx + "," + cy, cx > 78 && cx < 720 - 190 && cy > 44 && cy < 440 - 58);
    }
  }

  @Test
  public void noCurvesNoSection() throws Exception {
    Path reports = files.newFolder("results").toPath();
    Path out = files.getRoot().toPath().resolve("docs/RESULTS.md");
    ResultsTable.write(reports, out);
    assertFalse(Files.readString(out).contains("Cost curves"));
  }
}
