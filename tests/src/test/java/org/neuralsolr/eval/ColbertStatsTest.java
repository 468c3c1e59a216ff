package org.neuralsolr.eval;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.neuralsolr.codecs.multivector.MultiVectorField;
import org.neuralsolr.codecs.multivector.TrainingMergePolicy;

/**
 * The report says when a multi-vector field is stored as float32 for want of a codebook, so that
 * its bytes per token vector are not read as the configured nbits' cost.
 */
public class ColbertStatsTest extends LuceneTestCase {

  public void testReportsConfiguredAndStoredNbits() throws Exception {
    Path path = createTempDir();
    int dim = 8;
    org.apache.lucene.document.FieldType type =
        MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 8, 0, 1 << 20);
    Codec codec = TestUtil.alwaysDocValuesFormat(new MultiVectorDocValuesFormat());
    IndexWriterConfig iwc = new IndexWriterConfig().setCodec(codec);
    iwc.setMergePolicy(new TrainingMergePolicy(new LogDocMergePolicy()));
    Random random = random();
    try (FSDirectory dir = FSDirectory.open(path); IndexWriter w = new IndexWriter(dir, iwc)) {
      for (int d = 0; d < 20; d++) {
        float[][] tokens = new float[5][dim];
        for (float[] t : tokens) {
          for (int j = 0; j < dim; j++) {
            t[j] = (float) random.nextGaussian();
          }
        }
        Document doc = new Document();
        doc.add(new MultiVectorField("colbert_x", tokens, type));
        w.addDocument(doc);
      }
      w.commit();
      Map<?, ?> field = (Map<?, ?>) NeuralEval.colbertStats(path, Map.of()).get("colbert_x");
      assertEquals(2, field.get("configuredNbits"));
      assertEquals(List.of(0), field.get("storedNbitsPerSegment"));
      assertEquals(100L, field.get("untrainedTokenVectors"));

      w.forceMerge(1);
      w.commit();
      field = (Map<?, ?>) NeuralEval.colbertStats(path, Map.of()).get("colbert_x");
      assertEquals(List.of(2), field.get("storedNbitsPerSegment"));
      assertEquals(0L, field.get("untrainedTokenVectors"));
    }
  }
}
