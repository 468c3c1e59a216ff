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

  /** The one-matrix MaxSim against the definition, on random vectors, tokens outside every sentence included. */
  public void testMaxSimMatchesItsDefinitionOnRandomVectors() {
    for (int iter = 0; iter < 20; iter++) {
      int dim = 1 + random().nextInt(70);
      int tokens = random().nextInt(60);
      float[][] query = new float[1 + random().nextInt(12)][dim];
      for (float[] q : query) {
        for (int i = 0; i < dim; i++) {
          q[i] = random().nextFloat() * 2 - 1;
        }
      }
      float[] doc = new float[tokens * dim];
      for (int i = 0; i < doc.length; i++) {
        doc[i] = random().nextFloat() * 2 - 1;
      }
      // token t covers [3t, 3t + 2); every 7th covers nothing (a special token)
      int[][] spans = new int[tokens][];
      for (int t = 0; t < tokens; t++) {
        spans[t] = t % 7 == 6 ? new int[] {-1, -1} : new int[] {3 * t, 3 * t + 2};
      }
      List<int[]> sentences = new java.util.ArrayList<>();
      for (int from = 0; from < 3 * tokens + 10; ) {
        int to = from + 1 + random().nextInt(40);
        sentences.add(new int[] {from, to});
        from = to + random().nextInt(3); // sometimes a gap no sentence covers
      }
      MaxSimSentences.Result r = MaxSimSentences.score(query, doc, dim, spans, sentences);
      for (int s = 0; s < sentences.size(); s++) {
        int[] range = sentences.get(s);
        double expected = 0;
        int owned = 0;
        java.util.TreeSet<Integer> winners = new java.util.TreeSet<>();
        for (int t = 0; t < tokens; t++) {
          owned += spans[t][0] >= range[0] && spans[t][0] < range[1] ? 1 : 0;
        }
        for (float[] q : query) {
          double best = Double.NEGATIVE_INFINITY;
          int arg = -1;
          for (int t = 0; t < tokens; t++) {
            if (spans[t][0] >= range[0] && spans[t][0] < range[1]) {
              double dot = 0;
              for (int i = 0; i < dim; i++) {
                dot += q[i] * doc[t * dim + i];
              }
              if (dot > best) {
                best = dot;
                arg = t;
              }
            }
          }
          if (arg >= 0) {
            expected += best;
            winners.add(arg);
          }
        }
        assertEquals(owned, r.tokens()[s]);
        assertEquals(expected, r.scores()[s], 1e-4);
        // spans of distinct tokens never touch here, so each winning token stays its own span
        java.util.TreeSet<Integer> won = new java.util.TreeSet<>();
        for (int[] span : r.winners().get(s)) {
          won.add(span[0] / 3);
        }
        assertEquals(winners, won);
      }
    }
  }

  public void testTaggedWrapsEachSpanOnce() {
    Sentences.Sentence s = new Sentences.Sentence(0, 0, 5, 21, "stem cells renew");
    assertEquals("<b>stem</b> cells <b>renew</b>", NeuralHighlighter.tagged(s, List.of(new int[] {5, 9}, new int[] {16, 21}), "<b>", "</b>"));
  }
}
