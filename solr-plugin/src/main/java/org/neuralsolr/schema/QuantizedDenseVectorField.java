package org.neuralsolr.schema;

import java.util.Locale;
import java.util.Map;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.index.VectorEncoding;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.IndexSchema;

/**
 * A {@code DenseVectorField} stored with Lucene's scalar-quantised HNSW format
 * ({@link Lucene99HnswScalarQuantizedVectorsFormat}); {@link NeuralCodecFactory} routes the field
 * to it:
 *
 * <pre>{@code
 * <fieldType name="knn_vector_384_int7" class="org.neuralsolr.schema.QuantizedDenseVectorField"
 *            vectorDimension="384" similarityFunction="dot_product"
 *            hnswMaxConnections="16" hnswBeamWidth="100"
 *            quantization="int7" confidenceInterval="0.99"/>
 * }</pre>
 *
 * <p>{@code quantization} is {@code int7} (one byte a dimension) or {@code int4} (half a byte: the
 * format's {@code compress} packs two dimensions per byte). {@code confidenceInterval} is Lucene's:
 * left out, {@code 1 - 1/(dimension + 1)}; {@code 0}, computed per segment; else between 0.9 and
 * 1.0. The graph is searched over the quantised vectors; the float32 vectors are kept beside them,
 * which is what {@code {!dense ... rescore=N}} re-scores with. Lucene 9.12 has no binary
 * quantisation (that came with Lucene 10), so there is no {@code binary}.
 */
public class QuantizedDenseVectorField extends DenseVectorField {
  static final String QUANTIZATION = "quantization";
  static final String CONFIDENCE_INTERVAL = "confidenceInterval";

  /** The quantisations Lucene 9.12 offers, by their schema name. */
  public enum Quantization {
    INT7(7),
    INT4(4);

    public final int bits;

    Quantization(int bits) {
      this.bits = bits;
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private Quantization quantization;
  private Float confidenceInterval;

  @Override
  public void init(IndexSchema schema, Map<String, String> args) {
    String q = args.remove(QUANTIZATION);
    if (q == null) {
      quantization = Quantization.INT7;
    } else if ("int7".equals(q.trim())) {
      quantization = Quantization.INT7;
    } else if ("int4".equals(q.trim())) {
      quantization = Quantization.INT4;
    } else {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + QUANTIZATION + " must be int7 or int4, got '" + q + "'");
    }
    String ci = args.remove(CONFIDENCE_INTERVAL);
    if (ci != null) {
      float value;
      try {
        value = Float.parseFloat(ci.trim());
      } catch (NumberFormatException e) {
        value = Float.NaN;
      }
      // Lucene's own bounds (Lucene99ScalarQuantizedVectorsFormat); checked here so the schema names the attribute
      if (!(value == 0f || (value >= 0.9f && value <= 1.0f))) {
        throw new SolrException(
            ErrorCode.SERVER_ERROR,
            "field type '" + typeName + "': " + CONFIDENCE_INTERVAL + " must be 0 (computed per segment) or between 0.9 and 1.0, got '" + ci + "'");
      }
      confidenceInterval = value;
    }
    super.init(schema, args);
    if (getVectorEncoding() != VectorEncoding.FLOAT32) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "field type '" + typeName + "': vectorEncoding must be FLOAT32 (the quantiser reads float vectors), got " + getVectorEncoding());
    }
  }

  public Quantization getQuantization() {
    return quantization;
  }

  /** The configured confidence interval, or null for Lucene's default. */
  public Float getConfidenceInterval() {
    return confidenceInterval;
  }

  /** The per-field format {@link NeuralCodecFactory} writes this field with. */
  KnnVectorsFormat knnVectorsFormat() {
    return new Lucene99HnswScalarQuantizedVectorsFormat(
        getHnswMaxConn(), getHnswBeamWidth(), 1, quantization.bits, quantization == Quantization.INT4, confidenceInterval, null);
  }
}
