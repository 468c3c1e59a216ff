package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.lucene.index.FilterMergePolicy;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentInfos;

/**
 * A merge policy whose forced merges ({@code IndexWriter.forceMerge}, Solr's optimize) also
 * rewrite the segments that store multi-vector fields untrained, so that an optimize always ends
 * with every field at its configured nbits.
 *
 * <p>{@link MultiVectorDocValuesFormat} keeps a field's token vectors exact (float32) until one
 * flush or merge holds {@code trainingThreshold} of them, or until a forced merge, which trains on
 * whatever it holds. But the usual merge policies ({@code TieredMergePolicy}, {@code
 * LogMergePolicy}) see a lone segment without deletions as merged already: a bulk load that ends in
 * one segment below the threshold is left as it is by an optimize, untrained. Wrapped in this
 * policy, the delegate chooses the forced merges as before; the segments it leaves out that carry
 * {@link MultiVectorDocValuesFormat#UNTRAINED_ATTRIBUTE_PREFIX} attributes are then merged too, all
 * of them together, so that one codebook is trained on a sample spread over all of their vectors.
 *
 * <p>Only segments the optimize started with are chosen, never the outputs of its own merges nor
 * of an earlier forced merge: a forced merge of token vectors always trains, so those cannot be
 * untrained, and if one were (a format that could not train), choosing it again would rewrite it
 * at every optimize. A second optimize therefore rewrites nothing the delegate would not.
 *
 * <p>With {@link #setRequiredCodebooks} (a codebook per field chosen outside the index, e.g. one
 * per SolrCloud collection), a forced merge also rewrites, the same way, segments that encode a
 * field with any other codebook (as recorded in {@link
 * MultiVectorDocValuesFormat#CODEBOOKS_ATTRIBUTE_PREFIX} attributes); the format's merge then
 * re-encodes them with the required one (see {@link CodebookSource#authoritative}).
 *
 * <p>Everything else is the delegate's, natural merges included.
 */
public final class TrainingMergePolicy extends FilterMergePolicy {

  private volatile Function<String, String> requiredCodebooks = field -> null;

  /** Wraps {@code in}, which keeps choosing every merge, forced or not. */
  public TrainingMergePolicy(MergePolicy in) {
    super(in);
  }

  /**
   * Has forced merges also rewrite segments encoding a field with a codebook other than {@code
   * idByField.apply(field)} (an id as {@link MultiVectorDocValuesFormat#idString} writes it; null:
   * any codebook will do).
   */
  public void setRequiredCodebooks(Function<String, String> idByField) {
    this.requiredCodebooks = idByField;
  }

  @Override
  public MergeSpecification findForcedMerges(
      SegmentInfos segmentInfos,
      int maxSegmentCount,
      Map<SegmentCommitInfo, Boolean> segmentsToMerge,
      MergeContext mergeContext)
      throws IOException {
    MergeSpecification spec =
        in.findForcedMerges(segmentInfos, maxSegmentCount, segmentsToMerge, mergeContext);
    Set<SegmentCommitInfo> taken = new HashSet<>(mergeContext.getMergingSegments());
    if (spec != null) {
      for (OneMerge merge : spec.merges) {
        taken.addAll(merge.segments);
      }
    }
    List<SegmentCommitInfo> untrained = new ArrayList<>();
    for (SegmentCommitInfo info : segmentInfos) {
      // TRUE: in the index when the optimize began (its own merge outputs map to FALSE)
      if (Boolean.TRUE.equals(segmentsToMerge.get(info))
          && taken.contains(info) == false
          && ((isUntrained(info.info) && isForcedMergeOutput(info.info) == false)
              // an earlier optimize's output too: it was encoded before the codebook changed
              || usesOtherCodebooks(info.info))) {
        untrained.add(info);
      }
    }
    if (untrained.isEmpty()) {
      return spec;
    }
    if (spec == null) {
      spec = new MergeSpecification();
    }
    spec.add(new OneMerge(untrained));
    return spec;
  }

  /** Whether {@code info} stores token vectors of some multi-vector field without its codebook. */
  static boolean isUntrained(SegmentInfo info) {
    for (long tokens : MultiVectorDocValuesFormat.untrainedTokenVectors(info).values()) {
      if (tokens > 0) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code info} encodes some field with a codebook other than the required one. */
  private boolean usesOtherCodebooks(SegmentInfo info) {
    Function<String, String> required = requiredCodebooks;
    for (Map.Entry<String, Set<String>> e : MultiVectorDocValuesFormat.codebookIds(info).entrySet()) {
      String id = required.apply(e.getKey());
      if (id != null && e.getValue().equals(Set.of(id)) == false) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code info} was written by a forced merge (as IndexWriter records it). */
  private static boolean isForcedMergeOutput(SegmentInfo info) {
    Map<String, String> diagnostics = info.getDiagnostics();
    if (IndexWriter.SOURCE_MERGE.equals(diagnostics.get(IndexWriter.SOURCE)) == false) {
      return false;
    }
    try {
      return Integer.parseInt(diagnostics.getOrDefault("mergeMaxNumSegments", "-1")) > 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
