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
 * A real checkpoint through the causal-LM path: stories260K (a 260K-parameter Llama trained on
 * TinyStories, llama2.c format) converted by {@code scripts/convert_llama2c.py}. Its tokenizer.json
 * gives llama2.c's own token ids, greedy decoding from BOS reproduces the published sample ("Once
 * upon a time, there was a little girl named Lily...") on both engines, and the plugin's query
 * likelihoods equal the script's to 1e-4.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class Stories260kTest extends SolrTestCase {
  private static final double TOLERANCE = 1e-4;
  private static Map<String, Object> reference;
  private static ServedModel onnx;
  private static ServedModel torchScript;

  @BeforeClass
  public static void load() {
    reference = ParityFixtures.reference("stories260k");
    onnx = new ServedModel(ParityFixtures.load("stories260k", "neural-model.json"), SchedulerConfig.DEFAULTS);
    torchScript = new ServedModel(ParityFixtures.load("stories260k", "neural-model-torchscript.json"), SchedulerConfig.DEFAULTS);
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

  @SuppressWarnings("unchecked")
  public void testTokenizerIsLlama2cs() {
    for (Map<String, Object> c : (List<Map<String, Object>>) reference.get("tokenizerCases")) {
      String text = (String) c.get("text");
      assertArrayEquals(text, ParityFixtures.longs(c.get("ids")), onnx.model.tokenIdsWithoutSpecialTokens(text));
    }
    // with special tokens, the post-processor puts BOS first, as Llama's tokenizer does
    assertEquals(1, onnx.model.tokenize("Once upon a time").ids[0]);
  }

  /** run.c with temperature 0: feed BOS, append the argmax of the last position, repeat. */
  @SuppressWarnings("unchecked")
  public void testGreedyDecodingTellsTheStoryOfLilyOnBothEngines() {
    Map<String, Object> greedy = (Map<String, Object>) reference.get("greedy");
    assertTrue((String) greedy.get("text"), ((String) greedy.get("text")).startsWith("Once upon a time, there was a little girl named Lily."));
    long[] expected = ParityFixtures.longs(greedy.get("ids"));
    int steps = 20; // BOS + "Once upon a time, there was a little girl named Lily. She"
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      List<Long> tokens = new ArrayList<>(List.of(1L));
      while (tokens.size() < steps) {
        long[] ids = tokens.stream().mapToLong(Long::longValue).toArray();
        BatchOutput out = m.model.forward(List.of(new TokenizedText(ids, new long[ids.length])));
        int last = out.offset(0) + (ids.length - 1) * out.width;
        int best = 0;
        for (int v = 1; v < out.width; v++) {
          if (out.data[last + v] > out.data[last + best]) {
            best = v;
          }
        }
        tokens.add((long) best);
      }
      for (int i = 0; i < steps; i++) {
        assertEquals(m.engine() + " token " + i, expected[i], (long) tokens.get(i));
      }
    }
  }

  @SuppressWarnings("unchecked")
  public void testQueryLikelihoodsEqualPythonsOnBothEngines() {
    List<Map<String, Object>> pairs = (List<Map<String, Object>>) reference.get("pairs");
    List<String> documents = new ArrayList<>();
    for (Map<String, Object> p : pairs) {
      documents.add((String) p.get("document"));
    }
    for (ServedModel m : new ServedModel[] {onnx, torchScript}) {
      QueryLikelihood ql = m.queryLikelihood();
      assertEquals(Aggregation.MEAN, ql.aggregation());
      for (int i = 0; i < pairs.size(); i++) {
        Map<String, Object> p = pairs.get(i);
        String query = (String) p.get("query");
        long[] ids = ql.new Prompt(query, ql.template()).inputIds(documents.get(i));
        assertArrayEquals(query, ParityFixtures.longs(p.get("inputIds")), ids);
        String what = m.engine() + ": " + query;
        assertEquals(what + " mean", ((Number) p.get("scoreMean")).doubleValue(), ql.score(query, List.of(documents.get(i)), ql.template(), Aggregation.MEAN)[0], TOLERANCE);
        assertEquals(what + " sum", ((Number) p.get("scoreSum")).doubleValue(), ql.score(query, List.of(documents.get(i)), ql.template(), Aggregation.SUM)[0], TOLERANCE);
      }
      // every document in one call: the first and the cut pair among batch-mates of other lengths
      for (int i : new int[] {0, pairs.size() - 1}) {
        String query = (String) pairs.get(i).get("query");
        double[] batched = ql.score(query, documents, ql.template(), Aggregation.MEAN);
        assertEquals(m.engine() + " batched: " + query, ((Number) pairs.get(i).get("scoreMean")).doubleValue(), batched[i], TOLERANCE);
      }
    }
  }
}
