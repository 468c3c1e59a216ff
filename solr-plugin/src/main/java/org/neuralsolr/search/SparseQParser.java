package org.neuralsolr.search;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QueryParsing;
import org.apache.solr.search.SyntaxError;
import org.neuralsolr.codecs.sparse.SparseApproximation;
import org.neuralsolr.codecs.sparse.SparseQuery;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.SparseEncoder;
import org.neuralsolr.model.TextRejectedException;
import org.neuralsolr.schema.SparseVectorFieldType;
import org.neuralsolr.schema.SparseWeightsFormat;

/**
 * Parses one {@code {!sparse}} query; see {@link SparseQParserPlugin}.
 *
 * <p>Local params: {@code f} (required), then either {@code model} and the query text, or {@code
 * weights} (a JSON object or {@code term:weight} pairs, see {@link SparseWeightsFormat}; with
 * {@code weights=$qw} the vector comes from request param {@code qw}). Approximate mode: {@code
 * approx=true} takes {@link SparseApproximation#DEFAULT}; any of {@value #MAX_QUERY_TERMS}, {@value
 * #QUERY_WEIGHT_FRACTION}, {@value #POSTING_WEIGHT_FRACTION}, {@value #HEAP_FACTOR}, {@value
 * #CANDIDATE_TERMS}, {@value #CANDIDATES}, {@value #CANDIDATE_POSTINGS} sets that knob (on top of the defaults with {@code
 * approx=true}, of exact mode otherwise).
 */
class SparseQParser extends QParser {
  static final String MODEL = "model";
  static final String WEIGHTS = "weights";
  static final String APPROX = "approx";
  static final String MAX_QUERY_TERMS = "maxQueryTerms";
  static final String QUERY_WEIGHT_FRACTION = "queryWeightFraction";
  static final String POSTING_WEIGHT_FRACTION = "postingWeightFraction";
  static final String HEAP_FACTOR = "heapFactor";
  static final String CANDIDATE_TERMS = "candidateTerms";
  static final String CANDIDATES = "candidates";
  static final String CANDIDATE_POSTINGS = "candidatePostings";

  private final SparseQParserPlugin plugin;
  private String fieldName;
  private String modelName;
  private SparseApproximation approximation;
  private Map<String, Float> weights;
  private Set<String> textTokens;
  private int scoredTerms;
  private double encodeMillis;
  private boolean weightsReceived;

  SparseQParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req, SparseQParserPlugin plugin) {
    super(qstr, localParams, params, req);
    this.plugin = plugin;
  }

  @Override
  public Query parse() throws SyntaxError {
    try {
      return parseSparse();
    } catch (RuntimeException e) {
      plugin.countError();
      throw e;
    }
  }

  private Query parseSparse() {
    fieldName = localParams.get(QueryParsing.F);
    if (fieldName == null || fieldName.isBlank()) {
      throw badRequest("missing local param 'f' (the sparse vector field to search)");
    }
    SchemaField field = req.getSchema().getFieldOrNull(fieldName);
    if (field == null) {
      throw badRequest("undefined field '" + fieldName + "' (param 'f')");
    }
    if (!(field.getType() instanceof SparseVectorFieldType)) {
      throw badRequest(
          "field '" + fieldName + "' is a " + field.getType().getTypeName() + ", not a SparseVectorFieldType (param 'f')");
    }
    modelName = localParams.get(MODEL);
    String weightsParam = localParams.get(WEIGHTS);
    String text = localParams.get(QueryParsing.V);
    approximation = parseApproximation();

    if (weightsParam != null) {
      if (modelName != null || (text != null && !text.isBlank())) {
        throw badRequest("param 'weights' gives the query vector; it cannot be combined with 'model' or query text");
      }
      try {
        weights = SparseWeightsFormat.parse(weightsParam);
      } catch (IllegalArgumentException e) {
        throw badRequest("param 'weights': " + e.getMessage());
      }
      if (weights.isEmpty()) {
        throw badRequest("param 'weights' holds no term");
      }
      int maxTerms = ((SparseVectorFieldType) field.getType()).maxTerms();
      if (weights.size() > maxTerms) {
        // a query vector is bounded as the field bounds a document's
        throw badRequest("param 'weights' has " + weights.size() + " terms; field '" + fieldName + "' takes at most " + maxTerms + " (maxTerms)");
      }
      plugin.countClientWeights();
    } else {
      if (modelName == null || modelName.isBlank()) {
        throw badRequest("missing local param 'model' (a sparse model of the neural model registry) or 'weights'");
      }
      if (!LocalParamValues.hasVisibleText(text)) {
        throw badRequest("the query text is empty (or only invisible characters)");
      }
      SparseEncoder encoder = NeuralModelRegistry.of(req.getCore()).sparseEncoder(modelName);
      encode(encoder, text);
    }

    SparseQuery query;
    try {
      query = new SparseQuery(fieldName, weights, approximation);
    } catch (IllegalArgumentException e) {
      throw badRequest((weightsParam != null ? "param 'weights': " : "model '" + modelName + "': ") + e.getMessage());
    }
    scoredTerms = query.numTerms();
    return textTokens == null ? query : query.withTextTerms(textTokens);
  }

  private void encode(SparseEncoder encoder, String text) {
    String handoff = QueryVectorHandoff.sparseParamName(modelName, text);
    try {
      textTokens = encoder.textTokens(text);
      weights = QueryVectorHandoff.receivedWeights(req, handoff);
      if (weights != null) {
        weightsReceived = true;
        plugin.countReceivedWeights();
        return;
      }
      long start = System.nanoTime();
      weights = encoder.encodeQuery(text);
      long nanos = System.nanoTime() - start;
      encodeMillis = nanos / 1e6;
      plugin.countEncodedQuery(nanos);
      QueryVectorHandoff.rememberWeights(req, handoff, weights);
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + modelName + "' cannot encode the query text: " + e.getMessage());
    }
  }

  private SparseApproximation parseApproximation() {
    String approx = localParams.get(APPROX);
    SparseApproximation a;
    if (approx == null || approx.equals("false")) {
      a = SparseApproximation.EXACT;
    } else if (approx.equals("true")) {
      a = SparseApproximation.DEFAULT;
    } else {
      throw badRequest("param 'approx' must be true or false, got '" + approx + "'");
    }
    try {
      String v = localParams.get(MAX_QUERY_TERMS);
      if (v != null) {
        a = a.withMaxQueryTerms(intParam(MAX_QUERY_TERMS, v));
      }
      v = localParams.get(QUERY_WEIGHT_FRACTION);
      if (v != null) {
        a = a.withQueryWeightFraction(floatParam(QUERY_WEIGHT_FRACTION, v));
      }
      v = localParams.get(POSTING_WEIGHT_FRACTION);
      if (v != null) {
        a = a.withPostingWeightFraction(floatParam(POSTING_WEIGHT_FRACTION, v));
      }
      v = localParams.get(HEAP_FACTOR);
      if (v != null) {
        a = a.withHeapFactor(floatParam(HEAP_FACTOR, v));
      }
      v = localParams.get(CANDIDATE_TERMS);
      if (v != null) {
        a = a.withCandidateTerms(intParam(CANDIDATE_TERMS, v));
      }
      v = localParams.get(CANDIDATES);
      if (v != null) {
        a = a.withCandidates(intParam(CANDIDATES, v));
      }
      v = localParams.get(CANDIDATE_POSTINGS);
      if (v != null) {
        a = a.withCandidatePostings(intParam(CANDIDATE_POSTINGS, v));
      }
    } catch (IllegalArgumentException e) {
      // SparseApproximation's messages start with the knob's name, which is the param's
      throw badRequest("param " + e.getMessage());
    }
    return a;
  }

  private static int intParam(String name, String value) {
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest("param '" + name + "' must be an integer, got '" + value + "'");
    }
  }

  private static float floatParam(String name, String value) {
    try {
      return Float.parseFloat(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest("param '" + name + "' must be a number, got '" + value + "'");
    }
  }

  private static NamedList<Object> named(Map<String, Float> weights) {
    NamedList<Object> list = new SimpleOrderedMap<>();
    weights.forEach(list::add);
    return list;
  }

  private static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!sparse}: " + message);
  }

  @Override
  public void addDebugInfo(NamedList<Object> debugInfo) {
    super.addDebugInfo(debugInfo);
    NamedList<Object> sparse = new SimpleOrderedMap<>();
    sparse.add("field", fieldName);
    if (modelName != null) {
      sparse.add("model", modelName);
      sparse.add("queryEncodeMillis", encodeMillis);
      sparse.add("weightsFromCoordinator", weightsReceived);
    } else {
      sparse.add("weights", "from param 'weights'");
    }
    sparse.add("mode", approximation == null || approximation.isExact() ? "exact" : approximation.toString());
    if (weights != null) {
      sparse.add("queryTerms", weights.size());
      sparse.add("scoredQueryTerms", scoredTerms);
      Map<String, Float> inText = new LinkedHashMap<>();
      Map<String, Float> expansions = new LinkedHashMap<>();
      weights.entrySet().stream()
          .sorted(Map.Entry.<String, Float>comparingByValue().reversed())
          .forEach(e -> (textTokens == null || textTokens.contains(e.getKey()) ? inText : expansions).put(e.getKey(), e.getValue()));
      sparse.add(textTokens == null ? "terms" : "textTerms", named(inText));
      if (textTokens != null) {
        sparse.add("expansionTerms", named(expansions));
      }
    }
    debugInfo.add("sparse", sparse);
  }
}
