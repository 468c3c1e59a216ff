package org.neuralsolr.codecs.dense;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;

/**
 * Bytes of each vector field's vector data on disk: the float32 vectors ({@code .vec}) and, for a
 * scalar-quantised field, the quantised vectors ({@code .veq}); the HNSW graph ({@code .vex}) and
 * the metadata files are not counted, as they do not depend on the vectors' precision.
 *
 * <p>Files are found through the per-field format's attributes (format name and suffix) that {@link
 * PerFieldKnnVectorsFormat} records in each field's {@code FieldInfo}; compound segments are read
 * through their compound reader. Fields that share one format instance share its files (Solr's
 * codec creates one instance per field, so they do not there); the files are then split between
 * them in proportion to their vectors times dimensions.
 */
public final class DenseVectorStats {
  /** Float32 vector data (Lucene99FlatVectorsFormat). */
  public static final String FLOAT_EXTENSION = "vec";
  /** Quantised vector data (Lucene99ScalarQuantizedVectorsFormat), one correction float per vector included. */
  public static final String QUANTIZED_EXTENSION = "veq";

  /** One field's totals over the segments of a reader. */
  public record Field(String name, int dimension, long vectors, long floatBytes, long quantizedBytes) {
    /** Bytes per vector of what the graph is searched with: the quantised data if any, else the float32 data. */
    public double bytesPerVector() {
      return vectors == 0 ? 0 : (double) (quantizedBytes > 0 ? quantizedBytes : floatBytes) / vectors;
    }

    public double floatBytesPerVector() {
      return vectors == 0 ? 0 : (double) floatBytes / vectors;
    }

    public boolean quantized() {
      return quantizedBytes > 0;
    }
  }

  private DenseVectorStats() {}

  /** Every vector field of {@code reader} with at least one vector, by name. */
  public static Map<String, Field> of(IndexReader reader) throws IOException {
    Map<String, long[]> totals = new TreeMap<>(); // vectors, float bytes, quantised bytes
    Map<String, Integer> dimensions = new HashMap<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      if (!(FilterLeafReader.unwrap(leaf.reader()) instanceof SegmentReader segment)) {
        continue; // not a segment on disk: nothing to measure
      }
      SegmentInfo info = segment.getSegmentInfo().info;
      Directory dir = segment.directory();
      Directory files = info.getUseCompoundFile() ? info.getCodec().compoundFormat().getCompoundReader(dir, info, IOContext.READONCE) : dir;
      try {
        Map<String, Long> weightBySuffix = new HashMap<>();
        Map<String, Long> weightOf = new HashMap<>();
        Map<String, String> suffixOf = new HashMap<>();
        for (FieldInfo fi : segment.getFieldInfos()) {
          if (fi.getVectorDimension() == 0) {
            continue;
          }
          String format = fi.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY);
          String suffix = fi.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_SUFFIX_KEY);
          if (format == null || suffix == null) {
            continue; // not written through a per-field format
          }
          long vectors = segment.getFloatVectorValues(fi.name) != null ? segment.getFloatVectorValues(fi.name).size() : 0;
          if (vectors == 0) {
            continue;
          }
          String segmentSuffix = format + "_" + suffix;
          suffixOf.put(fi.name, segmentSuffix);
          weightOf.put(fi.name, vectors * fi.getVectorDimension());
          weightBySuffix.merge(segmentSuffix, vectors * fi.getVectorDimension(), Long::sum);
          dimensions.put(fi.name, fi.getVectorDimension());
          totals.computeIfAbsent(fi.name, k -> new long[3])[0] += vectors;
        }
        for (Map.Entry<String, String> e : suffixOf.entrySet()) {
          double share = (double) weightOf.get(e.getKey()) / weightBySuffix.get(e.getValue());
          long[] t = totals.get(e.getKey());
          t[1] += Math.round(share * length(files, IndexFileNames.segmentFileName(info.name, e.getValue(), FLOAT_EXTENSION)));
          t[2] += Math.round(share * length(files, IndexFileNames.segmentFileName(info.name, e.getValue(), QUANTIZED_EXTENSION)));
        }
      } finally {
        if (files != dir) {
          files.close();
        }
      }
    }
    Map<String, Field> fields = new TreeMap<>();
    totals.forEach((name, t) -> fields.put(name, new Field(name, dimensions.get(name), t[0], t[1], t[2])));
    return fields;
  }

  private static long length(Directory dir, String file) throws IOException {
    for (String f : dir.listAll()) {
      if (f.equals(file)) {
        return dir.fileLength(file);
      }
    }
    return 0;
  }
}
