package org.neuralsolr.schema;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.LuceneTestCase;

/** Both text forms of sparse weights, their escapes and errors, and the JSON round trip. */
public class SparseWeightsFormatTest extends LuceneTestCase {

  public void testJsonAndPairsReadTheSame() {
    Map<String, Float> expected = new LinkedHashMap<>();
    expected.put("solar", 1.25f);
    expected.put("##s", 0.5f);
    assertEquals(expected, SparseWeightsFormat.parse("{\"solar\": 1.25, \"##s\": 0.5}"));
    assertEquals(expected, SparseWeightsFormat.parse("solar:1.25,##s:0.5"));
    assertEquals(expected, SparseWeightsFormat.parse("  solar : 1.25 , ##s:0.5  "));
    assertEquals(expected, SparseWeightsFormat.parse(Map.of("solar", 1.25, "##s", 0.5f)));
    assertEquals(Map.of(), SparseWeightsFormat.parse(""));
  }

  public void testPairsTakeTheLastColonAndEscapes() {
    assertEquals(Map.of("a:b", 2f), SparseWeightsFormat.parse("a:b:2"));
    assertEquals(Map.of(",", 1f, ":", 2f, "\\", 3f), SparseWeightsFormat.parse("\\,:1,\\::2,\\\\:3"));
    assertEquals(Map.of("x,y", 1f), SparseWeightsFormat.parse("x\\,y:1"));
    assertEquals(Map.of("back\\slash", 1f), SparseWeightsFormat.parse("back\\\\slash:1"));
  }

  public void testErrorsSayWhatIsWrong() {
    for (Object[] c : List.of(
        new Object[] {"a:1,a:2", "term 'a' appears twice"},
        new Object[] {"a:x", "the weight of term 'a' is not a number: 'x'"},
        new Object[] {"a", "'a' is not term:weight"},
        new Object[] {"a:1,", "'' is not term:weight"},
        new Object[] {"{\"a\": \"high\"}", "the weight of term 'a' is not a number"},
        new Object[] {"{\"a\": 1", "not valid JSON"},
        new Object[] {List.of(1, 2), "must be a string"})) {
      IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> SparseWeightsFormat.parse(c[0]));
      assertTrue(c[0] + ": " + e.getMessage(), e.getMessage().contains((String) c[1]));
    }
  }

  public void testJsonRoundTripKeepsOrderAndEveryFloat() {
    Map<String, Float> weights = new LinkedHashMap<>();
    weights.put("quote\"d", 0.1f);
    weights.put("back\\slash", Float.MIN_VALUE);
    weights.put("tab\t", 3.4e38f);
    weights.put("ünï", 1f / 3);
    for (int i = 0; i < 100; i++) {
      weights.put("t" + i, random().nextFloat() * 10);
    }
    String json = SparseWeightsFormat.toJson(weights);
    Map<String, Float> back = SparseWeightsFormat.parse(json);
    assertEquals(weights, back);
    assertEquals(List.copyOf(weights.keySet()), List.copyOf(back.keySet()));
  }
}
