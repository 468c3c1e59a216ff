package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.Impact;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.Impacts;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogMergePolicy;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.BytesRef;
import org.neuralsolr.codecs.HeaderVersions;

/**
 * Hammers the layout with long postings lists (several groups of 32 blocks) of quantised weights:
 * doc ids, weights and impacts against a computed reference, CheckIndex, and corruption.
 */
public class TestSparsePostingsLayout extends LuceneTestCase {

  private static final String FIELD = "sparse";

  /** term -> (doc -> code), built while indexing. */
  private Map<String, TreeMap<Integer, Integer>> expected;

  private Directory buildIndex(int numDocs, int numTerms) throws IOException {
    Directory dir = newDirectory();
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setCodec(TestUtil.alwaysPostingsFormat(new SparsePostingsFormat()));
    iwc.setUseCompoundFile(false);
    LogMergePolicy mergePolicy = newLogMergePolicy();
    mergePolicy.setNoCFSRatio(0.0); // separate files, so that the corruption test can pick them
    iwc.setMergePolicy(mergePolicy);
    expected = new HashMap<>();
    try (IndexWriter w = new IndexWriter(dir, iwc)) {
      for (int doc = 0; doc < numDocs; doc++) {
        Map<String, Float> vector = new HashMap<>();
        // term i occurs with probability 1/(i+1): term 0 in every doc, a few terms span groups
        for (int t = 0; t < numTerms; t++) {
          if (random().nextInt(t + 1) == 0) {
            vector.put("t" + t, randomWeight());
          }
        }
        if (vector.isEmpty()) {
          vector.put("t0", 1f);
        }
        Document d = new Document();
        d.add(new SparseVectorField(FIELD, vector));
        w.addDocument(d);
        for (Map.Entry<String, Float> e : vector.entrySet()) {
          int code = SparseWeights.encode(e.getValue());
          if (code != 0) {
            expected.computeIfAbsent(e.getKey(), k -> new TreeMap<>()).put(doc, code);
          }
        }
      }
      w.forceMerge(1);
    }
    return dir;
  }

  private static float randomWeight() {
    switch (random().nextInt(4)) {
      case 0:
        return 1 + random().nextInt(3); // repeated values: FreqBits 0 blocks
      case 1:
        return random().nextFloat() * 1e-3f;
      default:
        return (float) Math.exp(random().nextGaussian() * 2);
    }
  }

  public void testPostingsAndImpacts() throws IOException {
    int numDocs = atLeast(9000);
    try (Directory dir = buildIndex(numDocs, 40);
        DirectoryReader reader = DirectoryReader.open(dir)) {
      LeafReader leaf = getOnlyLeafReader(reader);
      Terms terms = leaf.terms(FIELD);
      assertEquals(expected.size(), terms.size());
      TermsEnum te = terms.iterator();
      for (BytesRef term = te.next(); term != null; term = te.next()) {
        TreeMap<Integer, Integer> postings = expected.get(term.utf8ToString());
        assertNotNull(term.utf8ToString(), postings);
        assertEquals(postings.size(), te.docFreq());
        checkNextDoc(te.postings(null, PostingsEnum.FREQS), postings);
        checkNextDoc(te.impacts(PostingsEnum.FREQS), postings);
        for (int iter = 0; iter < 3; iter++) {
          checkAdvanceAndImpacts(te.impacts(PostingsEnum.FREQS), postings);
        }
      }
      assertTrue("the first term must span groups", expected.get("t0").size() > 2 * 32 * 128);
    }
  }

  private static void checkNextDoc(PostingsEnum pe, TreeMap<Integer, Integer> postings)
      throws IOException {
    for (Map.Entry<Integer, Integer> e : postings.entrySet()) {
      assertEquals(e.getKey().intValue(), pe.nextDoc());
      assertEquals(e.getValue().intValue(), pe.freq());
    }
    assertEquals(DocIdSetIterator.NO_MORE_DOCS, pe.nextDoc());
  }

  private static void checkAdvanceAndImpacts(ImpactsEnum ie, TreeMap<Integer, Integer> postings)
      throws IOException {
    int last = postings.lastKey();
    int doc = -1;
    while (true) {
      int target = doc + 1 + (random().nextBoolean() ? 0 : random().nextInt(3000));
      if (random().nextBoolean()) {
        ie.advanceShallow(target);
        Impacts impacts = ie.getImpacts();
        int previousUpTo = -1;
        int previousMax = 0;
        for (int level = 0; level < impacts.numLevels(); level++) {
          int upTo = impacts.getDocIdUpTo(level);
          assertTrue(upTo >= target && upTo >= previousUpTo);
          List<Impact> list = impacts.getImpacts(level);
          assertEquals(1, list.size());
          int max = list.get(0).freq;
          assertTrue(max >= previousMax);
          int realMax = 0;
          for (int code : postings.subMap(target, true, upTo, true).values()) {
            realMax = Math.max(realMax, code);
          }
          assertTrue("level " + level + ": " + max + " < " + realMax, max >= realMax);
          if (level == impacts.numLevels() - 1) {
            assertEquals(DocIdSetIterator.NO_MORE_DOCS, upTo);
          }
          previousUpTo = upTo;
          previousMax = max;
        }
      }
      Map.Entry<Integer, Integer> next = postings.ceilingEntry(target);
      doc = ie.advance(target);
      if (next == null) {
        assertEquals(DocIdSetIterator.NO_MORE_DOCS, doc);
        return;
      }
      assertEquals(next.getKey().intValue(), doc);
      assertEquals(next.getValue().intValue(), ie.freq());
      if (doc == last) {
        assertEquals(DocIdSetIterator.NO_MORE_DOCS, ie.nextDoc());
        return;
      }
      if (random().nextBoolean()) {
        next = postings.higherEntry(doc);
        doc = ie.nextDoc();
        assertEquals(next.getKey().intValue(), doc);
        assertEquals(next.getValue().intValue(), ie.freq());
      }
    }
  }

  public void testCheckIndexIsClean() throws IOException {
    try (Directory dir = buildIndex(atLeast(3000), 20)) {
      CheckIndex.Status status = TestUtil.checkIndex(dir);
      assertTrue(status.clean);
    }
  }

  /** One flipped byte anywhere in the postings or meta files is reported as corruption. */
  public void testFlippedByteIsCorruption() throws IOException {
    try (Directory dir = buildIndex(atLeast(2000), 20)) {
      List<String> files = new ArrayList<>();
      for (String file : dir.listAll()) {
        if (file.endsWith("." + SparsePostingsFormat.DOC_EXTENSION)
            || file.endsWith("." + SparsePostingsFormat.META_EXTENSION)) {
          files.add(file);
        }
      }
      assertEquals(2, files.size());
      for (String victim : files) {
        for (int iter = 0; iter < 5; iter++) {
          try (Directory copy = new ByteBuffersDirectory()) {
            long length = dir.fileLength(victim);
            long flipAt = random().nextLong(length);
            for (String file : dir.listAll()) {
              copy(dir, copy, file, file.equals(victim) ? flipAt : -1);
            }
            expectThrows(
                CorruptIndexException.class,
                () -> {
                  try (DirectoryReader reader = DirectoryReader.open(copy)) {
                    for (LeafReaderContext ctx : reader.leaves()) {
                      ctx.reader().checkIntegrity();
                    }
                  }
                });
            CheckIndex.Status status;
            try (CheckIndex checker = new CheckIndex(copy)) {
              checker.setInfoStream(null);
              status = checker.checkIndex();
            }
            assertFalse(victim + " flipped at " + flipAt, status.clean);
          }
        }
      }
    }
  }

  private static void copy(Directory from, Directory to, String file, long flipAt)
      throws IOException {
    try (IndexInput in = from.openInput(file, IOContext.READONCE);
        IndexOutput out = to.createOutput(file, IOContext.DEFAULT)) {
      byte[] bytes = new byte[(int) in.length()];
      in.readBytes(bytes, 0, bytes.length);
      if (flipAt >= 0) {
        bytes[(int) flipAt] ^= (byte) (1 << random().nextInt(8));
      }
      out.writeBytes(bytes, bytes.length);
    }
  }

  /**
   * Version 0 (written by no release) is refused as too old, file by file, rather than misread:
   * version 1 changed the term metadata and the forward index.
   */
  public void testVersionZeroIsRefusedAsTooOld() throws IOException {
    try (Directory dir = buildIndex(200, 10)) {
      List<String> files = HeaderVersions.filesOf(dir, "NeuralSparsePostings");
      assertEquals(files.toString(), 3, files.size()); // .nsm (meta and terms), .nsd, .nsf
      for (String file : files) {
        try (Directory old = HeaderVersions.withVersion(dir, file, "NeuralSparsePostings", 0)) {
          IndexFormatTooOldException e =
              expectThrows(
                  IndexFormatTooOldException.class,
                  () -> {
                    try (DirectoryReader reader = DirectoryReader.open(old)) {
                      for (LeafReaderContext ctx : reader.leaves()) {
                        ctx.reader().checkIntegrity();
                      }
                    }
                  });
          assertTrue(file + ": " + e.getMessage(), e.getMessage().contains(file));
        }
      }
    }
  }

  public void testFormatIsRegistered() {
    assertTrue(
        org.apache.lucene.codecs.PostingsFormat.forName(SparsePostingsFormat.NAME)
            instanceof SparsePostingsFormat);
  }
}
