package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeMap;
import org.junit.Test;

public class MetricsReportTest {
  @Test
  public void lastLineIsTheSummaryWhateverTheLocale() {
    Locale saved = Locale.getDefault();
    Locale.setDefault(Locale.GERMANY);
    try {
      TreeMap<String, RankingMetrics> perQuery = new TreeMap<>();
      perQuery.put("1", new RankingMetrics(0.5, 1.0, 0.5, 0.1, 0.5));
      perQuery.put("2", new RankingMetrics(0.25, 0.5, 0.25, 0.2, 1.0));
      Set<String> missing = new LinkedHashSet<>(List.of("3"));
      MetricsReport report = new MetricsReport(perQuery, missing, 2);
      assertEquals("ndcg@10=0.3750 recall@100=0.7500", report.summaryLine());
      String[] lines = report.toString().split("\n");
      assertEquals(report.summaryLine(), lines[lines.length - 1]);
      assertTrue(report.toString(), report.toString().contains("ndcg@10=0.2500 recall@100=0.5000"));
      assertEquals(0.75 / 3, report.meanCountingMissingAsZero().ndcgAt10(), 0);
    } finally {
      Locale.setDefault(saved);
    }
  }
}
