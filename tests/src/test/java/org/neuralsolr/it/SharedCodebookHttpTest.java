package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.request.schema.FieldTypeDefinition;
import org.apache.solr.client.solrj.request.schema.SchemaRequest;
import org.apache.solr.common.SolrInputDocument;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.ResidualCodebook;
import org.neuralsolr.example.LocalSolr;
import org.neuralsolr.schema.MultiVectorField;
import org.neuralsolr.schema.NeuralCodecFactory;

/**
 * A real Solr over HTTP with the shipped configset ({@code NeuralCodecFactory}): token vectors sent
 * in several commits end up with one codebook in every segment, so the merged index holds one and
 * storage per token vector stays within ColBERTv2's bound; after a restart, new flushes keep using
 * that codebook.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SharedCodebookHttpTest extends SolrTestCase {
  private static final String CORE = "codebooks";
  private static final String FIELD = "tokens";
  private static final int DIM = 32;
  private static final int NBITS = 2;
  private static final int DOCS_PER_COMMIT = 40;
  private static final int TOKENS_PER_DOC = 50;

  public void testOneCodebookAcrossFlushesMergesAndRestart() throws Exception {
    Path home = createTempDir();
    Random random = new Random(random().nextLong());
    float[][] clusters = randomClusters(random);
    int next = 0;
    ResidualCodebook before;
    LocalSolr solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    try {
      solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
      addField(solr, 0);
      for (int commit = 0; commit < 4; commit++) {
        next = index(solr, next, clusters, random);
      }
      Set<ByteBuffer> ids = codebookIds(home);
      assertTrue("several segments expected, got " + segmentCount(home), segmentCount(home) >= 4);
      assertEquals("codebooks in the index", 1, ids.size());
      before = oneCodebook(home);

      solr.client().optimize(CORE);
      assertEquals(1, segmentCount(home));
      assertEquals(ids, codebookIds(home));
      assertStorageWithinBound(home, next * TOKENS_PER_DOC);
    } finally {
      solr.close();
    }

    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    try {
      // LocalSolr refreshes the shared configset, managed schema included: add the field again
      addField(solr, 0);
      for (int commit = 0; commit < 2; commit++) {
        next = index(solr, next, clusters, random);
      }
      assertTrue(segmentCount(home) >= 3);
      assertEquals("codebooks after a restart", Set.of(ByteBuffer.wrap(before.id())), codebookIds(home));
      solr.client().optimize(CORE);
      assertEquals(1, segmentCount(home));
      assertEquals(Set.of(ByteBuffer.wrap(before.id())), codebookIds(home));
      assertStorageWithinBound(home, next * TOKENS_PER_DOC);
    } finally {
      solr.close();
    }
  }

  /**
   * With {@code trainingThreshold}, commits below it keep exact float32 vectors and train nothing;
   * an optimize trains the codebook on all of them and compresses them, and later commits encode
   * with that codebook.
   */
  public void testTrainingThresholdDefersTheCodebookToTheOptimize() throws Exception {
    Path home = createTempDir();
    Random random = new Random(random().nextLong());
    float[][] clusters = randomClusters(random);
    LocalSolr solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    try {
      solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
      // more than any single commit holds, so only the optimize can train
      addField(solr, 10L * DOCS_PER_COMMIT * TOKENS_PER_DOC);
      int next = 0;
      for (int commit = 0; commit < 3; commit++) {
        next = index(solr, next, clusters, random);
      }
      assertTrue(segmentCount(home) >= 3);
      assertEquals("nbits of every segment before training", Set.of(0), segmentNbits(home));

      solr.client().optimize(CORE);
      assertEquals(1, segmentCount(home));
      assertEquals(Set.of(NBITS), segmentNbits(home));
      Set<ByteBuffer> trained = codebookIds(home);
      assertEquals(1, trained.size());
      assertStorageWithinBound(home, next * TOKENS_PER_DOC);

      next = index(solr, next, clusters, random);
      assertEquals(2, segmentCount(home));
      assertEquals("a later commit encodes with the trained codebook", Set.of(NBITS), segmentNbits(home));
      assertEquals(trained, codebookIds(home));
    } finally {
      solr.close();
    }
  }

  /**
   * A bulk load below {@code trainingThreshold} in one commit leaves one segment stored as float32;
   * the optimize must still train and encode it (Lucene's merge policies see a lone segment as
   * merged already), and a second optimize must leave it alone.
   */
  public void testOptimizeTrainsASingleSegmentBelowTheThreshold() throws Exception {
    Path home = createTempDir();
    Random random = new Random(random().nextLong());
    float[][] clusters = randomClusters(random);
    LocalSolr solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    try {
      solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
      addField(solr, 10L * DOCS_PER_COMMIT * TOKENS_PER_DOC);
      int next = index(solr, 0, 3 * DOCS_PER_COMMIT, clusters, random);
      assertEquals("one commit, one segment", 1, segmentCount(home));
      assertEquals("nbits before the optimize", Set.of(0), segmentNbits(home));
      Map<String, Object> stats = MBeanStats.of(solr.client(), CORE, "INDEX", NeuralCodecFactory.BEAN_NAME);
      assertEquals(
          "untrained token vectors before the optimize " + stats,
          next * TOKENS_PER_DOC,
          MBeanStats.number(stats, "INDEX." + NeuralCodecFactory.BEAN_NAME + ".untrainedTokenVectors"),
          0);
      // the mbeans handler flattens the per-field map gauge into one entry per field
      assertTrue(stats.toString(), stats.containsKey("INDEX." + NeuralCodecFactory.BEAN_NAME + ".untrainedFields." + FIELD));

      solr.client().optimize(CORE);
      assertEquals(1, segmentCount(home));
      assertEquals("nbits after the optimize", Set.of(NBITS), segmentNbits(home));
      stats = MBeanStats.of(solr.client(), CORE, "INDEX", NeuralCodecFactory.BEAN_NAME);
      assertEquals(0, MBeanStats.number(stats, "INDEX." + NeuralCodecFactory.BEAN_NAME + ".untrainedTokenVectors"), 0);
      assertStorageWithinBound(home, next * TOKENS_PER_DOC);
      Set<ByteBuffer> trained = codebookIds(home);
      assertEquals(1, trained.size());
      Set<String> files = segmentFiles(home);

      solr.client().optimize(CORE);
      assertEquals("a second optimize rewrites nothing", files, segmentFiles(home));
      assertEquals(trained, codebookIds(home));
    } finally {
      solr.close();
    }
  }

  /** Centres the token vectors are drawn around. */
  private static float[][] randomClusters(Random random) {
    float[][] clusters = new float[64][DIM];
    for (float[] c : clusters) {
      for (int j = 0; j < DIM; j++) {
        c[j] = (float) random.nextGaussian();
      }
    }
    return clusters;
  }

  private static Set<Integer> segmentNbits(Path home) throws Exception {
    Set<Integer> nbits = new HashSet<>();
    try (Directory dir = FSDirectory.open(indexDir(home));
        DirectoryReader reader = DirectoryReader.open(dir)) {
      for (LeafReaderContext leaf : reader.leaves()) {
        nbits.add(MultiVectorValues.get(leaf.reader(), FIELD).nbits());
      }
    }
    return nbits;
  }

  private static void addField(LocalSolr solr, long trainingThreshold) throws Exception {
    // a small codebook, so that its bytes do not hide the per-token cost at this size
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("name", "tokens_32");
    type.put("class", MultiVectorField.class.getName());
    type.put("vectorDimension", String.valueOf(DIM));
    type.put("nbits", String.valueOf(NBITS));
    type.put("centroids", "32");
    type.put("trainingThreshold", String.valueOf(trainingThreshold));
    FieldTypeDefinition def = new FieldTypeDefinition();
    def.setAttributes(type);
    new SchemaRequest.AddFieldType(def).process(solr.client(), CORE);
    new SchemaRequest.AddField(Map.of("name", FIELD, "type", "tokens_32")).process(solr.client(), CORE);

  }

  /** Indexes one commit's documents, token vectors near random cluster centres, unit length. */
  private static int index(LocalSolr solr, int first, float[][] clusters, Random random) throws Exception {
    return index(solr, first, DOCS_PER_COMMIT, clusters, random);
  }

  private static int index(LocalSolr solr, int first, int numDocs, float[][] clusters, Random random)
      throws Exception {
    List<SolrInputDocument> docs = new ArrayList<>();
    for (int d = first; d < first + numDocs; d++) {
      float[][] tokens = new float[TOKENS_PER_DOC][DIM];
      for (float[] t : tokens) {
        float[] c = clusters[random.nextInt(clusters.length)];
        double norm = 0;
        for (int j = 0; j < DIM; j++) {
          t[j] = c[j] + 0.3f * (float) random.nextGaussian();
          norm += t[j] * t[j];
        }
        for (int j = 0; j < DIM; j++) {
          t[j] /= (float) Math.sqrt(norm);
        }
      }
      SolrInputDocument doc = new SolrInputDocument();
      doc.addField("id", "d" + d);
      doc.addField(FIELD, MultiVectorField.toBytes(tokens));
      docs.add(doc);
    }
    UpdateRequest add = new UpdateRequest();
    add.add(docs);
    add.setParam("update.chain", "plain");
    add.process(solr.client(), CORE);
    solr.client().commit(CORE);
    return first + numDocs;
  }

  private static Path indexDir(Path home) {
    return home.resolve(CORE).resolve("data").resolve("index");
  }

  private static int segmentCount(Path home) throws Exception {
    try (Directory dir = FSDirectory.open(indexDir(home))) {
      return SegmentInfos.readLatestCommit(dir).size();
    }
  }

  /** The files of the last commit's segments: an unchanged set means nothing was rewritten. */
  private static Set<String> segmentFiles(Path home) throws Exception {
    try (Directory dir = FSDirectory.open(indexDir(home))) {
      return new HashSet<>(SegmentInfos.readLatestCommit(dir).files(false));
    }
  }

  private static Set<ByteBuffer> codebookIds(Path home) throws Exception {
    Set<ByteBuffer> ids = new HashSet<>();
    try (Directory dir = FSDirectory.open(indexDir(home));
        DirectoryReader reader = DirectoryReader.open(dir)) {
      for (LeafReaderContext leaf : reader.leaves()) {
        for (ResidualCodebook c : MultiVectorValues.get(leaf.reader(), FIELD).codebooks()) {
          ids.add(ByteBuffer.wrap(c.id()));
        }
      }
    }
    return ids;
  }

  private static ResidualCodebook oneCodebook(Path home) throws Exception {
    try (Directory dir = FSDirectory.open(indexDir(home));
        DirectoryReader reader = DirectoryReader.open(dir)) {
      return MultiVectorValues.get(reader.leaves().get(0).reader(), FIELD).codebooks().get(0);
    }
  }

  /** ColBERTv2's bound: 4 + dim·nbits/8 bytes per token vector, plus at most 5%. */
  private static void assertStorageWithinBound(Path home, long tokens) throws Exception {
    long bytes = 0;
    Path dir = indexDir(home);
    try (Directory d = FSDirectory.open(dir)) {
      for (String file : SegmentInfos.readLatestCommit(d).files(false)) {
        if (file.endsWith(".mvd") || file.endsWith(".mvc") || file.endsWith(".mvm")) {
          bytes += Files.size(dir.resolve(file));
        }
      }
    }
    double perToken = (double) bytes / tokens;
    double bound = (4 + DIM * NBITS / 8.0) * 1.05;
    assertTrue(perToken + " bytes per token vector, bound " + bound, perToken <= bound);
  }
}
