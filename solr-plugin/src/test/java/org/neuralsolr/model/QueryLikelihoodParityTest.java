package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.model.QueryLikelihood.Aggregation;

/**
 * The causal-LM fixture ({@code tiny-llama}: a Llama decoder) through ONNX Runtime and TorchScript
 * reproduces PyTorch's query likelihoods to 1e-4: the prompt assembled piecewise with the document
 * cut from the right, sum and mean aggregation, alone and among batch-mates of other lengths.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class QueryLikelihoodParityTest extends SolrTestCase {
  private static final double TOLERANCE = 1e-4;
  private static List<Map<String, Object>> pairs;
  private static ServedModel onnx;
  private static ServedModel torchScript;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    pairs = (List<Map<String, Object>>) ParityFixtures.reference("tiny-llama").get("pairs");
    onnx = new ServedModel(ParityFixtures.load("tiny-llama", "neural-model.json"), SchedulerConfig.DEFAULTS);
    torchScript = new ServedModel(ParityFixtures.load("tiny-llama", "neural-model-torchscript.json"), SchedulerConfig.DEFAULTS);
  }

  @AfterClass
  public static void close() {
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      if (m != null) {
        m.close();
      }
    }
    onnx = torchScript = null;
  }

  public void testManifestSettings() {
    QueryLikelihood ql = onnx.queryLikelihood();
    assertEquals(ParityFixtures.reference("tiny-llama").get("promptTemplate"), ql.template().toString());
    assertEquals(Aggregation.SUM, ql.aggregation());
    assertNull(onnx.crossEncoder());
  }

  public void testPromptIdsMatchPythonIncludingTheCutDocument() {
    QueryLikelihood ql = onnx.queryLikelihood();
    boolean sawTruncated = false;
    for (Map<String, Object> p : pairs) {
      long[] ids = ql.new Prompt((String) p.get("query"), ql.template()).inputIds((String) p.get("document"));
      assertArrayEquals((String) p.get("query"), ParityFixtures.longs(p.get("inputIds")), ids);
      sawTruncated |= (Boolean) p.get("truncated");
    }
    assertTrue("the fixture has a pair whose document is cut", sawTruncated);
  }

  public void testScoresMatchPythonAloneAndBatchedOnBothEngines() {
    List<String> documents = new ArrayList<>();
    for (Map<String, Object> p : pairs) {
      documents.add((String) p.get("document"));
    }
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      QueryLikelihood ql = m.queryLikelihood();
      for (int i = 0; i < pairs.size(); i++) {
        Map<String, Object> p = pairs.get(i);
        String query = (String) p.get("query");
        double sum = ((Number) p.get("scoreSum")).doubleValue();
        double mean = ((Number) p.get("scoreMean")).doubleValue();
        String what = m.engine() + ": " + query + " / " + p.get("document");
        assertEquals(what + " alone, sum", sum, ql.score(query, List.of(documents.get(i)), ql.template(), Aggregation.SUM)[0], TOLERANCE);
        assertEquals(what + " alone, mean", mean, ql.score(query, List.of(documents.get(i)), ql.template(), Aggregation.MEAN)[0], TOLERANCE);
        // every document in one call: pair i's input is right-padded among batch-mates of other lengths
        assertEquals(what + " batched, sum", sum, ql.score(query, documents, ql.template(), Aggregation.SUM)[i], TOLERANCE);
      }
    }
  }

  public void testTemplatesAreChecked() {
    QueryLikelihood ql = onnx.queryLikelihood();
    for (String bad : new String[] {"{query} {document}", "{document} {query} end", "no placeholders", "{document}{document}{query}"}) {
      expectThrows(IllegalArgumentException.class, () -> PromptTemplate.parse(bad));
    }
    // nothing but the document before the query, and no BOS token: the first query token has no context
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> ql.checkTemplate(PromptTemplate.parse("{document}{query}")));
    assertTrue(e.getMessage(), e.getMessage().contains("bosToken"));
    ql.checkTemplate(PromptTemplate.parse("{document} question: {query}"));
  }

  public void testAQueryThatCannotFitIsRefused() {
    QueryLikelihood ql = onnx.queryLikelihood();
    String longQuery = "word ".repeat(80);
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> ql.score(longQuery, List.of("doc"), ql.template(), Aggregation.SUM));
    assertTrue(e.getMessage(), e.getMessage().contains("maxLength 64"));
  }
}
