package org.neuralsolr.search;

import java.util.List;
import org.apache.lucene.tests.util.LuceneTestCase;

/** How long documents are cut into passages for FirstP and MaxP, and MaxSim's arithmetic. */
public class PassagesTest extends LuceneTestCase {
  private static String words(int from, int to) {
    StringBuilder s = new StringBuilder();
    for (int i = from; i < to; i++) {
      s.append(i == from ? "" : " ").append("w").append(i);
    }
    return s.toString();
  }

  public void testShortTextIsOnePassageAsItIs() {
    Passages max = new Passages(Passages.Aggregation.MAX, 5, 2, 8);
    assertEquals(List.of("  a  b \n c "), max.split("  a  b \n c "));
    assertEquals(List.of(""), max.split(""));
  }

  public void testWindowsOverlapByStrideAndEndAtTheLastWord() {
    Passages max = new Passages(Passages.Aggregation.MAX, 4, 2, 8);
    assertEquals(List.of(words(0, 4), words(2, 6), words(4, 8), words(6, 9)), max.split(words(0, 9)));
    // the window that reaches the last word is the last one
    assertEquals(List.of(words(0, 4), words(2, 6)), max.split(words(0, 6)));
  }

  public void testMaxPassagesCapsTheWindowsAndFirstPKeepsOne() {
    assertEquals(List.of(words(0, 3), words(3, 6)), new Passages(Passages.Aggregation.MAX, 3, 3, 2).split(words(0, 20)));
    assertEquals(List.of(words(0, 3)), new Passages(Passages.Aggregation.FIRST, 3, 3, 8).split(words(0, 20)));
  }

  public void testMaxSimSumsEachQueryVectorsBestDotProduct() {
    TokenVectors q = new TokenVectors(new float[] {1, 0, 0, 1}, 2, 2);
    TokenVectors d = new TokenVectors(new float[] {0.6f, 0.8f, -1, 0, 0.8f, 0.6f}, 3, 2);
    // q0 = (1,0): best 0.8 (third); q1 = (0,1): best 0.8 (first)
    assertEquals(1.6f, TokenVectors.maxSim(q, d), 1e-6f);
    expectThrows(IllegalArgumentException.class, () -> TokenVectors.maxSim(q, new TokenVectors(new float[3], 1, 3)));
  }

  public void testCosineIgnoresLength() {
    assertEquals(1f, DenseWindowScorer.cosine(new float[] {1, 2}, new float[] {2, 4}), 1e-6f);
    assertEquals(0f, DenseWindowScorer.cosine(new float[] {1, 0}, new float[] {0, 3}), 1e-6f);
    assertEquals(0f, DenseWindowScorer.cosine(new float[] {0, 0}, new float[] {0, 3}), 0f);
  }
}
