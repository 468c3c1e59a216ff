package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.StringHelper;

/** Merges copy codes and codebooks: vectors are quantised once, at their first flush. */
public class TestMultiVectorMerges extends LuceneTestCase {

  private boolean sorted;

  @Override
  public void setUp() throws Exception {
    super.setUp();
    sorted = random().nextBoolean();
  }

  private IndexWriterConfig config(Codec codec) {
    IndexWriterConfig iwc = newIndexWriterConfig();
    iwc.setCodec(codec);
    LogDocMergePolicy mp = new LogDocMergePolicy();
    mp.setMergeFactor(1000); // no natural merges: each flush stays a segment until forceMerge
    iwc.setMergePolicy(mp);
    iwc.setMaxBufferedDocs(IndexWriterConfig.DISABLE_AUTO_FLUSH);
    iwc.setRAMBufferSizeMB(256);
    if (sorted) {
      iwc.setIndexSort(new Sort(new SortField("sort", SortField.Type.LONG)));
    }
    return iwc;
  }

  private static Document doc(String id, float[][] vectors, FieldType type) {
    Document doc = new Document();
    doc.add(new StringField("id", id, Field.Store.YES));
    doc.add(new NumericDocValuesField("sort", random().nextInt(100)));
    doc.add(new MultiVectorField("mv", vectors, type));
    return doc;
  }

  /** Codebook id (hex) of every live document, by its "id". */
  private static Map<String, String> codebookById(IndexReader reader) throws IOException {
    Map<String, String> out = new HashMap<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), "mv");
      if (values == null) {
        continue;
      }
      for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
        if (leaf.reader().getLiveDocs() == null || leaf.reader().getLiveDocs().get(doc)) {
          String id = leaf.reader().storedFields().document(doc).get("id");
          out.put(id, StringHelper.idToString(values.codebooks().get(values.codebookOrd()).id()));
        }
      }
    }
    return out;
  }

  private static int codebooksInSegment(IndexReader reader) throws IOException {
    assertEquals(1, reader.leaves().size());
    return MultiVectorValues.get(reader.leaves().get(0).reader(), "mv").codebooks().size();
  }

  public void testMergesNeverRequantize() throws IOException {
    int dim = TestUtil.nextInt(random(), 3, 32);
    int nbits = new int[] {0, 1, 2, 4}[random().nextInt(4)];
    FieldType type =
        MultiVectorField.createFieldType(
            dim, nbits, VectorSimilarityFunction.DOT_PRODUCT, TestUtil.nextInt(random(), 4, 32), 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 6, 0.5f, random().nextBoolean());
    Map<String, float[]> firstDecode = new HashMap<>();
    Map<String, String> firstCodebook = new HashMap<>();
    Set<String> live = new HashSet<>();
    try (Directory dir = newDirectory();
        IndexWriter w = new IndexWriter(dir, config(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat())))) {
      int next = 0;
      List<List<String>> flushes = new ArrayList<>();
      for (int round = 0; round < 4; round++) {
        int numFlushes = TestUtil.nextInt(random(), 1, 3);
        for (int f = 0; f < numFlushes; f++) {
          List<String> ids = new ArrayList<>();
          for (int i = TestUtil.nextInt(random(), 5, 30); i > 0; i--) {
            String id = Integer.toString(next++);
            w.addDocument(doc(id, data.matrix(random(), TestUtil.nextInt(random(), 1, 8)), type));
            ids.add(id);
            live.add(id);
          }
          w.flush();
          flushes.add(ids);
        }
        // record how the new documents decode, straight after their flush
        try (IndexReader reader = DirectoryReader.open(w)) {
          Map<String, float[]> decoded = MultiVectorTestUtil.decodedById(reader, "mv");
          Map<String, String> codebooks = codebookById(reader);
          for (String id : live) {
            firstDecode.putIfAbsent(id, decoded.get(id));
            firstCodebook.putIfAbsent(id, codebooks.get(id));
          }
        }
        // delete some documents; in round 2, every document of the oldest surviving flush
        if (round == 2) {
          for (String id : flushes.get(0)) {
            w.deleteDocuments(new Term("id", id));
            live.remove(id);
          }
        }
        for (int i = 0; i < 3; i++) {
          String victim = Integer.toString(random().nextInt(next));
          w.deleteDocuments(new Term("id", victim));
          live.remove(victim);
        }
        w.forceMerge(1);
        try (IndexReader reader = DirectoryReader.open(w)) {
          Map<String, float[]> decoded = MultiVectorTestUtil.decodedById(reader, "mv");
          assertEquals(live, decoded.keySet());
          for (String id : live) {
            assertArrayEquals("doc " + id + " round " + round, firstDecode.get(id), decoded.get(id), 0f);
            assertBitwiseEquals(firstDecode.get(id), decoded.get(id));
          }
          Map<String, String> codebooks = codebookById(reader);
          Set<String> used = new HashSet<>();
          for (String id : live) {
            assertEquals(firstCodebook.get(id), codebooks.get(id));
            used.add(codebooks.get(id));
          }
          // one codebook per flush that still has live documents, none for the others
          assertEquals(used.size(), codebooksInSegment(reader));
        }
      }
    }
  }

  private static void assertBitwiseEquals(float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]));
    }
  }

  /**
   * A source that shares the first codebook trained, as Solr's per-core source does, and records
   * every codebook reported to it; it checks that only the field's own kind is asked for and shared.
   */
  private static CodebookSource recordingSource(int dim, List<ResidualCodebook> trained) {
    CodebookSource shared = CodebookSource.reuseFirstTrained();
    return new CodebookSource() {
      @Override
      public ResidualCodebook codebook(String field, int dimension, int nbits) {
        assertEquals("mv", field);
        assertEquals(dim, dimension);
        assertEquals(2, nbits);
        return shared.codebook(field, dimension, nbits);
      }

      @Override
      public void trained(String field, ResidualCodebook codebook) {
        assertEquals("only codebooks of the field's nbits are shared", 2, codebook.nbits());
        trained.add(codebook);
        shared.trained(field, codebook);
      }
    };
  }

  public void testSharedCodebookGivesOneCodebook() throws IOException {
    int dim = TestUtil.nextInt(random(), 2, 16);
    FieldType type = MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 16, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 5, 0.5f, false);
    List<ResidualCodebook> trained = new ArrayList<>();
    CodebookSource recording = recordingSource(dim, trained);
    try (Directory dir = newDirectory();
        IndexWriter w =
            new IndexWriter(dir, config(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat(recording))))) {
      int next = 0;
      for (int f = 0; f < 4; f++) {
        for (int i = 0; i < 20; i++) {
          w.addDocument(doc(Integer.toString(next++), data.matrix(random(), 1 + random().nextInt(6)), type));
        }
        w.flush();
      }
      assertEquals(1, trained.size());
      Map<String, float[]> before;
      try (IndexReader reader = DirectoryReader.open(w)) {
        before = MultiVectorTestUtil.decodedById(reader, "mv");
        assertEquals(4, reader.leaves().size());
        // the segments share one codebook on heap
        ResidualCodebook first = MultiVectorValues.get(reader.leaves().get(0).reader(), "mv").codebooks().get(0);
        for (LeafReaderContext leaf : reader.leaves()) {
          assertSame(first, MultiVectorValues.get(leaf.reader(), "mv").codebooks().get(0));
        }
      }
      w.forceMerge(1);
      try (IndexReader reader = DirectoryReader.open(w)) {
        assertEquals(1, codebooksInSegment(reader));
        ResidualCodebook only =
            MultiVectorValues.get(reader.leaves().get(0).reader(), "mv").codebooks().get(0);
        assertArrayEquals(trained.get(0).id(), only.id());
        Map<String, float[]> after = MultiVectorTestUtil.decodedById(reader, "mv");
        assertEquals(before.keySet(), after.keySet());
        for (String id : before.keySet()) {
          assertBitwiseEquals(before.get(id), after.get(id));
        }
      }
    }
  }

  /**
   * A segment whose field was written by another doc-values format (raw float32) is encoded when
   * merged in; segments of this format are still copied.
   */
  public void testMergeWithRawSegment() throws IOException {
    int dim = TestUtil.nextInt(random(), 2, 16);
    int nbits = new int[] {1, 2, 4}[random().nextInt(3)];
    FieldType type = MultiVectorField.createFieldType(dim, nbits, VectorSimilarityFunction.DOT_PRODUCT, 8, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 4, 0.5f, false);
    Map<String, float[][]> originals = new HashMap<>();
    try (Directory dir = newDirectory()) {
      // 1. the field written raw by Lucene's default doc-values format
      try (IndexWriter w = new IndexWriter(dir, config(TestUtil.getDefaultCodec()))) {
        for (int i = 0; i < 30; i++) {
          float[][] v = data.matrix(random(), 1 + random().nextInt(5));
          originals.put("raw" + i, v);
          w.addDocument(doc("raw" + i, v, type));
        }
      }
      // 2. more documents with this format, then a merge of both kinds
      Codec codec = MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat());
      try (IndexWriter w = new IndexWriter(dir, config(codec).setOpenMode(IndexWriterConfig.OpenMode.APPEND))) {
        for (int i = 0; i < 30; i++) {
          w.addDocument(doc("coded" + i, data.matrix(random(), 1 + random().nextInt(5)), type));
        }
        w.flush();
        Map<String, float[]> before;
        try (IndexReader reader = DirectoryReader.open(w)) {
          before = new HashMap<>();
          for (LeafReaderContext leaf : reader.leaves()) {
            if (leaf.reader().getBinaryDocValues("mv") instanceof MultiVectorValues) {
              before.putAll(MultiVectorTestUtil.decodedById(List.of(leaf), "mv"));
            }
          }
          assertEquals(30, before.size());
        }
        w.forceMerge(1);
        try (IndexReader reader = DirectoryReader.open(w)) {
          MultiVectorValues values = MultiVectorValues.get(reader.leaves().get(0).reader(), "mv");
          assertEquals(2, values.codebooks().size());
          Map<String, float[]> after = MultiVectorTestUtil.decodedById(reader, "mv");
          assertEquals(60, after.size());
          for (String id : before.keySet()) {
            assertBitwiseEquals(before.get(id), after.get(id));
          }
          for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
            String id = reader.leaves().get(0).reader().storedFields().document(doc).get("id");
            if (id.startsWith("raw")) {
              TestMultiVectorFormat.checkCodes(
                  originals.get(id),
                  values.vectors(null),
                  values.centroidIds(null),
                  values.codebooks().get(values.codebookOrd()));
            }
          }
        }
      }
    }
  }

  /**
   * With a training threshold, flushes and merges below it keep the vectors exact; the first merge
   * that reaches it trains one codebook on a sample spread over all of them (so every flush's
   * vectors decode well, not only the first's), and later flushes encode with that codebook.
   */
  public void testCodebookWaitsForTrainingThreshold() throws IOException {
    int dim = 16;
    int docsPerFlush = 20;
    int tokensPerDoc = 5;
    // between two and three flushes' vectors: the first merge (two flushes) stays exact, the
    // second (three) trains
    long threshold = 5 * docsPerFlush * tokensPerDoc / 2;
    FieldType type =
        MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 32, 0, threshold);
    List<ResidualCodebook> trained = new ArrayList<>();
    CodebookSource recording = recordingSource(dim, trained);
    IndexWriterConfig iwc = config(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat(recording)));
    LogDocMergePolicy mp = new LogDocMergePolicy();
    mp.setMergeFactor(2); // every two small segments merge, right after the flush that makes them two
    iwc.setMergePolicy(mp);
    iwc.setMergeScheduler(new org.apache.lucene.index.SerialMergeScheduler());
    // each flush draws its vectors from clusters of its own
    MultiVectorTestUtil.ClusteredVectors[] groups = new MultiVectorTestUtil.ClusteredVectors[3];
    Map<String, float[]> originals = new HashMap<>();
    Map<String, Integer> groupOf = new HashMap<>();
    try (Directory dir = newDirectory(); IndexWriter w = new IndexWriter(dir, iwc)) {
      for (int g = 0; g < groups.length; g++) {
        groups[g] = new MultiVectorTestUtil.ClusteredVectors(random(), dim, 8, 0.2f, true);
        for (int i = 0; i < docsPerFlush; i++) {
          String id = g + "-" + i;
          float[][] m = groups[g].matrix(random(), tokensPerDoc);
          originals.put(id, MultiVectorTestUtil.flatten(m));
          groupOf.put(id, g);
          w.addDocument(doc(id, m, type));
        }
        w.flush();
        try (IndexReader reader = DirectoryReader.open(w)) {
          if (g < 2) {
            // below the threshold: one (merged) segment, exact, no codebook trained
            assertEquals(1, reader.leaves().size());
            assertEquals(0, MultiVectorValues.get(reader.leaves().get(0).reader(), "mv").nbits());
            assertTrue(trained.isEmpty());
            Map<String, float[]> decoded = MultiVectorTestUtil.decodedById(reader, "mv");
            assertEquals((g + 1) * docsPerFlush, decoded.size());
            for (Map.Entry<String, float[]> e : decoded.entrySet()) {
              assertBitwiseEquals(originals.get(e.getKey()), e.getValue());
            }
          }
        }
      }
      // the third flush's merge reached the threshold and trained on all three flushes
      assertEquals(1, trained.size());
      ResidualCodebook codebook = trained.get(0);
      try (IndexReader reader = DirectoryReader.open(w)) {
        assertEquals(1, reader.leaves().size());
        MultiVectorValues values = MultiVectorValues.get(reader.leaves().get(0).reader(), "mv");
        assertEquals(2, values.nbits());
        assertEquals(1, values.codebooks().size());
        assertArrayEquals(codebook.id(), values.codebooks().get(0).id());
        double[] fidelity = meanCosineByGroup(MultiVectorTestUtil.decodedById(reader, "mv"), originals, groupOf, dim);
        // the counterfactual: a codebook trained on the first flush alone fits its clusters only
        float[][] firstFlush = new float[docsPerFlush * tokensPerDoc][];
        for (int i = 0, t = 0; i < docsPerFlush; i++) {
          float[] flat = originals.get("0-" + i);
          for (int k = 0; k < tokensPerDoc; k++) {
            firstFlush[t++] = java.util.Arrays.copyOfRange(flat, k * dim, (k + 1) * dim);
          }
        }
        ResidualCodebook firstOnly = ResidualCodebook.train(firstFlush, 2, 32, random().nextLong());
        double lastGroupWithFirstOnly = meanCosine(firstOnly, originals, groupOf, 2, dim);
        for (int g = 0; g < groups.length; g++) {
          assertTrue(
              "group " + g + ": " + fidelity[g] + " vs first-flush codebook " + lastGroupWithFirstOnly,
              fidelity[g] > 0.95 && fidelity[g] > lastGroupWithFirstOnly);
        }
      }
      // a later flush encodes with that codebook at once
      for (int i = 0; i < docsPerFlush; i++) {
        w.addDocument(doc("later-" + i, groups[random().nextInt(3)].matrix(random(), tokensPerDoc), type));
      }
      w.flush();
      w.forceMerge(1);
      assertEquals(1, trained.size());
      try (IndexReader reader = DirectoryReader.open(w)) {
        MultiVectorValues values = MultiVectorValues.get(reader.leaves().get(0).reader(), "mv");
        assertEquals(2, values.nbits());
        assertEquals(1, values.codebooks().size());
        assertArrayEquals(codebook.id(), values.codebooks().get(0).id());
      }
    }
  }

  /**
   * A lone segment below the threshold is merged already as far as the usual merge policies are
   * concerned, so a plain {@code forceMerge(1)} leaves it untrained; through {@link
   * TrainingMergePolicy} the forced merge rewrites and encodes it, and the next one leaves it be.
   */
  public void testForceMergeTrainsASingleSegment() throws IOException {
    int dim = TestUtil.nextInt(random(), 4, 16);
    int nbits = new int[] {1, 2, 4}[random().nextInt(3)];
    int docs = TestUtil.nextInt(random(), 20, 60);
    FieldType type =
        MultiVectorField.createFieldType(dim, nbits, VectorSimilarityFunction.DOT_PRODUCT, 16, 0, 1 << 20);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 6, 0.3f, true);
    List<ResidualCodebook> trained = new ArrayList<>();
    IndexWriterConfig iwc = predictableConfig(trained);
    try (Directory dir = newDirectory(); IndexWriter w = new IndexWriter(dir, iwc)) {
      Map<String, float[]> originals = new HashMap<>();
      long tokens = 0;
      for (int i = 0; i < docs; i++) {
        float[][] m = data.matrix(random(), TestUtil.nextInt(random(), 1, 8));
        originals.put(Integer.toString(i), MultiVectorTestUtil.flatten(m));
        tokens += m.length;
        w.addDocument(doc(Integer.toString(i), m, type));
      }
      w.commit();
      SegmentCommitInfo before = onlySegment(dir);
      assertEquals(Map.of("mv", tokens), MultiVectorDocValuesFormat.untrainedTokenVectors(before.info));

      // the problem: the delegate alone sees nothing to merge
      w.forceMerge(1);
      w.commit();
      assertEquals(before.info.name, onlySegment(dir).info.name);
      assertTrue(trained.isEmpty());

      w.getConfig().setMergePolicy(new TrainingMergePolicy(w.getConfig().getMergePolicy()));
      w.forceMerge(1);
      w.commit();
      SegmentCommitInfo after = onlySegment(dir);
      assertNotEquals(before.info.name, after.info.name);
      assertEquals(Map.of(), MultiVectorDocValuesFormat.untrainedTokenVectors(after.info));
      assertEquals(1, trained.size());
      try (IndexReader reader = DirectoryReader.open(w)) {
        MultiVectorValues values = MultiVectorValues.get(reader.leaves().get(0).reader(), "mv");
        assertEquals(nbits, values.nbits());
        assertEquals(1, values.codebooks().size());
        assertArrayEquals(trained.get(0).id(), values.codebooks().get(0).id());
        Map<String, float[]> decoded = MultiVectorTestUtil.decodedById(reader, "mv");
        assertEquals(originals.keySet(), decoded.keySet());
        for (String id : originals.keySet()) {
          assertTrue("doc " + id, cosine(originals.get(id), decoded.get(id), 0, originals.get(id).length) > 0.9);
        }
      }

      // encoded: a repeat optimize leaves the segment as it is
      w.forceMerge(1);
      w.commit();
      assertEquals(after.info.name, onlySegment(dir).info.name);
      assertEquals(1, trained.size());
    }
  }

  /**
   * A forced merge to more segments than there are leaves the delegate nothing to do; the untrained
   * segments are merged together, so that one codebook is trained on all of them. Segments without
   * untrained vectors (here: without the field) are left alone.
   */
  public void testForceMergeTrainsUntrainedSegmentsTogether() throws IOException {
    int dim = 8;
    FieldType type = MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 8, 0, 1 << 20);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 4, 0.3f, true);
    List<ResidualCodebook> trained = new ArrayList<>();
    IndexWriterConfig iwc = predictableConfig(trained);
    iwc.setMergePolicy(new TrainingMergePolicy(iwc.getMergePolicy()));
    try (Directory dir = newDirectory(); IndexWriter w = new IndexWriter(dir, iwc)) {
      int next = 0;
      for (int flush = 0; flush < 3; flush++) {
        for (int i = 0; i < 10; i++) {
          w.addDocument(doc(Integer.toString(next++), data.matrix(random(), 4), type));
        }
        w.flush();
      }
      Document plain = new Document();
      plain.add(new StringField("id", "plain", Field.Store.YES));
      plain.add(new NumericDocValuesField("sort", 0));
      w.addDocument(plain);
      w.commit();
      String plainSegment = lastSegment(dir).info.name;
      assertEquals(4, SegmentInfos.readLatestCommit(dir).size());

      w.forceMerge(10);
      w.commit();
      SegmentInfos infos = SegmentInfos.readLatestCommit(dir);
      assertEquals(2, infos.size());
      assertEquals(1, trained.size());
      Set<String> names = new HashSet<>();
      for (SegmentCommitInfo info : infos) {
        names.add(info.info.name);
        assertFalse(TrainingMergePolicy.isUntrained(info.info));
      }
      assertTrue(names.contains(plainSegment));
      try (IndexReader reader = DirectoryReader.open(w)) {
        for (LeafReaderContext leaf : reader.leaves()) {
          MultiVectorValues values = MultiVectorValues.get(leaf.reader(), "mv");
          if (values != null) {
            assertEquals(2, values.nbits());
            assertEquals(30, values.docCount());
          }
        }
      }
    }
  }

  /**
   * An authoritative source (one codebook per SolrCloud collection): without its codebook nothing
   * is trained, not even by a forced merge, and vectors stay exact; once it supplies one, flushes
   * encode with it and a forced merge through {@link TrainingMergePolicy} re-encodes the exact
   * segments; when it supplies another, the next forced merge re-encodes the lone segment, so that
   * every document ends with the source's current codebook alone.
   */
  public void testAuthoritativeSourceDecidesTheCodebook() throws IOException {
    int dim = TestUtil.nextInt(random(), 4, 16);
    int nbits = new int[] {1, 2, 4}[random().nextInt(3)];
    FieldType type = MultiVectorField.createFieldType(dim, nbits, VectorSimilarityFunction.DOT_PRODUCT, 8, 0, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 6, 0.3f, true);
    ResidualCodebook[] current = {null};
    List<ResidualCodebook> trained = new ArrayList<>();
    CodebookSource authoritative =
        new CodebookSource() {
          @Override
          public ResidualCodebook codebook(String field, int dimension, int nbits) {
            return current[0];
          }

          @Override
          public void trained(String field, ResidualCodebook codebook) {
            trained.add(codebook);
          }

          @Override
          public boolean authoritative(String field) {
            return true;
          }
        };
    IndexWriterConfig iwc = config(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat(authoritative)));
    iwc.setUseCompoundFile(false);
    iwc.getMergePolicy().setNoCFSRatio(0.0);
    TrainingMergePolicy policy = new TrainingMergePolicy(iwc.getMergePolicy());
    policy.setRequiredCodebooks(
        field -> current[0] == null ? null : MultiVectorDocValuesFormat.idString(current[0].id()));
    iwc.setMergePolicy(policy);
    List<float[][]> sample = new ArrayList<>();
    try (Directory dir = newDirectory(); IndexWriter w = new IndexWriter(dir, iwc)) {
      int id = 0;
      for (int segment = 0; segment < 2; segment++) {
        for (int i = 0; i < 15; i++, id++) {
          float[][] m = data.matrix(random(), TestUtil.nextInt(random(), 1, 6));
          sample.add(m);
          w.addDocument(doc(Integer.toString(id), m, type));
        }
        w.commit();
      }
      w.forceMerge(1);
      w.commit();
      assertTrue("nothing may be trained without the source", trained.isEmpty());
      assertFalse(MultiVectorDocValuesFormat.untrainedTokenVectors(onlySegment(dir).info).isEmpty());
      Map<String, float[]> exact;
      try (IndexReader reader = DirectoryReader.open(w)) {
        assertEquals(0, MultiVectorValues.get(reader.leaves().get(0).reader(), "mv").nbits());
        exact = MultiVectorTestUtil.decodedById(reader, "mv");
      }

      float[][] flat = sample.stream().flatMap(java.util.Arrays::stream).toArray(float[][]::new);
      current[0] = ResidualCodebook.train(flat, nbits, 8, 1L);
      String first = MultiVectorDocValuesFormat.idString(current[0].id());
      w.addDocument(doc(Integer.toString(id++), data.matrix(random(), 3), type)); // a flush with it
      w.commit();
      w.forceMerge(1);
      w.commit();
      assertEquals(Map.of(), MultiVectorDocValuesFormat.untrainedTokenVectors(onlySegment(dir).info));
      assertEquals(Map.of("mv", Set.of(first)), MultiVectorDocValuesFormat.codebookIds(onlySegment(dir).info));
      Map<String, float[]> onFirst;
      try (IndexReader reader = DirectoryReader.open(w)) {
        assertEquals(new HashSet<>(Set.of(first)), new HashSet<>(codebookById(reader).values()));
        onFirst = MultiVectorTestUtil.decodedById(reader, "mv");
        for (String doc : exact.keySet()) {
          assertTrue("doc " + doc, cosine(exact.get(doc), onFirst.get(doc), 0, exact.get(doc).length) > 0.9);
        }
      }

      // a new version: the lone segment (an earlier optimize's output) is re-encoded from its decoded vectors
      current[0] = ResidualCodebook.train(flat, nbits, 8, 2L);
      String second = MultiVectorDocValuesFormat.idString(current[0].id());
      String before = onlySegment(dir).info.name;
      w.forceMerge(1);
      w.commit();
      assertNotEquals(before, onlySegment(dir).info.name);
      assertEquals(Map.of("mv", Set.of(second)), MultiVectorDocValuesFormat.codebookIds(onlySegment(dir).info));
      try (IndexReader reader = DirectoryReader.open(w)) {
        assertEquals(new HashSet<>(Set.of(second)), new HashSet<>(codebookById(reader).values()));
      }
      // and then it is left alone
      String encoded = onlySegment(dir).info.name;
      w.forceMerge(1);
      w.commit();
      assertEquals(encoded, onlySegment(dir).info.name);
      assertTrue(trained.isEmpty());
    }
  }

  /** A config whose merge policy never rewrites a lone segment to change its compound-file mode. */
  private IndexWriterConfig predictableConfig(List<ResidualCodebook> trained) {
    IndexWriterConfig iwc = config(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat(source(trained))));
    iwc.setUseCompoundFile(false);
    iwc.getMergePolicy().setNoCFSRatio(0.0);
    return iwc;
  }

  private static CodebookSource source(List<ResidualCodebook> trained) {
    CodebookSource shared = CodebookSource.reuseFirstTrained();
    return new CodebookSource() {
      @Override
      public ResidualCodebook codebook(String field, int dimension, int nbits) {
        return shared.codebook(field, dimension, nbits);
      }

      @Override
      public void trained(String field, ResidualCodebook codebook) {
        trained.add(codebook);
        shared.trained(field, codebook);
      }
    };
  }

  private static SegmentCommitInfo onlySegment(Directory dir) throws IOException {
    SegmentInfos infos = SegmentInfos.readLatestCommit(dir);
    assertEquals(1, infos.size());
    return infos.info(0);
  }

  private static SegmentCommitInfo lastSegment(Directory dir) throws IOException {
    SegmentInfos infos = SegmentInfos.readLatestCommit(dir);
    return infos.info(infos.size() - 1);
  }

  /** Mean cosine of decoded to original token vectors, per group of documents. */
  private static double[] meanCosineByGroup(
      Map<String, float[]> decoded, Map<String, float[]> originals, Map<String, Integer> groupOf, int dim) {
    double[] sum = new double[3];
    int[] count = new int[3];
    for (Map.Entry<String, float[]> e : decoded.entrySet()) {
      int g = groupOf.get(e.getKey());
      float[] original = originals.get(e.getKey());
      for (int t = 0; t < original.length / dim; t++) {
        sum[g] += cosine(original, e.getValue(), t * dim, dim);
        count[g]++;
      }
    }
    for (int g = 0; g < 3; g++) {
      sum[g] /= count[g];
    }
    return sum;
  }

  /** Mean cosine of group {@code group}'s token vectors to their encoding by {@code codebook}. */
  private static double meanCosine(
      ResidualCodebook codebook, Map<String, float[]> originals, Map<String, Integer> groupOf, int group, int dim) {
    double sum = 0;
    int count = 0;
    byte[] code = new byte[codebook.residualBytes()];
    float[] decoded = new float[dim];
    int[] nearest = new int[1];
    for (Map.Entry<String, float[]> e : originals.entrySet()) {
      if (groupOf.get(e.getKey()) != group) {
        continue;
      }
      float[] original = e.getValue();
      for (int t = 0; t < original.length / dim; t++) {
        codebook.index().assign(original, t * dim, 1, nearest);
        codebook.encode(original, t * dim, nearest[0], code, 0);
        codebook.decode(nearest[0], code, 0, decoded, 0);
        sum += cosine(java.util.Arrays.copyOfRange(original, t * dim, (t + 1) * dim), decoded, 0, dim);
        count++;
      }
    }
    return sum / count;
  }

  private static double cosine(float[] a, float[] b, int offset, int dim) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int j = offset; j < offset + dim; j++) {
      dot += (double) a[j] * b[j];
      na += (double) a[j] * a[j];
      nb += (double) b[j] * b[j];
    }
    return dot / Math.sqrt(na * nb);
  }
}
