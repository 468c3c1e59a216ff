package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import org.apache.lucene.codecs.FieldsConsumer;
import org.apache.lucene.codecs.FieldsProducer;
import org.apache.lucene.codecs.PostingsFormat;
import org.apache.lucene.codecs.lucene90.blocktree.Lucene90BlockTreeTermsWriter;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * Postings format for learned sparse term weights ({@link SparseVectorField}): doc ids and
 * frequencies (the weights' codes) in blocks of 128 postings, each block carrying the largest
 * frequency it holds, so that {@link SparseQuery} can skip blocks that cannot reach the current top
 * k. SPI name {@value #NAME}; Solr selects it per field type with {@code
 * postingsFormat="NeuralSparse"}.
 *
 * <p>Fields indexed with {@code DOCS} or {@code DOCS_AND_FREQS} (which is how sparse weights are
 * indexed) use the layout below. Fields that index positions, offsets or payloads are delegated
 * as a whole to Lucene's default postings format ({@code Lucene912PostingsFormat}), written with
 * the segment suffix of this format followed by {@code _pos}: this format does not store positions
 * and there is no reason to reinvent them.
 *
 * <p>Frequencies are stored losslessly: any {@code DOCS_AND_FREQS} field works. The
 * quantisation of weights happens in {@link SparseVectorField}, which turns each weight into a
 * 16-bit code carried as the term frequency (8 exponent and 8 mantissa bits, rounded to nearest:
 * relative error at most 2<sup>-9</sup>, see {@link SparseVectorField#quantize}). For such
 * fields the frequency blocks below are frame-of-reference packed codes, typically 9 to 12 bits a
 * posting.
 *
 * <h2>Files</h2>
 *
 * <ul>
 *   <li>{@code .tim}, {@code .tip}, {@code .tmd}: the terms dictionary, Lucene's block tree ({@link
 *       Lucene90BlockTreeTermsWriter}), holding for each term the term metadata described below.
 *   <li>{@code .nsd}: doc ids, frequencies and per-block maxima.
 *   <li>{@code .nsm}: which fields were delegated; where each forward index lies.
 *   <li>{@code .nsf}: the forward index of each field with frequencies ({@link SparseForwardIndex}):
 *       each term's postings by decreasing weight, and each document's terms; only if some field
 *       of the segment has frequencies and has not opted out with the field attribute {@value
 *       #FORWARD_INDEX_ATTRIBUTE}{@code =false} ({@link SparseVectorField#TYPE_WITHOUT_FORWARD_INDEX}).
 *       Only candidate generation reads it; without it, candidate generation reads postings.
 *   <li>Files of {@code Lucene912PostingsFormat} with segment suffix {@code <suffix>_pos}, only
 *       if some field of the segment indexes positions.
 * </ul>
 *
 * <p>Notation follows {@code Lucene912PostingsFormat}: VInt/VLong are variable-length integers,
 * ZLong a zig-zag encoded VLong, Byte a single byte, Long a little-endian 8-byte long;
 * <i>Header</i> is {@link org.apache.lucene.codecs.CodecUtil#writeIndexHeader} (codec name,
 * version, segment id, segment suffix), <i>Footer</i> is {@link
 * org.apache.lucene.codecs.CodecUtil#writeFooter} (magic, algorithm id, CRC32 checksum of all
 * preceding bytes).
 *
 * <h3>Term metadata (inside the terms dictionary)</h3>
 *
 * <p>The postings writer first writes into the {@code .tim} file its own Header (codec {@code
 * NeuralSparsePostingsTerms}) followed by VInt BlockSize (128). Then, for each term, after the
 * term dictionary's DocFreq and TotalTermFreq:
 *
 * <ul>
 *   <li>TermMetadata --&gt; DocFPAndSingleton, [SingletonDocID], [TermMaxFreq], [TermMinNorm],
 *       [TermOrdDelta]
 *   <li>DocFPAndSingleton --&gt; VLong: {@code (DocStartFP - previous DocStartFP) << 1 |
 *       singleton}; the previous DocStartFP is 0 when the block tree asks for absolute metadata.
 *   <li>SingletonDocID --&gt; VInt, only if DocFreq == 1: the postings list is inlined here and
 *       nothing is written to {@code .nsd}; the frequency is TotalTermFreq.
 *   <li>TermMaxFreq --&gt; VInt, {@code maxFreq - 1}, only if DocFreq &gt; 1 and the field has
 *       frequencies: the largest frequency of the term, the top level of the impacts.
 *   <li>TermMinNorm --&gt; ZLong, only if the field has norms: the smallest (unsigned) norm of the
 *       term's documents.
 *   <li>TermOrdDelta --&gt; VLong, only if the field has frequencies: the term's ord (its rank among
 *       the field's terms, in term order) minus the previous term's ord (0 when absolute). The
 *       forward index names terms by ord.
 * </ul>
 *
 * <h3>Postings file (.nsd)</h3>
 *
 * <ul>
 *   <li>DocFile --&gt; Header (codec {@code NeuralSparsePostingsDoc}), &lt;TermPostings&gt;
 *       <sup>TermCount with DocFreq &gt; 1</sup>, Footer
 *   <li>TermPostings --&gt; &lt;Group&gt;<sup>NumFull / 32</sup>, Block<sup>NumFull % 32</sup>,
 *       Tail, where NumFull = DocFreq / 128 is the number of full blocks
 *   <li>Group --&gt; GroupHeader, Block<sup>32</sup>
 *   <li>GroupHeader --&gt; GroupLastDocDelta (VInt), GroupLength (VLong), [GroupMaxFreq (VInt)],
 *       [GroupMinNorm (ZLong)]
 *   <li>Block --&gt; BlockHeader, BlockPayload
 *   <li>BlockHeader --&gt; LastDocDelta (VInt), PayloadLength (VInt), [BlockMaxFreq (VInt)],
 *       [BlockMinNorm (ZLong)]
 *   <li>BlockPayload --&gt; DocBits (Byte), PackedDocDeltas, [FreqBase (VInt), FreqBits (Byte),
 *       PackedFreqs]
 *   <li>PackedDocDeltas --&gt; Long<sup>2 &times; DocBits</sup>: the 128 values {@code doc -
 *       previousDoc - 1}, each in DocBits bits, packed from the lowest bit of the first long up
 *   <li>PackedFreqs --&gt; Long<sup>2 &times; FreqBits</sup>: the 128 values {@code freq -
 *       FreqBase - 1} packed the same way (frame of reference: FreqBase + 1 is the block's
 *       smallest frequency)
 *   <li>Tail --&gt; TailDocDelta<sup>DocFreq % 128</sup>, [TailFreq<sup>DocFreq % 128</sup>]:
 *       VInts {@code doc - previousDoc - 1} then VInts {@code freq - 1}
 * </ul>
 *
 * <p>Notes:
 *
 * <ul>
 *   <li>A term's first previousDoc is -1. LastDocDelta is the block's last doc minus the previous
 *       block's last doc (-1 for the first block); GroupLastDocDelta likewise for groups.
 *       Headers thus give each block's doc range without decoding it: skipping to a target reads
 *       one header per 32 blocks (GroupLength jumps over the group) and one per block inside the
 *       group that holds the target.
 *   <li>BlockMaxFreq and GroupMaxFreq ({@code maxFreq - 1}) are written only for fields with
 *       frequencies, BlockMinNorm and GroupMinNorm only for fields with norms. They are the
 *       impacts: level 0 is the current block (the tail uses the term's maxima), level 1 the
 *       current group, the last level the term ({@code TermMaxFreq}). For fields with norms the
 *       impact of a block is the single pair (max freq, min norm) &mdash; a valid but looser bound
 *       than Lucene's full competitive set; sparse weight fields omit norms.
 *   <li>A block whose doc ids are consecutive has DocBits 0 and no PackedDocDeltas; a block
 *       whose frequencies are all equal has FreqBits 0. Fields without frequencies have no
 *       FreqBase, FreqBits, PackedFreqs or TailFreq.
 * </ul>
 *
 * <h3>Forward file (.nsf)</h3>
 *
 * <ul>
 *   <li>ForwardFile --&gt; Header (codec {@code NeuralSparsePostingsForward}),
 *       &lt;ImpactLists, ImpactAddresses, DocEntries, DocAddresses&gt;<sup>NumForward</sup>, Footer
 *   <li>ImpactLists --&gt; &lt;Doc (Int)<sup>DocFreq</sup>, Freq (Int)<sup>DocFreq</sup>&gt;
 *       <sup>NumOrds</sup>: each term's postings sorted by decreasing frequency, ties by
 *       increasing doc id, terms in ord order
 *   <li>DocEntries --&gt; &lt;Ord (Int)<sup>n</sup>, Freq<sup>n</sup>&gt;<sup>MaxDoc</sup>: each
 *       document's terms in increasing ord; Freq is a Short (unsigned) when every frequency of
 *       the field fits 16 bits (FreqBytes 2), an Int otherwise (FreqBytes 4); n follows from the
 *       addresses
 *   <li>ImpactAddresses, DocAddresses --&gt; {@link
 *       org.apache.lucene.util.packed.DirectMonotonicWriter} data (block shift 16): NumOrds + 1
 *       start offsets of the impact lists, MaxDoc + 1 start offsets of the document entries,
 *       relative to their region
 * </ul>
 *
 * <p>Fixed widths let a reader jump to the k-th heaviest posting of a term, copy a prefix of a
 * term's impact list, and merge a document's ords without decoding bytes one at a time. They
 * cost 8 bytes a posting for the impact lists and 6 (4 + 2) for the document entries, on top of
 * the postings; {@code SparseBench} prints the figures.
 *
 * <h3>Meta file (.nsm)</h3>
 *
 * <ul>
 *   <li>Meta --&gt; Header (codec {@code NeuralSparsePostingsMeta}), NumDelegated (VInt),
 *       DelegatedFieldNumber (VInt)<sup>NumDelegated</sup>, NumForward (VInt),
 *       ForwardField<sup>NumForward</sup>, Footer
 *   <li>ForwardField --&gt; FieldNumber (VInt), NumOrds (VInt), ImpactAddressesMeta,
 *       DocAddressesMeta, FreqBytes (VLong), DocEntriesStart, DocEntriesLength,
 *       DocAddressesStart, DocAddressesLength, ImpactListsStart, ImpactListsLength,
 *       ImpactAddressesStart, ImpactAddressesLength (VLong each, offsets in {@code .nsf})
 *   <li>ImpactAddressesMeta, DocAddressesMeta --&gt; the meta of {@link
 *       org.apache.lucene.util.packed.DirectMonotonicWriter}
 * </ul>
 *
 * <p>The forward index is built in memory from the postings after they are written, one pass
 * per range of documents whose postings fit 2<sup>22</sup> entries (32 MB), plus one buffer of
 * the longest posting list while sorting it by weight.
 *
 * <p>{@code checkIntegrity()} verifies the checksums of {@code .nsd}, {@code .nsf}, of the terms
 * dictionary files and of the delegate's files; {@code .nsm} is verified entirely when it is opened.
 */
public final class SparsePostingsFormat extends PostingsFormat {

  /** SPI name. */
  public static final String NAME = "NeuralSparse";

  static final String DOC_EXTENSION = "nsd";
  static final String META_EXTENSION = "nsm";
  static final String FORWARD_EXTENSION = "nsf";
  static final String FORWARD_CODEC = "NeuralSparsePostingsForward";
  static final String DOC_CODEC = "NeuralSparsePostingsDoc";
  static final String TERMS_CODEC = "NeuralSparsePostingsTerms";
  static final String META_CODEC = "NeuralSparsePostingsMeta";
  /**
   * Version 1 added term ords to the term metadata and the forward index; version 0 indexes are
   * refused as too old (IndexFormatTooOldException) rather than misread: no release wrote them.
   */
  static final int VERSION_START = 1;

  static final int VERSION_CURRENT = VERSION_START;

  /** Postings per block. */
  static final int BLOCK_SIZE = 128;

  /** Blocks per group (the second skip level). */
  static final int GROUP_SIZE = 32;

  /**
   * Field attribute: {@code false} means no forward index is written for the field (a field
   * without the attribute gets one). Attributes travel with FieldInfos, so merges keep the choice.
   */
  public static final String FORWARD_INDEX_ATTRIBUTE = "neuralsolr.sparse.forwardIndex";

  /** Suffix appended to the segment suffix for the delegate of positional fields. */
  static final String DELEGATE_SUFFIX = "pos";

  /** SPI constructor. */
  public SparsePostingsFormat() {
    super(NAME);
  }

  @Override
  public FieldsConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
    return new SparseFieldsConsumer(state);
  }

  @Override
  public FieldsProducer fieldsProducer(SegmentReadState state) throws IOException {
    return new SparseFieldsProducer(state);
  }

  static String delegateSuffix(String segmentSuffix) {
    return segmentSuffix.isEmpty() ? DELEGATE_SUFFIX : segmentSuffix + "_" + DELEGATE_SUFFIX;
  }

  @Override
  public String toString() {
    return NAME + "(blocksize=" + BLOCK_SIZE + ")";
  }
}
