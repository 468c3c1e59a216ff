package org.neuralsolr.search;

import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QueryParsing;
import org.apache.solr.search.SyntaxError;
import org.apache.solr.search.neural.AbstractVectorQParserBase;
import org.neuralsolr.codecs.multivector.MaxSimQuery;
import org.neuralsolr.codecs.multivector.PlaidQuery;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.MultiVectorEncoder;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.TextRejectedException;
import org.neuralsolr.schema.MultiVectorField;

/** Parses one {@code {!colbert}} query; see {@link ColbertQParserPlugin}. */
class ColbertQParser extends AbstractVectorQParserBase {
  static final String MODEL = "model";
  static final String TOP_K = "topK";
  static final String PLAID = "plaid";
  static final String NPROBE = "nprobe";
  static final String CANDIDATE_CAP = "candidateCap";
  static final String NDOCS = "ndocs";
  static final String THRESHOLD = "threshold";
  static final int DEFAULT_TOP_K = 10;
  /** Local params besides these are refused, so that a misspelt knob does not silently do nothing. */
  private static final Set<String> KNOWN_LOCAL_PARAMS =
      Set.of(
          "type", QueryParsing.V, QueryParsing.F, MODEL, TOP_K, PLAID, NPROBE, CANDIDATE_CAP, NDOCS, THRESHOLD,
          "preFilter", "includeTags", "excludeTags", "tag", "cache", "cost");

  private final ColbertQParserPlugin plugin;
  private final NamedList<Object> debug = new SimpleOrderedMap<>();

  ColbertQParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req, ColbertQParserPlugin plugin) {
    super(qstr, localParams, params, req);
    this.plugin = plugin;
  }

  @Override
  public Query parse() throws SyntaxError {
    try {
      return parseColbert();
    } catch (RuntimeException | SyntaxError e) {
      plugin.countError();
      throw e;
    }
  }

  private Query parseColbert() throws SyntaxError {
    for (Iterator<String> names = localParams.getParameterNamesIterator(); names.hasNext(); ) {
      String name = names.next();
      if (!KNOWN_LOCAL_PARAMS.contains(name)) {
        throw badRequest("unknown local param '" + name + "'; the params are " + new TreeSet<>(KNOWN_LOCAL_PARAMS));
      }
    }
    String fieldName = localParams.get(QueryParsing.F);
    if (fieldName == null || fieldName.isBlank()) {
      throw badRequest("missing local param 'f' (the MultiVectorField to search)");
    }
    String modelName = localParams.get(MODEL);
    if (modelName == null || modelName.isBlank()) {
      throw badRequest("missing local param 'model' (a multivector or dense model of the neural model registry)");
    }
    String text = localParams.get(QueryParsing.V);
    if (!LocalParamValues.hasVisibleText(text)) {
      throw badRequest("the query text is empty (or only invisible characters)");
    }
    SchemaField field = req.getSchema().getFieldOrNull(fieldName);
    if (field == null) {
      throw badRequest("undefined field '" + fieldName + "' (param 'f')");
    }
    if (!(field.getType() instanceof MultiVectorField)) {
      throw badRequest("field '" + fieldName + "' is a " + field.getType().getTypeName() + ", not a MultiVectorField (param 'f')");
    }
    MultiVectorField type = (MultiVectorField) field.getType();
    ServedModel served = NeuralModelRegistry.of(req.getCore()).model(modelName);
    MultiVectorEncoder encoder = served.multiVectorEncoder();
    if (encoder == null) {
      throw badRequest("model '" + modelName + "' is a " + served.manifest().kind + " model; {!colbert} needs a multivector or dense model (param 'model')");
    }
    if (encoder.dimension() != type.getDimension()) {
      throw badRequest(
          "field '" + fieldName + "' has " + type.getDimension() + " dimensions but model '" + modelName + "' produces "
              + encoder.dimension() + " (params 'f' and 'model')");
    }
    int topK = intParam(TOP_K, DEFAULT_TOP_K, 1, plugin.maxTopK(), "maxTopK");
    boolean plaid = boolParam(PLAID, true);
    int nprobe = intParam(NPROBE, PlaidQuery.DEFAULT_NPROBE, 1, 1 << 16, null);
    int ndocs = intParam(NDOCS, 0, 0, Integer.MAX_VALUE, null);
    int candidateCap =
        intParam(CANDIDATE_CAP, PlaidQuery.defaultCandidateCap(topK, ndocs), 1, Integer.MAX_VALUE, null);
    float threshold = floatParam(THRESHOLD);

    float[][] vectors = queryVectors(modelName, encoder, text);
    debug.add("model", modelName);
    debug.add("field", fieldName);
    debug.add("queryVectors", vectors.length);
    debug.add(PLAID, plaid);
    if (!plaid) {
      return new MaxSimQuery(fieldName, vectors);
    }
    debug.add(TOP_K, topK);
    debug.add(NPROBE, nprobe);
    debug.add(CANDIDATE_CAP, candidateCap);
    debug.add(NDOCS, ndocs == 0 ? Math.max(PlaidQuery.DEFAULT_NDOCS, 8 * topK) : ndocs);
    debug.add(THRESHOLD, threshold);
    return new PlaidQuery(fieldName, vectors, topK, nprobe, candidateCap, ndocs, threshold, getFilterQuery());
  }

  /** Encoded once per distributed request, by the coordinator; shards reuse its vectors. */
  private float[][] queryVectors(String modelName, MultiVectorEncoder encoder, String text) {
    String handoff = QueryVectorHandoff.tokenVectorsParamName(modelName, text);
    float[][] vectors = QueryVectorHandoff.receivedMatrix(req, handoff, encoder.dimension());
    if (vectors != null) {
      plugin.countReceivedVectors();
      debug.add("vectorsFromCoordinator", true);
      return vectors;
    }
    long start = System.nanoTime();
    try {
      vectors = encoder.encodeQuery(text);
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + modelName + "' cannot encode the query text: " + e.getMessage());
    }
    plugin.countQuery();
    debug.add("queryEncodeMillis", (System.nanoTime() - start) / 1e6);
    debug.add("vectorsFromCoordinator", false);
    QueryVectorHandoff.rememberMatrix(req, handoff, vectors);
    return vectors;
  }

  private int intParam(String name, int defaultValue, int min, int max, String maxName) {
    return LocalParamValues.intParam(localParams, name, defaultValue, min, max, maxName, ColbertQParser::badRequest);
  }

  private boolean boolParam(String name, boolean defaultValue) {
    String value = localParams.get(name);
    if (value == null) {
      return defaultValue;
    }
    switch (value.trim()) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw badRequest("param '" + name + "' must be true or false, got '" + value + "'");
    }
  }

  private float floatParam(String name) {
    String value = localParams.get(name);
    if (value == null) {
      return Float.NEGATIVE_INFINITY;
    }
    float v;
    try {
      v = Float.parseFloat(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest("param '" + name + "' must be a number, got '" + value + "'");
    }
    if (Float.isNaN(v)) {
      throw badRequest("param '" + name + "' must be a number, got NaN");
    }
    return v;
  }

  private static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!" + ColbertQParserPlugin.NAME + "}: " + message);
  }

  @Override
  public void addDebugInfo(NamedList<Object> debugInfo) {
    super.addDebugInfo(debugInfo);
    debugInfo.add("colbert", debug);
  }
}
