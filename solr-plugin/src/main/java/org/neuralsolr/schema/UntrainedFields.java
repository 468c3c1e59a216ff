package org.neuralsolr.schema;

import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SegmentReader;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;

/**
 * Per multi-vector field, the segments and token vectors an index stores untrained (float32 while
 * the field asks for nbits above 0, for want of a trained codebook). Read from the segments'
 * attributes ({@link MultiVectorDocValuesFormat#UNTRAINED_ATTRIBUTE_PREFIX}), so it costs a look at
 * each segment's {@code SegmentInfo}, no field data; token vectors of deleted documents count until
 * a merge drops them.
 */
public final class UntrainedFields {
  private UntrainedFields() {}

  public record Count(long segments, long tokenVectors) {
    public static final Count NONE = new Count(0, 0);

    Count plus(long tokens) {
      return new Count(segments + 1, tokenVectors + tokens);
    }
  }

  public static Map<String, Count> of(IndexReader reader) {
    Map<String, Count> byField = new TreeMap<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      // Solr wraps segment readers (uninverting, exitable): the segment is beneath
      LeafReader segment = FilterLeafReader.unwrap(leaf.reader());
      if (segment instanceof SegmentReader) {
        Map<String, Long> untrained =
            MultiVectorDocValuesFormat.untrainedTokenVectors(((SegmentReader) segment).getSegmentInfo().info);
        untrained.forEach((field, tokens) -> byField.merge(field, Count.NONE.plus(tokens), UntrainedFields::sum));
      }
    }
    return byField;
  }

  private static Count sum(Count a, Count b) {
    return new Count(a.segments() + b.segments(), a.tokenVectors() + b.tokenVectors());
  }
}
