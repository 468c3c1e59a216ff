package org.neuralsolr.codecs.multivector;

import org.apache.lucene.document.Document;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.Directory;
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

  /**
   * On 2-bit codes whose per-token code is whole ints (dimensions a multiple of 16), {@link
   * MaxSimScorer#score(MultiVectorValues)} runs the document-lane kernel on the packed codes and
   * {@link MaxSimScorer#score(MultiVectorValues, int[], float[])} the query-lane kernel on decoded
   * residuals: both give the same bits, and equal MaxSim of the decoded vectors up to rounding.
   */
  public void testTwoBitCodesScoreAsDecoded() throws Exception {
    int dim = 16 * TestUtil.nextInt(random(), 1, 5);
    FieldType type = MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 8, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 6, 0.5f, false);
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = new IndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      try (IndexWriter w = new IndexWriter(dir, iwc)) {
        for (int d = 0; d < 40; d++) {
          Document doc = new Document();
          doc.add(new MultiVectorField("mv", data.matrix(random(), TestUtil.nextInt(random(), 1, 70)), type));
          w.addDocument(doc);
        }
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        for (int iter = 0; iter < 5; iter++) {
          float[][] query = data.matrix(random(), TestUtil.nextInt(random(), 1, 40));
          MaxSimScorer scorer = new MaxSimScorer(query);
          int scored = 0;
          for (LeafReaderContext leaf : reader.leaves()) {
            MultiVectorValues values = MultiVectorValues.get(leaf.reader(), "mv");
            MultiVectorValues same = MultiVectorValues.get(leaf.reader(), "mv");
            assertTrue(values.hasResidualWords());
            for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
              assertEquals(doc, same.advance(doc));
              int tokens = values.tokenCount();
              float score = scorer.score(values);
              int[] argmax = new int[query.length];
              float[] max = new float[query.length];
              assertEquals(Float.floatToIntBits(score), Float.floatToIntBits(scorer.score(same, argmax, max)));
              float[] decoded = values.vectors(null);
              double expected = MultiVectorTestUtil.naiveMaxSim(query, decoded, tokens, dim);
              assertEquals(expected, score, 1e-5 * query.length * dim);
              scored++;
            }
          }
          assertEquals(40, scored);
        }
      }
    }
  }
}
