package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.index.RandomIndexWriter;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;

/**
 * The lossy path, hammered with random data: random dimensions, nbits, similarities, sparse
 * fields, deletions, index sorting and merges; every decoded vector is checked against the codes
 * and the codebook (bitwise), every posting list against the centroid ids, and CheckIndex runs.
 */
public class TestMultiVectorFormat extends LuceneTestCase {

  public void testRandomRoundTrip() throws IOException {
    for (int iter = 0; iter < 3; iter++) {
      doTestRandomRoundTrip();
    }
  }

  private void doTestRandomRoundTrip() throws IOException {
    int dim = TestUtil.nextInt(random(), 1, 40);
    int nbits = new int[] {0, 1, 2, 4}[random().nextInt(4)];
    boolean cosine = random().nextBoolean();
    FieldType type =
        MultiVectorField.createFieldType(
            dim,
            nbits,
            cosine ? VectorSimilarityFunction.COSINE : VectorSimilarityFunction.DOT_PRODUCT,
            random().nextBoolean() ? 0 : TestUtil.nextInt(random(), 1, 64),
            random().nextBoolean() ? 0 : TestUtil.nextInt(random(), 1, 500));
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(
            random(), dim, TestUtil.nextInt(random(), 1, 20), random().nextFloat(), false);

    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      if (random().nextBoolean()) {
        iwc.setIndexSort(new Sort(new SortField("sort", SortField.Type.LONG)));
      }
      Map<String, float[][]> expected = new HashMap<>();
      int numDocs = atLeast(150);
      try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
        for (int i = 0; i < numDocs; i++) {
          String id = Integer.toString(i);
          Document doc = new Document();
          doc.add(new StringField("id", id, Field.Store.YES));
          doc.add(new NumericDocValuesField("sort", random().nextInt(1000)));
          if (random().nextInt(5) != 0) {
            float[][] vectors = data.matrix(random(), TestUtil.nextInt(random(), 1, 12));
            doc.add(new MultiVectorField("mv", vectors, type));
            expected.put(id, MultiVectorTestUtil.asIndexed(vectors, cosine));
          }
          w.addDocument(doc);
          if (random().nextInt(20) == 0) {
            String victim = Integer.toString(random().nextInt(i + 1));
            w.deleteDocuments(new Term("id", victim));
            expected.remove(victim);
          }
        }
        if (random().nextBoolean()) {
          w.forceMerge(1);
        }
        try (IndexReader reader = w.getReader()) {
          checkReader(reader, expected, dim, nbits);
        }
      }
      try (IndexReader reader = DirectoryReader.open(dir)) {
        checkReader(reader, expected, dim, nbits);
      }
      TestUtil.checkIndex(dir);
    }
  }

  private static void checkReader(IndexReader reader, Map<String, float[][]> expected, int dim, int nbits)
      throws IOException {
    Set<String> seen = new HashSet<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      LeafReader r = leaf.reader();
      MultiVectorValues values = MultiVectorValues.get(r, "mv");
      if (values == null) {
        continue;
      }
      assertEquals(dim, values.dimension());
      assertEquals(nbits, values.nbits());
      BinaryDocValues generic = r.getBinaryDocValues("mv");
      Map<Long, Set<Integer>> postingsFromCodes = new HashMap<>();
      long tokenTotal = 0;
      int docCount = 0;
      float[] vectors = null;
      int[] ids = null;
      for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
        docCount++;
        int tokens = values.tokenCount();
        tokenTotal += tokens;
        vectors = values.vectors(vectors);
        ids = values.centroidIds(ids);
        int ord = values.codebookOrd();
        ResidualCodebook codebook = values.codebooks().get(ord);
        for (int t = 0; t < tokens; t++) {
          postingsFromCodes.computeIfAbsent(((long) ord << 32) | ids[t], x -> new HashSet<>()).add(doc);
        }
        // the generic binary value is the decoded matrix
        assertEquals(doc, generic.advance(doc));
        BytesRef bytes = generic.binaryValue();
        assertEquals(tokens * dim * Float.BYTES, bytes.length);
        for (int i = 0; i < tokens * dim; i++) {
          assertEquals(
              Float.floatToIntBits(vectors[i]),
              Float.floatToIntBits((float) BitUtil.VH_LE_FLOAT.get(bytes.bytes, bytes.offset + 4 * i)));
        }
        if (r.getLiveDocs() != null && r.getLiveDocs().get(doc) == false) {
          continue;
        }
        String id = r.storedFields().document(doc).get("id");
        float[][] original = expected.get(id);
        assertNotNull("doc " + id + " should have no vectors", original);
        seen.add(id);
        assertEquals(original.length, tokens);
        checkCodes(original, vectors, ids, codebook);
      }
      assertEquals(values.docCount(), docCount);
      assertEquals(values.totalTokenCount(), tokenTotal);
      // the stored postings are exactly the documents using each centroid
      for (int ord = 0; ord < values.codebooks().size(); ord++) {
        for (int c = 0; c < values.codebooks().get(ord).numCentroids(); c++) {
          DocIdSetIterator postings = values.centroidPostings(ord, c);
          List<Integer> docs = new ArrayList<>();
          for (int d = postings.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = postings.nextDoc()) {
            docs.add(d);
          }
          Set<Integer> want = postingsFromCodes.getOrDefault(((long) ord << 32) | c, Set.of());
          assertEquals(want.size(), postings.cost());
          assertEquals(new HashSet<>(docs), want);
          List<Integer> sorted = new ArrayList<>(docs);
          sorted.sort(null);
          assertEquals("postings must be increasing", sorted, docs);
        }
      }
    }
    assertEquals(expected.keySet(), seen);
  }

  /** Decoded vectors must be exactly what the codebook makes of the original vectors. */
  static void checkCodes(float[][] original, float[] decoded, int[] ids, ResidualCodebook codebook) {
    int dim = codebook.dimension();
    float[] centroid = new float[dim];
    float[] weights = codebook.weights();
    float[] cutoffs = codebook.cutoffs();
    for (int t = 0; t < original.length; t++) {
      if (codebook.nbits() == 0) {
        for (int j = 0; j < dim; j++) {
          assertEquals(Float.floatToIntBits(original[t][j]), Float.floatToIntBits(decoded[t * dim + j]));
        }
        continue;
      }
      codebook.centroid(ids[t], centroid);
      for (int j = 0; j < dim; j++) {
        float residual = original[t][j] - centroid[j];
        int bucket = 0;
        for (float cut : cutoffs) {
          if (residual > cut) {
            bucket++;
          }
        }
        assertEquals(
            "token " + t + " dim " + j,
            Float.floatToIntBits(centroid[j] + weights[bucket]),
            Float.floatToIntBits(decoded[t * dim + j]));
      }
    }
  }

  /** With few centroids the nearest-centroid search is exact: every token gets its nearest. */
  public void testTokensGetTheirNearestCentroid() throws IOException {
    int dim = TestUtil.nextInt(random(), 2, 24);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 8, 0.5f, random().nextBoolean());
    FieldType type =
        MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 32, 0);
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = new IndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      Map<String, float[][]> expected = new HashMap<>();
      try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
        for (int i = 0; i < 100; i++) {
          float[][] vectors = data.matrix(random(), TestUtil.nextInt(random(), 1, 10));
          Document doc = new Document();
          doc.add(new StoredField("id", Integer.toString(i)));
          doc.add(new MultiVectorField("mv", vectors, type));
          w.addDocument(doc);
          expected.put(Integer.toString(i), vectors);
        }
        w.forceMerge(1);
      }
      try (IndexReader reader = DirectoryReader.open(dir)) {
        LeafReader leaf = getOnlyLeafReader(reader);
        MultiVectorValues values = MultiVectorValues.get(leaf, "mv");
        float[] centroid = new float[dim];
        int[] ids = null;
        for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
          ResidualCodebook codebook = values.codebooks().get(values.codebookOrd());
          assertTrue(codebook.numCentroids() <= 32);
          ids = values.centroidIds(ids);
          float[][] original = expected.get(leaf.storedFields().document(doc).get("id"));
          for (int t = 0; t < original.length; t++) {
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < codebook.numCentroids(); c++) {
              codebook.centroid(c, centroid);
              best = Math.min(best, squaredDistance(original[t], centroid));
            }
            codebook.centroid(ids[t], centroid);
            assertEquals(best, squaredDistance(original[t], centroid), 1e-4 * (1 + best));
          }
        }
      }
    }
  }

  private static double squaredDistance(float[] a, float[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      s += (a[j] - b[j]) * (double) (a[j] - b[j]);
    }
    return s;
  }

  /** Two multi-vector fields with different settings, next to ordinary doc values. */
  public void testSeveralFields() throws IOException {
    FieldType a = MultiVectorField.createFieldType(8, 1, VectorSimilarityFunction.DOT_PRODUCT);
    FieldType b = MultiVectorField.createFieldType(5, 4, VectorSimilarityFunction.COSINE);
    MultiVectorTestUtil.ClusteredVectors da =
        new MultiVectorTestUtil.ClusteredVectors(random(), 8, 4, 0.3f, true);
    MultiVectorTestUtil.ClusteredVectors db =
        new MultiVectorTestUtil.ClusteredVectors(random(), 5, 4, 0.3f, false);
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      Map<String, float[][]> ea = new HashMap<>(), eb = new HashMap<>();
      try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
        for (int i = 0; i < 60; i++) {
          Document doc = new Document();
          String id = Integer.toString(i);
          doc.add(new StringField("id", id, Field.Store.YES));
          doc.add(new NumericDocValuesField("n", i));
          if (i % 3 != 0) {
            float[][] v = da.matrix(random(), 1 + random().nextInt(5));
            doc.add(new MultiVectorField("a", v, a));
            ea.put(id, v);
          }
          if (i % 2 == 0) {
            float[][] v = db.matrix(random(), 1 + random().nextInt(5));
            doc.add(new MultiVectorField("b", v, b));
            eb.put(id, MultiVectorTestUtil.asIndexed(v, true));
          }
          w.addDocument(doc);
        }
        w.forceMerge(1);
      }
      try (IndexReader reader = DirectoryReader.open(dir)) {
        checkReaderField(reader, "a", ea);
        checkReaderField(reader, "b", eb);
        LeafReader leaf = getOnlyLeafReader(reader);
        // per-field byte counts add up to the shared files, less headers and footers
        long fieldBytes = MultiVectorValues.get(leaf, "a").storedBytes() + MultiVectorValues.get(leaf, "b").storedBytes();
        long fileBytes = 0;
        for (org.apache.lucene.index.SegmentCommitInfo si : org.apache.lucene.index.SegmentInfos.readLatestCommit(dir)) {
          // RandomIndexWriter may switch compound files on at any time: look inside them too
          Directory files =
              si.info.getUseCompoundFile()
                  ? si.info.getCodec().compoundFormat().getCompoundReader(dir, si.info, org.apache.lucene.store.IOContext.READONCE)
                  : dir;
          for (String file : files.listAll()) {
            if (file.startsWith(si.info.name) && (file.endsWith(".mvd") || file.endsWith(".mvc"))) {
              fileBytes += files.fileLength(file);
            }
          }
          if (files != dir) {
            files.close();
          }
        }
        assertTrue(fieldBytes + " of " + fileBytes, fieldBytes <= fileBytes && fieldBytes > fileBytes - 256);
        assertTrue(MultiVectorValues.get(leaf, "a").codebookBytes() > 0);
        // the delegated numeric doc values still belong to their documents (a random merge policy
        // may merge segments out of order, so doc ids need not follow insertion order)
        var n = leaf.getNumericDocValues("n");
        for (int doc = 0; doc < 60; doc++) {
          assertEquals(doc, n.nextDoc());
          assertEquals(Integer.parseInt(leaf.storedFields().document(doc).get("id")), n.longValue());
        }
      }
    }
  }

  private static void checkReaderField(IndexReader reader, String field, Map<String, float[][]> expected)
      throws IOException {
    Map<String, float[]> decoded = MultiVectorTestUtil.decodedById(reader, field);
    assertEquals(expected.keySet(), decoded.keySet());
    for (LeafReaderContext leaf : reader.leaves()) {
      MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
      for (int doc = values.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = values.nextDoc()) {
        float[][] original = expected.get(leaf.reader().storedFields().document(doc).get("id"));
        checkCodes(
            original,
            values.vectors(null),
            values.centroidIds(null),
            values.codebooks().get(values.codebookOrd()));
      }
    }
  }

  public void testNonMultiVectorFieldIsRejectedByGet() throws IOException {
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = newIndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      try (RandomIndexWriter w = new RandomIndexWriter(random(), dir, iwc)) {
        Document doc = new Document();
        doc.add(new org.apache.lucene.document.BinaryDocValuesField("plain", new BytesRef("x")));
        w.addDocument(doc);
        try (IndexReader reader = w.getReader()) {
          LeafReader leaf = getOnlyLeafReader(reader);
          IllegalArgumentException e =
              expectThrows(IllegalArgumentException.class, () -> MultiVectorValues.get(leaf, "plain"));
          assertTrue(e.getMessage(), e.getMessage().contains("\"plain\""));
          assertNull(MultiVectorValues.get(leaf, "absent"));
          // the delegated binary field still round-trips
          BinaryDocValues plain = leaf.getBinaryDocValues("plain");
          assertEquals(0, plain.nextDoc());
          assertEquals(new BytesRef("x"), plain.binaryValue());
        }
      }
    }
  }

  public void testLoadedBySpi() {
    DocValuesFormat format = DocValuesFormat.forName(MultiVectorDocValuesFormat.NAME);
    assertTrue(format instanceof MultiVectorDocValuesFormat);
    assertTrue(DocValuesFormat.availableDocValuesFormats().contains("NeuralMultiVector"));
  }

  public void testDefaultCentroidCount() {
    FieldSettings s = new FieldSettings(8, 2, VectorSimilarityFunction.DOT_PRODUCT, 0, 0, 0);
    // 2^floor(log2(16·√n)), capped by n
    assertEquals(16384, s.centroidsFor(1_400_000));
    assertEquals(4096, s.centroidsFor(65_536));
    assertEquals(1, s.centroidsFor(1));
    for (int i = 0; i < 100; i++) {
      long n = 1 + random().nextInt(10_000_000);
      int k = s.centroidsFor(n);
      long expectedK = Long.highestOneBit((long) (16 * Math.sqrt(n)));
      assertEquals(Math.min(expectedK, n), k);
    }
    FieldSettings fixed = new FieldSettings(8, 2, VectorSimilarityFunction.DOT_PRODUCT, 100, 0, 0);
    assertEquals(100, fixed.centroidsFor(1000));
    assertEquals(7, fixed.centroidsFor(7));
    assertEquals(MultiVectorField.DEFAULT_TRAINING_SAMPLE, fixed.trainingSample());
  }
}
