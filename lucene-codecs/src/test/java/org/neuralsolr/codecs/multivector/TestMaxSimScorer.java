package org.neuralsolr.codecs.multivector;

import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestMaxSimScorer extends LuceneTestCase {

  public void testEqualsNaiveMaxSim() {
    for (int iter = 0; iter < 100; iter++) {
      int dim = TestUtil.nextInt(random(), 1, 70);
      float[][] query = new float[TestUtil.nextInt(random(), 1, 40)][dim];
      for (float[] q : query) {
        for (int j = 0; j < dim; j++) {
          q[j] = (float) random().nextGaussian();
        }
      }
      MaxSimScorer scorer = new MaxSimScorer(query);
      // one scorer, documents of varying length: buffers are reused and grown
      for (int d = 0; d < 5; d++) {
        int tokens = TestUtil.nextInt(random(), 1, 300);
        float[] doc = new float[tokens * dim + random().nextInt(10)];
        for (int i = 0; i < doc.length; i++) {
          doc[i] = (float) random().nextGaussian();
        }
        double expected = MultiVectorTestUtil.naiveMaxSim(query, doc, tokens, dim);
        // each dot product is a float sum of dim products; their errors add up over the query
        double tolerance = 1e-5 * query.length * dim;
        float score = scorer.score(doc, tokens);
        assertEquals(expected, score, tolerance);
        int[] argmax = new int[query.length];
        float[] max = new float[query.length];
        assertEquals(Float.floatToIntBits(score), Float.floatToIntBits(scorer.score(doc, tokens, argmax, max)));
        for (int i = 0; i < query.length; i++) {
          double dot = 0;
          for (int j = 0; j < dim; j++) {
            dot += (double) query[i][j] * doc[argmax[i] * dim + j];
          }
          assertEquals(dot, max[i], 1e-5 * dim);
        }
      }
    }
  }

  public void testLuceneScoreMapping() {
    float previous = -1;
    for (float maxSim : new float[] {-1000f, -3f, -0.5f, 0f, 0.25f, 7f, 1000f}) {
      float score = MaxSimScorer.toLuceneScore(maxSim);
      assertTrue(score >= 0);
      assertTrue(score > previous); // order preserved
      previous = score;
      assertEquals(maxSim, MaxSimScorer.fromLuceneScore(score), 1e-3f * (1 + Math.abs(maxSim)));
    }
  }

  public void testBadInput() {
    expectThrows(IllegalArgumentException.class, () -> new MaxSimScorer(new float[0][]));
    MaxSimScorer scorer = new MaxSimScorer(new float[][] {{1, 2}});
    expectThrows(IllegalArgumentException.class, () -> scorer.score(new float[3], 2));
    expectThrows(IllegalArgumentException.class, () -> scorer.score(new float[4], 0));
  }
}
