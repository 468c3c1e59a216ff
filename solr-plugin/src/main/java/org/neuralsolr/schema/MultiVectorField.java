package org.neuralsolr.schema;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.SortField;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.Utils;
import org.apache.solr.response.TextResponseWriter;
import org.apache.solr.schema.FieldType;
import org.apache.solr.schema.IndexSchema;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.uninverting.UninvertingReader.Type;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;

/**
 * A document's token vectors (ColBERT late interaction), stored by the {@code NeuralMultiVector}
 * doc-values format with ColBERTv2 residual compression and searched by {@code {!colbert}}.
 *
 * <pre>{@code
 * <fieldType name="colbert_384" class="org.neuralsolr.schema.MultiVectorField"
 *            vectorDimension="384" nbits="2" similarityFunction="dot_product"/>
 * <field name="colbert" type="colbert_384"/>
 * }</pre>
 *
 * <ul>
 *   <li>{@code vectorDimension} (required): size of every token vector, 1 to 4096;
 *   <li>{@code nbits} (2): bits per dimension of the stored residuals, 1, 2 or 4; 0 stores float32;
 *   <li>{@code similarityFunction} ({@code dot_product}): {@code dot_product} scores the vectors as
 *       given, {@code cosine} normalises them first; either way MaxSim sums dot products;
 *   <li>{@code centroids} (0): centroids per codebook, 0 for ColBERTv2's {@code 2^floor(log2(16√n))};
 *   <li>{@code trainingSample} (0 = 131,072): token vectors sampled to train the centroids;
 *   <li>{@code maxTokenVectors} (8,192): token vectors one document may hold; more is a 400;
 *   <li>{@code trainingThreshold} (0): token vectors a codebook is trained on at the least. Until a
 *       flush or merge holds that many, segments keep the vectors exact (float32, 4·dim bytes each);
 *       the first merge that does, or an optimize, trains the codebook on a sample spread over all
 *       of them and encodes them, and later flushes encode with it. 0 trains at the core's first
 *       flush, on that flush alone, which fits the codebook to whatever came first. An optimize
 *       trains even a single segment only with {@link TrainingMergePolicyFactory} in {@code
 *       <indexConfig>} (the shipped configset has it): Solr's merge policies take a lone segment for
 *       merged already. Until then each flush or merge that stores the field untrained logs a WARN,
 *       and the core's metric {@code INDEX.neural.multiVector.untrainedTokenVectors} (per field:
 *       {@code untrainedFields}) counts the token vectors stored as float32.
 * </ul>
 *
 * <p>The format is selected here (a {@code docValuesFormat} attribute other than {@code
 * NeuralMultiVector} is refused), and Solr's {@code SchemaCodecFactory} routes the field to it;
 * {@link NeuralCodecFactory} does too, and also makes the core's flushes share one codebook.
 * The field is neither indexed, stored nor usable for sorting or faceting: it only feeds MaxSim.
 *
 * <p>Values: a token matrix as {@code float[][]}, a list of lists of numbers, the same as JSON
 * text ({@code "[[0.1, ...], ...]"}), or little-endian float32 bytes ({@code byte[]} or base64
 * text) of {@code n × vectorDimension} floats. JSON update requests send a list of lists; the
 * neural update processor turns it into bytes, because Solr would otherwise take the outer list
 * for several values of the field.
 */
public class MultiVectorField extends FieldType {
  static final String DIMENSION = "vectorDimension";
  static final String NBITS = "nbits";
  static final String SIMILARITY = "similarityFunction";
  static final String CENTROIDS = "centroids";
  static final String TRAINING_SAMPLE = "trainingSample";
  static final String TRAINING_THRESHOLD = "trainingThreshold";
  static final String MAX_TOKEN_VECTORS = "maxTokenVectors";
  /** A model's longest input (the long-context fixtures read 8,192 tokens). */
  static final int DEFAULT_MAX_TOKEN_VECTORS = 8192;

  private int dimension;
  private int nbits;
  private VectorSimilarityFunction similarity;
  private int trainingThreshold;
  private int centroids;
  private int trainingSample;
  private int maxTokenVectors;
  private org.apache.lucene.document.FieldType luceneType;

  @Override
  protected void init(IndexSchema schema, Map<String, String> args) {
    dimension = intArg(args, DIMENSION, -1);
    if (dimension < 1 || dimension > org.neuralsolr.codecs.multivector.MultiVectorField.MAX_DIMENSION) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + DIMENSION + " must be between 1 and 4096, got " + args.get(DIMENSION));
    }
    nbits = intArg(args, NBITS, 2);
    if (nbits != 0 && nbits != 1 && nbits != 2 && nbits != 4) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + NBITS + " must be 0, 1, 2 or 4, got " + nbits);
    }
    String sim = args.remove(SIMILARITY);
    similarity = sim == null ? VectorSimilarityFunction.DOT_PRODUCT : parseSimilarity(sim);
    int centroids = intArg(args, CENTROIDS, 0);
    int sample = intArg(args, TRAINING_SAMPLE, 0);
    int threshold = intArg(args, TRAINING_THRESHOLD, 0);
    maxTokenVectors = intArg(args, MAX_TOKEN_VECTORS, DEFAULT_MAX_TOKEN_VECTORS);
    if (maxTokenVectors < 1) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + MAX_TOKEN_VECTORS + " must be at least 1, got " + maxTokenVectors);
    }
    trainingThreshold = threshold;
    this.centroids = centroids;
    this.trainingSample = sample;
    String format = args.get("docValuesFormat");
    if (format != null && !MultiVectorDocValuesFormat.NAME.equals(format)) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "field type '" + typeName + "': docValuesFormat must be " + MultiVectorDocValuesFormat.NAME + " (or left out)");
    }
    try {
      luceneType = org.neuralsolr.codecs.multivector.MultiVectorField.createFieldType(dimension, nbits, similarity, centroids, sample, threshold);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + e.getMessage());
    }
    // nothing to index, store or uninvert: the doc values are the whole field
    properties &= ~(INDEXED | STORED | DOC_VALUES | TOKENIZED | MULTIVALUED);
    super.init(schema, args);
  }

  private int intArg(Map<String, String> args, String name, int def) {
    String v = args.remove(name);
    if (v == null) {
      return def;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + name + " must be an integer, got '" + v + "'");
    }
  }

  private VectorSimilarityFunction parseSimilarity(String value) {
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "dot_product":
        return VectorSimilarityFunction.DOT_PRODUCT;
      case "cosine":
        return VectorSimilarityFunction.COSINE;
      default:
        throw new SolrException(
            ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + SIMILARITY + " must be dot_product or cosine, got '" + value + "'");
    }
  }

  /** Always the NeuralMultiVector format: Solr's codec factory routes the field by this. */
  @Override
  protected void setArgs(IndexSchema schema, Map<String, String> args) {
    super.setArgs(schema, args); // reads docValuesFormat after init(), so it is set here
    docValuesFormat = MultiVectorDocValuesFormat.NAME;
  }

  public int getDimension() {
    return dimension;
  }

  /** Bits per dimension of stored residuals; 0 means float32. */
  public int getNbits() {
    return nbits;
  }

  /** Token vectors one flush or merge must hold before the codebook is trained; 0: the first flush. */
  public int getTrainingThreshold() {
    return trainingThreshold;
  }

  /** Centroids per codebook as configured; 0: ColBERTv2's rule from the token vectors trained on. */
  public int getCentroids() {
    return centroids;
  }

  /** Token vectors sampled to train a codebook as configured; 0: the format's default. */
  public int getTrainingSample() {
    return trainingSample;
  }

  public VectorSimilarityFunction getSimilarityFunction() {
    return similarity;
  }

  @Override
  public void checkSchemaField(SchemaField field) {
    if (field.multiValued()) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field '" + field.getName() + "': a MultiVectorField holds one token matrix; it cannot be multiValued");
    }
    if (!MultiVectorDocValuesFormat.NAME.equals(field.getDocValuesFormat())) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "field '" + field.getName() + "': docValuesFormat must be " + MultiVectorDocValuesFormat.NAME);
    }
  }

  @Override
  public List<IndexableField> createFields(SchemaField field, Object value) {
    float[][] vectors = toMatrix(field.getName(), value);
    try {
      return List.of(new org.neuralsolr.codecs.multivector.MultiVectorField(field.getName(), vectors, luceneType));
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, e.getMessage());
    }
  }

  @Override
  public IndexableField createField(SchemaField field, Object value) {
    return createFields(field, value).get(0);
  }

  /**
   * The token matrix a value stands for, checked against the field's dimension.
   *
   * @throws SolrException 400 naming the field if the value is not a matrix of finite numbers
   */
  public float[][] toMatrix(String fieldName, Object value) {
    float[][] m;
    try {
      m = parse(value);
    } catch (RuntimeException e) {
      throw bad(fieldName, "cannot read token vectors: " + e.getMessage());
    }
    if (m == null || m.length == 0) {
      throw bad(fieldName, "needs at least one token vector");
    }
    if (m.length > maxTokenVectors) {
      // bounds what one document costs to store and to score, whoever sent it
      throw bad(fieldName, "has " + m.length + " token vectors, the field takes at most " + maxTokenVectors + " (" + MAX_TOKEN_VECTORS + ")");
    }
    for (int t = 0; t < m.length; t++) {
      if (m[t] == null || m[t].length != dimension) {
        throw bad(fieldName, "token vector " + t + " has " + (m[t] == null ? 0 : m[t].length) + " dimensions, the field has " + dimension);
      }
      for (int j = 0; j < dimension; j++) {
        if (!Float.isFinite(m[t][j])) {
          throw bad(fieldName, "token vector " + t + " has a non-finite value (" + m[t][j] + ") at position " + j);
        }
      }
    }
    return m;
  }

  /** Little-endian float32 bytes of a matrix: the compact value the update processor hands on. */
  public static byte[] toBytes(float[][] vectors) {
    int dim = vectors.length == 0 ? 0 : vectors[0].length;
    ByteBuffer buf = ByteBuffer.allocate(vectors.length * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] v : vectors) {
      for (float x : v) {
        buf.putFloat(x);
      }
    }
    return buf.array();
  }

  private float[][] parse(Object value) {
    if (value instanceof float[][]) {
      return (float[][]) value;
    }
    if (value instanceof byte[]) {
      return fromBytes((byte[]) value);
    }
    if (value instanceof ByteBuffer) {
      ByteBuffer b = ((ByteBuffer) value).duplicate();
      byte[] bytes = new byte[b.remaining()];
      b.get(bytes);
      return fromBytes(bytes);
    }
    if (value instanceof List) {
      return fromList((List<?>) value);
    }
    if (value instanceof CharSequence) {
      String s = value.toString().trim();
      if (s.startsWith("[")) {
        Object parsed = Utils.fromJSONString(s);
        if (!(parsed instanceof List)) {
          throw new IllegalArgumentException("JSON text must be a list of lists of numbers");
        }
        return fromList((List<?>) parsed);
      }
      return fromBytes(Base64.getDecoder().decode(s));
    }
    throw new IllegalArgumentException("unsupported value of type " + (value == null ? "null" : value.getClass().getSimpleName()));
  }

  private float[][] fromBytes(byte[] bytes) {
    int rowBytes = dimension * Float.BYTES;
    if (bytes.length % rowBytes != 0) {
      throw new IllegalArgumentException(bytes.length + " bytes are not a whole number of " + dimension + "-dimensional float32 vectors");
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[][] m = new float[bytes.length / rowBytes][dimension];
    for (float[] row : m) {
      for (int j = 0; j < dimension; j++) {
        row[j] = buf.getFloat();
      }
    }
    return m;
  }

  private static float[][] fromList(List<?> rows) {
    if (!rows.isEmpty() && rows.get(0) instanceof Number) {
      throw new IllegalArgumentException("expected a list of token vectors (a list of lists of numbers), got a flat list");
    }
    List<float[]> out = new ArrayList<>(rows.size());
    for (Object row : rows) {
      if (row instanceof float[]) {
        out.add((float[]) row);
        continue;
      }
      if (!(row instanceof List)) {
        throw new IllegalArgumentException("every token vector must be a list of numbers");
      }
      List<?> r = (List<?>) row;
      float[] v = new float[r.size()];
      for (int j = 0; j < v.length; j++) {
        Object x = r.get(j);
        if (x instanceof Number) {
          v[j] = ((Number) x).floatValue();
        } else if (x instanceof String) {
          v[j] = Float.parseFloat((String) x); // "NaN" arrives as text; the check then reports it
        } else {
          throw new IllegalArgumentException("token vectors must hold numbers, got " + x);
        }
      }
      out.add(v);
    }
    return out.toArray(new float[0][]);
  }

  private static SolrException bad(String field, String why) {
    return new SolrException(ErrorCode.BAD_REQUEST, "field '" + field + "': " + why);
  }

  @Override
  public Type getUninversionType(SchemaField sf) {
    return null;
  }

  @Override
  public void write(TextResponseWriter writer, String name, IndexableField f) throws IOException {
    throw new SolrException(ErrorCode.BAD_REQUEST, "field '" + name + "' (MultiVectorField) is not stored and cannot be returned");
  }

  @Override
  public SortField getSortField(SchemaField field, boolean top) {
    throw new SolrException(ErrorCode.BAD_REQUEST, "field '" + field.getName() + "' (MultiVectorField) cannot be sorted on");
  }

  @Override
  public Query getFieldQuery(QParser parser, SchemaField field, String externalVal) {
    throw new SolrException(
        ErrorCode.BAD_REQUEST, "field '" + field.getName() + "' (MultiVectorField) is searched with {!colbert f=" + field.getName() + " model=...}");
  }
}
