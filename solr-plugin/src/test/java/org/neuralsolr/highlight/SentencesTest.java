package org.neuralsolr.highlight;

import java.util.List;
import org.apache.lucene.tests.util.LuceneTestCase;

/** The neural highlighter's sentence splits, MaxSim attribution and tagging. */
public class SentencesTest extends LuceneTestCase {
  public void testSplitKeepsOffsetsIntoTheValueWithoutSurroundingSpace() {
    String text = "  Stem cells divide. They renew blood, e.g. in marrow!\n\nA new paragraph?  ";
    List<Sentences.Sentence> s = Sentences.of(List.of(text), false);
    assertEquals(3, s.size());
    for (int i = 0; i < s.size(); i++) {
      assertEquals(i, s.get(i).index());
      assertEquals(s.get(i).text(), text.substring(s.get(i).start(), s.get(i).end()));
      assertEquals(s.get(i).text().strip(), s.get(i).text());
    }
    assertEquals("They renew blood, e.g. in marrow!", s.get(1).text());
  }

  public void testEachValueOfAMultiValuedFieldIsOneSentence() {
    List<Sentences.Sentence> s = Sentences.of(List.of("One. Two.", "   ", " Three "), true);
    assertEquals(2, s.size());
    assertEquals("One. Two.", s.get(0).text());
    assertEquals(2, s.get(1).value());
    assertEquals(1, s.get(1).start());
  }

  public void testListedSentencesAreLocatedInOrderAndKeepTheirPosition() {
    String text = "A b. C d. A b.";
    List<Sentences.Sentence> s = Sentences.located(text, List.of("A b.", "missing", "A b."));
    assertEquals(2, s.size());
    assertEquals(0, s.get(0).start());
    assertEquals(2, s.get(1).index());
    assertEquals(10, s.get(1).start()); // after the first, not the first again
  }

  public void testMaxSimAttributesTokensToSentencesAndMergesWordPieces() {
    // two sentences [0,10) and [11,20); tokens: 0-4 and 4-6 (one word in two pieces), 12-15
    float[] doc = {1, 0, 0.6f, 0.8f, 0, 1};
    int[][] spans = {{0, 4}, {4, 6}, {12, 15}};
    float[][] query = {{1, 0}, {0, 1}};
    MaxSimSentences.Result r = MaxSimSentences.score(query, doc, 2, spans, List.of(new int[] {0, 10}, new int[] {11, 20}));
    assertEquals(1 + 0.8f, r.scores()[0], 1e-6);
    assertEquals(0 + 1, r.scores()[1], 1e-6);
    assertEquals(2, r.tokens()[0]);
    assertEquals(1, r.winners().get(0).size());
    assertArrayEquals(new int[] {0, 6}, r.winners().get(0).get(0));
  }

  public void testTaggedWrapsEachSpanOnce() {
    Sentences.Sentence s = new Sentences.Sentence(0, 0, 5, 21, "stem cells renew");
    assertEquals("<b>stem</b> cells <b>renew</b>", NeuralHighlighter.tagged(s, List.of(new int[] {5, 9}, new int[] {16, 21}), "<b>", "</b>"));
  }
}
