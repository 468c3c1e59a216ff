package org.neuralsolr.codecs.sparse;

import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.TermFrequencyAttribute;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.util.UnicodeUtil;

/**
 * One document's learned sparse vector (term &rarr; non-negative weight), indexed as postings.
 *
 * <p>Like {@link org.apache.lucene.document.FeatureField}, the weight travels through the term
 * frequency: each term is indexed once in the document with a frequency equal to the weight's
 * 16-bit code (8 exponent and 8 mantissa bits, see {@link #quantize}). A posting therefore
 * costs nothing beyond a doc id and a frequency, norms are omitted, and any postings format works;
 * the {@code NeuralSparse} postings format ({@link SparsePostingsFormat}) stores these frequencies
 * compactly with per-block maxima that {@link SparseQuery} uses to skip blocks.
 *
 * <p>A document must hold at most one {@code SparseVectorField} per field name: Lucene would add
 * the frequencies of a term that occurs in two instances, and a sum of codes is not a code.
 *
 * <p>Validation (all failures are {@link IllegalArgumentException}s whose message names the field
 * and, where there is one, the offending term): the vector must not be empty; a weight must be
 * finite, non-negative and at most about 3.39e38; a term must be non-empty and at most {@link
 * IndexWriter#MAX_TERM_LENGTH} bytes in UTF-8; the vector must hold at most {@code maxTerms}
 * entries. Weights equal to zero are valid and simply not indexed.
 */
public final class SparseVectorField extends Field {

  /**
   * The field type: docs and frequencies, no norms, not stored, frozen. {@link
   * SparsePostingsFormat} writes a forward index for it.
   */
  public static final FieldType TYPE = fieldType(true);

  /**
   * The same without the forward index of {@link SparsePostingsFormat}: about a quarter of the
   * bytes, for fields that are not queried with candidate generation ({@link
   * SparseApproximation#candidateTerms()}), which then reads postings instead.
   */
  public static final FieldType TYPE_WITHOUT_FORWARD_INDEX = fieldType(false);

  private static FieldType fieldType(boolean forwardIndex) {
    FieldType type = new FieldType();
    type.setTokenized(false);
    type.setOmitNorms(true);
    type.setIndexOptions(IndexOptions.DOCS_AND_FREQS);
    if (forwardIndex == false) {
      type.putAttribute(SparsePostingsFormat.FORWARD_INDEX_ATTRIBUTE, "false");
    }
    type.freeze();
    return type;
  }

  /**
   * Largest allowed {@code maxTerms}, also the default (it covers a BERT vocabulary of 30,522):
   * codes are below 2<sup>16</sup> and Lucene requires the sum of a document's frequencies in a
   * field to fit in an {@code int}.
   */
  public static final int HARD_MAX_TERMS = 32768;

  /** Default maximum number of entries of one vector. */
  public static final int DEFAULT_MAX_TERMS = HARD_MAX_TERMS;

  /** Maximum relative error of {@link #quantize} for weights of at least {@link Float#MIN_NORMAL}. */
  public static final float MAX_RELATIVE_ERROR = SparseWeights.MAX_RELATIVE_ERROR;

  private final String[] terms;
  private final int[] codes;

  /** Builds the field with the {@link #DEFAULT_MAX_TERMS default} maximum number of terms. */
  public SparseVectorField(String name, Map<String, ? extends Number> weights) {
    this(name, weights, DEFAULT_MAX_TERMS);
  }

  /**
   * Builds the field.
   *
   * @param name field name
   * @param weights term &rarr; weight; weights equal to zero are skipped
   * @param maxTerms the most entries {@code weights} may hold, in {@code [1, HARD_MAX_TERMS]}
   * @throws IllegalArgumentException if the vector is invalid (see the class documentation)
   */
  public SparseVectorField(String name, Map<String, ? extends Number> weights, int maxTerms) {
    this(name, weights, maxTerms, TYPE);
  }

  /**
   * Builds the field with {@link #TYPE} or {@link #TYPE_WITHOUT_FORWARD_INDEX}.
   *
   * @throws IllegalArgumentException if the vector is invalid (see the class documentation)
   */
  public SparseVectorField(String name, Map<String, ? extends Number> weights, int maxTerms, FieldType type) {
    super(name, type);
    if (type != TYPE && type != TYPE_WITHOUT_FORWARD_INDEX) {
      throw new IllegalArgumentException("field '" + name + "': the type must be TYPE or TYPE_WITHOUT_FORWARD_INDEX");
    }
    if (maxTerms < 1 || maxTerms > HARD_MAX_TERMS) {
      throw new IllegalArgumentException(
          "field '" + name + "': maxTerms must be in [1, " + HARD_MAX_TERMS + "], got " + maxTerms);
    }
    if (weights == null || weights.isEmpty()) {
      throw new IllegalArgumentException("field '" + name + "': sparse vector is empty");
    }
    if (weights.size() > maxTerms) {
      throw new IllegalArgumentException(
          "field '"
              + name
              + "': sparse vector has "
              + weights.size()
              + " terms, more than the maximum of "
              + maxTerms);
    }
    String[] t = new String[weights.size()];
    int[] c = new int[weights.size()];
    int n = 0;
    for (Map.Entry<String, ? extends Number> e : weights.entrySet()) {
      String term = e.getKey();
      checkTerm(name, term);
      Number value = e.getValue();
      if (value == null) {
        throw new IllegalArgumentException(
            "field '" + name + "': term '" + term + "' has no weight");
      }
      float w = value.floatValue();
      if (SparseWeights.isEncodable(w) == false) {
        throw new IllegalArgumentException(
            "field '"
                + name
                + "': term '"
                + term
                + "' has an invalid weight "
                + value
                + " (weights must be finite, non-negative and at most "
                + SparseWeights.decode(SparseWeights.MAX_CODE)
                + ")");
      }
      int code = SparseWeights.encode(w);
      if (code != 0) {
        t[n] = term;
        c[n] = code;
        n++;
      }
    }
    this.terms = n == t.length ? t : java.util.Arrays.copyOf(t, n);
    this.codes = n == c.length ? c : java.util.Arrays.copyOf(c, n);
  }

  /** Checks one term the way the field does; a query uses it too. */
  static void checkTerm(String field, String term) {
    if (term == null || term.isEmpty()) {
      throw new IllegalArgumentException("field '" + field + "': empty term");
    }
    int utf8Length = UnicodeUtil.calcUTF16toUTF8Length(term, 0, term.length());
    if (utf8Length > IndexWriter.MAX_TERM_LENGTH) {
      throw new IllegalArgumentException(
          "field '"
              + field
              + "': term '"
              + term.substring(0, 30)
              + "...' is "
              + utf8Length
              + " bytes long in UTF-8, more than the maximum of "
              + IndexWriter.MAX_TERM_LENGTH);
    }
  }

  /**
   * Returns the weight that is stored, and scored, for {@code weight}: see {@link
   * SparseWeights} for the code and its error bound.
   *
   * @throws IllegalArgumentException if {@code weight} is negative, NaN, infinite or too large
   */
  public static float quantize(float weight) {
    if (SparseWeights.isEncodable(weight) == false) {
      throw new IllegalArgumentException("invalid sparse weight " + weight);
    }
    return SparseWeights.decode(SparseWeights.encode(weight));
  }

  /** Number of indexed (non-zero) entries. */
  public int size() {
    return terms.length;
  }

  @Override
  public TokenStream tokenStream(Analyzer analyzer, TokenStream reuse) {
    SparseTokenStream stream =
        reuse instanceof SparseTokenStream ? (SparseTokenStream) reuse : new SparseTokenStream();
    stream.setValues(terms, codes);
    return stream;
  }

  /** Emits each term once with its code as term frequency. */
  private static final class SparseTokenStream extends TokenStream {
    private final CharTermAttribute termAttribute = addAttribute(CharTermAttribute.class);
    private final TermFrequencyAttribute freqAttribute =
        addAttribute(TermFrequencyAttribute.class);
    private String[] terms;
    private int[] codes;
    private int upTo;

    void setValues(String[] terms, int[] codes) {
      this.terms = terms;
      this.codes = codes;
      this.upTo = terms.length;
    }

    @Override
    public boolean incrementToken() {
      if (upTo >= terms.length) {
        return false;
      }
      clearAttributes();
      termAttribute.append(terms[upTo]);
      freqAttribute.setTermFrequency(codes[upTo]);
      upTo++;
      return true;
    }

    @Override
    public void reset() {
      upTo = 0;
    }

    @Override
    public void close() {
      terms = null;
      codes = null;
    }
  }
}
