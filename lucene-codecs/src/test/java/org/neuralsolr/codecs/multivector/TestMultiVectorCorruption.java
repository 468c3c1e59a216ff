package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.neuralsolr.codecs.HeaderVersions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.BytesRef;

/**
 * A flipped byte anywhere in the format's files (or the delegated ones) must surface as corruption
 * when the segment is opened or its integrity checked, never as silently different vectors.
 */
public class TestMultiVectorCorruption extends LuceneTestCase {

  public void testFlippedBytesAreDetected() throws IOException {
    int dim = TestUtil.nextInt(random(), 2, 16);
    int nbits = new int[] {0, 1, 2, 4}[random().nextInt(4)];
    FieldType type =
        MultiVectorField.createFieldType(dim, nbits, VectorSimilarityFunction.DOT_PRODUCT, 8, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 4, 0.5f, false);
    try (Directory dir = new ByteBuffersDirectory()) {
      IndexWriterConfig iwc = new IndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      iwc.setUseCompoundFile(false); // so that the format's own files can be corrupted
      try (IndexWriter w = new IndexWriter(dir, iwc)) {
        for (int i = 0; i < 40; i++) {
          Document doc = new Document();
          if (i % 5 != 0) { // sparse, to have an IndexedDISI
            doc.add(new MultiVectorField("mv", data.matrix(random(), 1 + random().nextInt(6)), type));
          }
          doc.add(new NumericDocValuesField("n", i)); // goes to the delegate
          doc.add(new BinaryDocValuesField("plain", new BytesRef("v" + i)));
          w.addDocument(doc);
        }
        w.forceMerge(1);
      }
      List<String> files = new ArrayList<>();
      for (String file : dir.listAll()) {
        if (file.matches(".*\\.(mvm|mvc|mvd|dvm|dvd)")) {
          files.add(file);
        }
      }
      assertEquals(files.toString(), 5, files.size());

      // the intact index opens and verifies
      openAndVerify(dir);

      for (String file : files) {
        long length = dir.fileLength(file);
        List<Long> positions = new ArrayList<>();
        int header = CodecUtil.indexHeaderLength("NeuralMultiVectorMeta", "NeuralMultiVector_0");
        positions.add(0L); // magic
        positions.add((long) random().nextInt(Math.min(header, (int) length))); // header
        positions.add(length - 1); // checksum
        positions.add(length - 1 - random().nextInt(CodecUtil.footerLength())); // footer
        for (int i = 0; i < 12; i++) {
          positions.add((long) random().nextInt((int) length));
        }
        for (long position : positions) {
          try (Directory corrupted = copyWithFlippedByte(dir, file, position)) {
            Exception e =
                expectThrowsAnyOf(
                    List.of(
                        CorruptIndexException.class,
                        IndexFormatTooOldException.class,
                        IndexFormatTooNewException.class),
                    () -> openAndVerify(corrupted));
            assertNotNull(file + "@" + position, e);
          }
        }
      }
    }
  }

  /**
   * Version 0 (float32 centroids, written by no release) is refused as too old, file by file,
   * rather than read with the wrong centroid width.
   */
  public void testVersionZeroIsRefusedAsTooOld() throws IOException {
    int dim = TestUtil.nextInt(random(), 2, 16);
    FieldType type = MultiVectorField.createFieldType(dim, 2, VectorSimilarityFunction.DOT_PRODUCT, 4, 0);
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 4, 0.5f, false);
    try (Directory dir = new ByteBuffersDirectory()) {
      IndexWriterConfig iwc = new IndexWriterConfig();
      iwc.setCodec(MultiVectorTestUtil.codec(new MultiVectorDocValuesFormat()));
      iwc.setUseCompoundFile(false);
      try (IndexWriter w = new IndexWriter(dir, iwc)) {
        for (int i = 0; i < 10; i++) {
          Document doc = new Document();
          doc.add(new MultiVectorField("mv", data.matrix(random(), 1 + random().nextInt(6)), type));
          w.addDocument(doc);
        }
      }
      List<String> files = HeaderVersions.filesOf(dir, "NeuralMultiVector");
      assertEquals(files.toString(), 3, files.size()); // .mvm, .mvc, .mvd
      for (String file : files) {
        try (Directory old = HeaderVersions.withVersion(dir, file, "NeuralMultiVector", 0)) {
          IndexFormatTooOldException e =
              expectThrows(IndexFormatTooOldException.class, () -> openAndVerify(old));
          assertTrue(file + ": " + e.getMessage(), e.getMessage().contains(file));
        }
      }
    }
  }

  private static void openAndVerify(Directory dir) throws IOException {
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      for (LeafReaderContext leaf : reader.leaves()) {
        ((CodecReader) leaf.reader()).checkIntegrity();
      }
    }
  }

  private static Directory copyWithFlippedByte(Directory from, String target, long position)
      throws IOException {
    Directory to = new ByteBuffersDirectory();
    for (String file : from.listAll()) {
      try (IndexInput in = from.openInput(file, IOContext.READONCE);
          IndexOutput out = to.createOutput(file, IOContext.DEFAULT)) {
        byte[] bytes = new byte[(int) in.length()];
        in.readBytes(bytes, 0, bytes.length);
        if (file.equals(target)) {
          bytes[(int) position] ^= (byte) (1 + random().nextInt(255));
        }
        out.writeBytes(bytes, bytes.length);
      }
    }
    return to;
  }
}
