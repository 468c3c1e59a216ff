package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.lucene90.IndexedDISI;
import org.apache.lucene.codecs.lucene90.Lucene90DocValuesFormat;
import org.apache.lucene.index.SegmentInfo;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.util.StringHelper;
import org.apache.lucene.util.packed.DirectMonotonicWriter;
import org.apache.lucene.util.packed.DirectWriter;

/**
 * Doc-values format storing ColBERT-style multi-vectors with ColBERTv2 residual compression, plus
 * centroid → document postings for PLAID candidate generation.
 *
 * <p>A field is a multi-vector field when its FieldInfo carries the attributes that {@link
 * MultiVectorField#createFieldType} sets; its binary value at indexing time is the float32 token
 * matrix. Every other field, and every non-binary doc-values type, is delegated to {@link
 * Lucene90DocValuesFormat}, whose files sit next to these with the same segment suffix (and are only
 * written if such a field exists).
 *
 * <p>Each token vector is stored as the id of a centroid plus a residual code of {@code nbits} per
 * dimension (see {@link ResidualCodebook}). A segment keeps, per field, a small table of codebooks;
 * each document refers to one of them by ordinal. A flush encodes with the codebook the {@link
 * CodebookSource} supplies, or trains one: k-means over a uniform sample of at most {@code
 * trainingSample} token vectors ({@link MultiVectorField#DEFAULT_TRAINING_SAMPLE} by default),
 * {@code 2^floor(log2(16·√n))} centroids for n token vectors unless configured, capped by n. The
 * k-means is seeded by k-means++, runs 4 Lloyd iterations, is spherical (centroids re-normalised)
 * when the vectors have unit length, and is hierarchical above 256 centroids (see {@code KMeans});
 * vectors are then assigned to their nearest centroid, searched in two levels above 1024 centroids
 * (see {@code CentroidIndex}). A
 * merge unions the codebook tables of its segments by codebook id, remaps the ordinals and copies
 * the codes verbatim, so no vector is ever quantised twice and decoded vectors stay bit-identical
 * across merges. Only vectors that reach a merge without a compatible codebook (another format
 * wrote them, or the field's dimension or nbits changed) are encoded then, against the source's or
 * a newly trained codebook.
 *
 * <p><b>Training threshold.</b> A codebook trained on one flush fits that flush's documents (their
 * vocabulary, mostly) and encodes later documents less well. A field may therefore ask for at
 * least {@code trainingThreshold} token vectors ({@link MultiVectorField#TRAINING_THRESHOLD_ATTRIBUTE}).
 * A flush or merge that has fewer raw vectors and no codebook to encode them with writes the
 * field's segment with nbits 0, i.e. exact float32 with centroids of their own for candidate
 * generation; the segment's entry records nbits 0 whatever the field's configured nbits. Merges of
 * such segments copy them while they stay below the threshold. The first merge that holds at least
 * the threshold (or any forced merge) treats them as raw vectors: it trains the codebook on a
 * sample spread over all of them, hands it to the {@link CodebookSource}, and encodes them, each
 * vector once, from its exact value.
 *
 * <p>Such a segment also says so in its {@code SegmentInfo} attributes, {@link
 * #UNTRAINED_ATTRIBUTE_PREFIX}{@code <field>} = its token vectors, so that a merge policy can find
 * it without opening it: Lucene's merge policies take a lone segment without deletions for merged
 * already, and an optimize would leave it untrained. {@link TrainingMergePolicy} has a forced
 * merge rewrite it, and {@link #untrainedTokenVectors} reads the attributes back for monitoring.
 *
 * <p><b>A codebook chosen outside the index.</b> A {@link CodebookSource} that is {@link
 * CodebookSource#authoritative} (one codebook per SolrCloud collection) replaces the threshold: the
 * field is kept exact until the source supplies a codebook, however many vectors or whether the
 * merge is forced, and merges re-encode documents of any other codebook with the supplied one. Each
 * segment records the ids of the codebooks it encodes a field with in {@link
 * #CODEBOOKS_ATTRIBUTE_PREFIX}{@code <field>}, so that {@link TrainingMergePolicy} can find
 * segments of an older codebook.
 *
 * <p>The binary value this format returns is the <em>decoded</em> token matrix (float32,
 * little-endian), so generic readers keep working; queries use {@link MultiVectorValues}. A
 * consequence: Lucene implements a doc-values <em>update</em> of a binary field by rewriting the
 * whole field of the segment from those values, so updating one document's vectors re-encodes the
 * segment's others from their decoded form (once per update). Solr never does this for binary
 * fields (it re-indexes the document instead).
 *
 * <p>Writing keeps, per field, the documents' token starts and one (centroid, document) pair per
 * distinct centroid of each document in memory until the field is finished (about 8 bytes per
 * pair), to write the posting lists; flushes additionally sample the raw vectors for training.
 *
 * <h2>File formats</h2>
 *
 * <p>All integers are little-endian; {@code vint}/{@code vlong} are Lucene's variable-length
 * encodings ({@link DataOutput#writeVInt}). Every file starts with an index header ({@code
 * CodecUtil.writeIndexHeader}: magic, codec name, version, segment id, segment suffix) and ends
 * with a checksummed footer ({@code CodecUtil.writeFooter}). Fields appear in the same order in all
 * three files.
 *
 * <h3>.mvm (metadata)</h3>
 *
 * <p>Codec name {@value #META_CODEC}. Read whole into memory on open; its checksum is verified on
 * open. For each multi-vector field:
 *
 * <ul>
 *   <li><b>[int32]</b> field number
 *   <li><b>[vint]</b> dimension
 *   <li><b>[int8]</b> nbits: 0 (float32), 1, 2 or 4; 0 also for a field of another nbits whose
 *       codebook is not trained yet (see above)
 *   <li><b>[int8]</b> similarity, the ordinal of {@code VectorSimilarityFunction} (DOT_PRODUCT or
 *       COSINE)
 *   <li><b>[vint]</b> number of codebooks
 *   <li><b>[vlong]</b> offset and <b>[vlong]</b> length of the field's codebooks in .mvc
 *   <li><b>[int8]</b> bytes per centroid id, 1 to 4: enough for the largest codebook of the field
 *   <li><b>[int32]</b> number of documents with vectors
 *   <li><b>[vlong]</b> number of token vectors
 *   <li><b>[int64]</b> docs-with-field offset in .mvd: -2 if no document has vectors, -1 if all
 *       have, otherwise the offset of an {@link IndexedDISI} bit set; <b>[int64]</b> its length;
 *       <b>[int16]</b> its jump-table entry count; <b>[int8]</b> its dense rank power
 *   <li><b>[int64]</b> offset and <b>[int64]</b> length of the residual codes in .mvd
 *   <li><b>[int64]</b> offset and <b>[int64]</b> length of the centroid ids in .mvd
 *   <li><b>[int64]</b> offset of the token starts in .mvd, <b>[vint]</b> their block shift, their
 *       {@link DirectMonotonicWriter} block metadata, <b>[int64]</b> their length
 *   <li><b>[int8]</b> bits per codebook ordinal (0 when the field has a single codebook, and then
 *       no ordinals are stored), <b>[int64]</b> offset and <b>[int64]</b> length of the ordinals
 *   <li><b>[vint]</b> number of posting lists (the sum of the codebooks' centroid counts),
 *       <b>[int64]</b> offset and <b>[int64]</b> length of the posting lists in .mvd
 *   <li><b>[int64]</b> offset of the posting index in .mvd, <b>[vint]</b> its block shift, its
 *       {@link DirectMonotonicWriter} block metadata, <b>[int64]</b> its length
 * </ul>
 *
 * <p>then <b>[int32]</b> -1 to end the list of fields, and <b>[int8]</b> 1 if the delegated {@link
 * Lucene90DocValuesFormat} files ({@code .dvm}, {@code .dvd}) exist, else 0.
 *
 * <h3>.mvc (codebooks)</h3>
 *
 * <p>Codec name {@value #CODEBOOKS_CODEC}. Read whole into memory on open, checksum verified. For
 * each multi-vector field, its codebooks, in ordinal order:
 *
 * <ul>
 *   <li><b>[vint]</b> number of codebooks, then for each:
 *   <li><b>[16 bytes]</b> codebook id (random; equal ids mean equal codebooks)
 *   <li><b>[vint]</b> dimension {@code d}, <b>[int8]</b> nbits, <b>[vint]</b> number of centroids
 *       {@code k}
 *   <li><b>[bfloat16 × k·d]</b> centroids, row by row: the upper 16 bits of each float32 (rounded
 *       to nearest, ties to even), little-endian. Residuals are computed against the rounded
 *       centroids, so this halves the codebook without adding to the codes' error
 *   <li><b>[float32 × (2^nbits − 1)]</b> bucket cut-offs, ascending (none for nbits 0)
 *   <li><b>[float32 × 2^nbits]</b> bucket weights (none for nbits 0)
 * </ul>
 *
 * <h3>.mvd (data)</h3>
 *
 * <p>Codec name {@value #DATA_CODEC}. Accessed randomly; {@code checkIntegrity()} verifies its
 * checksum. Token vectors are numbered in document order, so a document's vectors are the range
 * {@code [tokenStart[i], tokenStart[i+1])} for the document's index {@code i} among the documents
 * with vectors. For each multi-vector field:
 *
 * <ul>
 *   <li><b>Residual codes</b>: per token vector, {@code ceil(d·nbits/8)} bytes: dimension {@code
 *       j}'s bucket occupies bits {@code [j·nbits, (j+1)·nbits)}, least significant bits of each
 *       byte first. With nbits 0: the vector itself, {@code d} × float32.
 *   <li><b>Centroid ids</b>: per token vector, its centroid's index in its document's codebook, in
 *       the number of bytes given in the metadata, little-endian.
 *   <li><b>Docs with field</b>: an {@link IndexedDISI} bit set, only if some but not all
 *       documents have vectors.
 *   <li><b>Token starts</b>: {@code numDocsWithField + 1} monotonic values ({@link
 *       DirectMonotonicWriter}), the first token vector of each document and the total.
 *   <li><b>Codebook ordinals</b>: per document with vectors, the ordinal of its codebook ({@link
 *       DirectWriter}), only if the field has more than one codebook.
 *   <li><b>Posting lists</b>: one per (codebook, centroid), codebook 0's centroids first: the
 *       documents having at least one token vector assigned to that centroid, as <b>[vint]</b>
 *       document count then one <b>[vint]</b> per document: the first document's id, then the
 *       difference to the previous id.
 *   <li><b>Posting index</b>: {@code numPostingLists + 1} monotonic values ({@link
 *       DirectMonotonicWriter}): the start of each posting list relative to the first, then the
 *       total length.
 * </ul>
 *
 * <p>Storage per token vector is thus {@code ceil(d·nbits/8)} bytes of residual, 1 to 4 bytes of
 * centroid id (2 up to 65536 centroids) and about one vint per distinct (document, centroid) pair
 * of postings; per document a few bits of token start; per field the codebooks.
 */
public final class MultiVectorDocValuesFormat extends DocValuesFormat {

  /** SPI name. */
  public static final String NAME = "NeuralMultiVector";

  static final String META_CODEC = "NeuralMultiVectorMeta";
  static final String CODEBOOKS_CODEC = "NeuralMultiVectorCodebooks";
  static final String DATA_CODEC = "NeuralMultiVectorData";
  static final String META_EXTENSION = "mvm";
  static final String CODEBOOKS_EXTENSION = "mvc";
  static final String DATA_EXTENSION = "mvd";
  /**
   * Version 1 stores centroids as bfloat16. Version 0 (float32 centroids) was never released and is
   * refused as too old.
   */
  static final int VERSION_BFLOAT16_CENTROIDS = 1;

  static final int VERSION_START = VERSION_BFLOAT16_CENTROIDS;
  static final int VERSION_CURRENT = VERSION_BFLOAT16_CENTROIDS;

  static final int DIRECT_MONOTONIC_BLOCK_SHIFT = 16;

  /**
   * {@code SegmentInfo} attribute prefix: {@code <prefix><field>} = number of the field's token
   * vectors the segment stores exact (nbits 0) although the field asks for nbits 1, 2 or 4, because
   * no codebook was trained yet. Absent once a merge encoded them, and for segments without any.
   */
  public static final String UNTRAINED_ATTRIBUTE_PREFIX = "neuralsolr.multivector.untrained.";

  /**
   * {@code SegmentInfo} attribute prefix: {@code <prefix><field>} = the ids ({@link #idString}) of
   * the codebooks the segment encodes the field with, comma-separated; absent for segments that
   * store the field untrained and for segments written before it existed.
   */
  public static final String CODEBOOKS_ATTRIBUTE_PREFIX = "neuralsolr.multivector.codebooks.";

  private final CodebookSource codebookSource;

  /** Trains a codebook per flush (this is the instance SPI loads, and all reading needs). */
  public MultiVectorDocValuesFormat() {
    this(null);
  }

  /**
   * Encodes flushed vectors with the codebooks {@code codebookSource} supplies, training (and
   * reporting) one only when it supplies none.
   */
  public MultiVectorDocValuesFormat(CodebookSource codebookSource) {
    super(NAME);
    this.codebookSource = codebookSource;
  }

  /**
   * Token vectors per multi-vector field that {@code segment} stores untrained (float32 while the
   * field asks for nbits above 0), from its attributes; empty if none (see {@link
   * #UNTRAINED_ATTRIBUTE_PREFIX}).
   */
  public static Map<String, Long> untrainedTokenVectors(SegmentInfo segment) {
    Map<String, Long> untrained = new TreeMap<>();
    for (Map.Entry<String, String> e : segment.getAttributes().entrySet()) {
      if (e.getKey().startsWith(UNTRAINED_ATTRIBUTE_PREFIX)) {
        untrained.put(
            e.getKey().substring(UNTRAINED_ATTRIBUTE_PREFIX.length()), Long.parseLong(e.getValue()));
      }
    }
    return untrained;
  }

  /**
   * Codebook ids per multi-vector field of {@code segment}, from its attributes (see {@link
   * #CODEBOOKS_ATTRIBUTE_PREFIX}); empty if none are recorded.
   */
  public static Map<String, Set<String>> codebookIds(SegmentInfo segment) {
    Map<String, Set<String>> ids = new TreeMap<>();
    for (Map.Entry<String, String> e : segment.getAttributes().entrySet()) {
      if (e.getKey().startsWith(CODEBOOKS_ATTRIBUTE_PREFIX)) {
        ids.put(
            e.getKey().substring(CODEBOOKS_ATTRIBUTE_PREFIX.length()),
            new TreeSet<>(Arrays.asList(e.getValue().split(","))));
      }
    }
    return ids;
  }

  /** A codebook id as text: Lucene's {@code StringHelper.idToString}. */
  public static String idString(byte[] id) {
    return StringHelper.idToString(id);
  }

  @Override
  public DocValuesConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
    return new MultiVectorDocValuesWriter(state, codebookSource, new Lucene90DocValuesFormat());
  }

  @Override
  public DocValuesProducer fieldsProducer(SegmentReadState state) throws IOException {
    return new MultiVectorDocValuesReader(state, new Lucene90DocValuesFormat());
  }
}
