package org.neuralsolr.schema;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.lucene.codecs.perfield.PerFieldDocValuesFormat;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.TrackingDirectoryWrapper;
import org.neuralsolr.codecs.multivector.CodebookSource;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.ResidualCodebook;

/**
 * One core's codebooks, one per multi-vector field: the first one a flush or merge trained, or
 * after a restart the one most of the committed token vectors use (segments still kept exact for
 * want of a trained codebook do not count).
 *
 * <p>Seeding reads the last commit of the index directory once, at the first multi-vector flush
 * (or merge) of the core, rather than when the core opens: the codec is built before Solr opens the
 * index, and the segment being written sits in the very directory whose commit holds the
 * codebooks. Opening a reader on that commit costs about as much as opening a searcher, once.
 *
 * <p>Two flushes or merges that start before the first one has reported its codebook both train
 * (Lucene flushes of different indexing threads, and merges, run concurrently); both codebooks then
 * stay in the index and later flushes use the first reported. Only the first trainings of a field
 * can race.
 */
final class CoreCodebooks implements CodebookSource {
  private final ConcurrentHashMap<String, ResidualCodebook> byField = new ConcurrentHashMap<>();
  private volatile boolean seeded;

  @Override
  public ResidualCodebook codebook(String field, int dimension, int nbits) {
    return byField.get(field);
  }

  @Override
  public void trained(String field, ResidualCodebook codebook) {
    // the writer trains when it had none or an incompatible one (the schema's dimension or nbits
    // changed): keep a compatible codebook, replace an incompatible one
    byField.merge(field, codebook, (old, fresh) -> compatible(old, fresh) ? old : fresh);
  }

  private static boolean compatible(ResidualCodebook a, ResidualCodebook b) {
    return a.dimension() == b.dimension() && a.nbits() == b.nbits();
  }

  /** Adopts, per field, the codebook most committed token vectors use; only the first call reads. */
  void seedOnce(Directory directory) throws IOException {
    if (seeded) {
      return;
    }
    synchronized (this) {
      if (seeded) {
        return;
      }
      // a flush writes through a TrackingDirectoryWrapper, which must not read segments (Lucene
      // asserts it): read the commit from the index directory beneath it
      Directory index = directory;
      while (index instanceof TrackingDirectoryWrapper) {
        index = ((TrackingDirectoryWrapper) index).getDelegate();
      }
      if (DirectoryReader.indexExists(index)) {
        try (DirectoryReader reader = DirectoryReader.open(index)) {
          seed(reader);
        }
      }
      seeded = true;
    }
  }

  private static int configuredNbits(FieldInfo fi) {
    return Integer.parseInt(fi.getAttribute(org.neuralsolr.codecs.multivector.MultiVectorField.NBITS_ATTRIBUTE));
  }

  private void seed(DirectoryReader reader) throws IOException {
    Map<String, Map<ByteBuffer, Long>> tokensByCodebook = new HashMap<>();
    Map<ByteBuffer, ResidualCodebook> codebooks = new HashMap<>();
    for (LeafReaderContext ctx : reader.leaves()) {
      LeafReader leaf = ctx.reader();
      for (FieldInfo fi : leaf.getFieldInfos()) {
        if (!MultiVectorDocValuesFormat.NAME.equals(fi.getAttribute(PerFieldDocValuesFormat.PER_FIELD_FORMAT_KEY))) {
          continue;
        }
        MultiVectorValues values = MultiVectorValues.get(leaf, fi.name);
        if (values == null || values.nbits() != configuredNbits(fi)) {
          continue; // e.g. kept exact until the field's codebook is trained
        }
        List<ResidualCodebook> list = values.codebooks();
        long[] tokens = new long[list.size()];
        if (list.size() == 1) {
          tokens[0] = values.totalTokenCount();
        } else {
          for (int doc = values.nextDoc(); doc != MultiVectorValues.NO_MORE_DOCS; doc = values.nextDoc()) {
            tokens[values.codebookOrd()] += values.tokenCount();
          }
        }
        Map<ByteBuffer, Long> counts = tokensByCodebook.computeIfAbsent(fi.name, f -> new HashMap<>());
        for (int i = 0; i < list.size(); i++) {
          ByteBuffer id = ByteBuffer.wrap(list.get(i).id());
          codebooks.putIfAbsent(id, list.get(i));
          counts.merge(id, tokens[i], Long::sum);
        }
      }
    }
    for (Map.Entry<String, Map<ByteBuffer, Long>> e : tokensByCodebook.entrySet()) {
      e.getValue().entrySet().stream()
          .max(Map.Entry.comparingByValue())
          // a codebook a flush of this core already trained wins: it is what is being used
          .ifPresent(best -> byField.putIfAbsent(e.getKey(), codebooks.get(best.getKey())));
    }
  }
}
