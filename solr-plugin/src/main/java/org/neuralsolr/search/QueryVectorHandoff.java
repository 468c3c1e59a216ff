package org.neuralsolr.search;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.handler.component.ShardRequest;
import org.apache.solr.request.SolrQueryRequest;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * Encodes a distributed query's text once, on the coordinator, instead of once per shard.
 *
 * <p>The coordinator parses {@code q} before it fans out, so its query parser encodes the text and
 * remembers the vector in the request context; the registry component then copies it into every
 * shard request as a parameter named after the model and text ({@code neural.qv.<hash>}), and the
 * shards' parsers use it instead of running the model again. Every shard thus scores with the very
 * same query vector, and a query costs one forward pass however many shards it touches. A vector
 * sent by a client under such a name is accepted like any {@code {!knn}} vector, after the same
 * checks. Sparse query vectors travel the same way, as JSON under {@code neural.qw.<hash>}, and
 * so do the global ranked lists of a fusion ({@link FusionQParser}).
 */
public final class QueryVectorHandoff {
  static final String PARAM_PREFIX = "neural.qv.";
  static final String SPARSE_PARAM_PREFIX = "neural.qw.";
  private static final String CONTEXT_KEY = QueryVectorHandoff.class.getName();

  private QueryVectorHandoff() {}

  /** The parameter carrying the vector of {@code text} under {@code model}. */
  static String paramName(String model, String text) {
    return PARAM_PREFIX + digest(model, text);
  }

  /**
   * The parameter carrying the query token vectors of {@code text} under multi-vector model {@code
   * model} (named apart from the same model's dense vector of the same text).
   */
  static String tokenVectorsParamName(String model, String text) {
    return paramName("multivector:" + model, text);
  }

  /**
   * The query token vectors of {@code text} under {@code model} that this distributed request's
   * coordinator handed over (its {@code {!colbert}} parser encoded them), or null: for components
   * that use the query's vectors after the parser, such as the neural highlighter, which runs on
   * the shards in the highlighting phase.
   */
  public static float[][] receivedTokenVectors(SolrQueryRequest req, String model, String text, int dimension) {
    return receivedMatrix(req, tokenVectorsParamName(model, text), dimension);
  }

  /** The parameter carrying the sparse query vector of {@code text} under {@code model}. */
  static String sparseParamName(String model, String text) {
    return SPARSE_PARAM_PREFIX + digest(model, text);
  }

  private static String digest(String model, String text) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest((model + '\u0000' + text).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** The vector a coordinator handed over under {@code name}, or null when there is none. */
  static float[] received(SolrQueryRequest req, String name, int dimension) {
    String encoded = req.getParams().get(name);
    if (encoded == null) {
      return null;
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(encoded);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' is not base64");
    }
    if (bytes.length != dimension * Float.BYTES) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST, "param '" + name + "' holds " + bytes.length / Float.BYTES + " floats, expected " + dimension);
    }
    float[] v = new float[dimension];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    for (float x : v) {
      if (!Float.isFinite(x)) {
        throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' holds a non-finite value");
      }
    }
    return v;
  }

  /**
   * The sparse query vector a coordinator handed over under {@code name} (JSON, see {@link
   * SparseWeightsFormat}), or null when there is none. Its weights are checked by the query.
   */
  static Map<String, Float> receivedWeights(SolrQueryRequest req, String name) {
    String encoded = req.getParams().get(name);
    if (encoded == null) {
      return null;
    }
    try {
      return SparseWeightsFormat.parse(encoded);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "': " + e.getMessage());
    }
  }

  /** Keeps sparse query {@code weights} to hand to the shards of this request. */
  static void rememberWeights(SolrQueryRequest req, String name, Map<String, Float> weights) {
    vectors(req).put(name, SparseWeightsFormat.toJson(weights));
  }

  /** Keeps {@code value}, already in the form a param carries, to hand to the shards of this request. */
  static void handOver(SolrQueryRequest req, String name, String value) {
    vectors(req).put(name, value);
  }

  /** Keeps {@code vector} to hand to the shards of this request. */
  static void remember(SolrQueryRequest req, String name, float[] vector) {
    ByteBuffer buf = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(vector);
    vectors(req).put(name, Base64.getEncoder().encodeToString(buf.array()));
  }

  /**
   * The token vectors a coordinator handed over under {@code name} (rows of {@code dimension}), or
   * null when there are none.
   */
  static float[][] receivedMatrix(SolrQueryRequest req, String name, int dimension) {
    String encoded = req.getParams().get(name);
    if (encoded == null) {
      return null;
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(encoded);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' is not base64");
    }
    int rowBytes = dimension * Float.BYTES;
    if (bytes.length == 0 || bytes.length % rowBytes != 0) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST, "param '" + name + "' holds " + bytes.length / Float.BYTES + " floats, not a whole number of " + dimension + "-dimensional vectors");
    }
    FloatBuffer floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[][] m = new float[bytes.length / rowBytes][dimension];
    for (float[] row : m) {
      floats.get(row);
      for (float x : row) {
        if (!Float.isFinite(x)) {
          throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' holds a non-finite value");
        }
      }
    }
    return m;
  }

  /** Keeps the token vectors {@code rows} to hand to the shards of this request. */
  static void rememberMatrix(SolrQueryRequest req, String name, float[][] rows) {
    int dim = rows[0].length;
    ByteBuffer buf = ByteBuffer.allocate(rows.length * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] row : rows) {
      buf.asFloatBuffer().put(row);
      buf.position(buf.position() + dim * Float.BYTES);
    }
    vectors(req).put(name, Base64.getEncoder().encodeToString(buf.array()));
  }

  /** Adds the vectors the coordinator encoded to a shard request. */
  public static void copyToShardRequest(SolrQueryRequest req, ShardRequest sreq) {
    @SuppressWarnings("unchecked")
    Map<String, String> vectors = (Map<String, String>) req.getContext().get(CONTEXT_KEY);
    if (vectors != null && sreq.params != null) {
      vectors.forEach(sreq.params::set);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> vectors(SolrQueryRequest req) {
    return (Map<String, String>) req.getContext().computeIfAbsent(CONTEXT_KEY, k -> new LinkedHashMap<String, String>());
  }
}
