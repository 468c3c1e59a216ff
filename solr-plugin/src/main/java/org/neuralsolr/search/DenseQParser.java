package org.neuralsolr.search;

import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QueryParsing;
import org.apache.solr.search.SyntaxError;
import org.apache.solr.search.neural.AbstractVectorQParserBase;
import org.neuralsolr.codecs.dense.RescoredKnnFloatVectorQuery;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.TextRejectedException;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.model.UnknownInstructionException;

/** Parses one {@code {!dense}} query; see {@link DenseQParserPlugin}. */
class DenseQParser extends AbstractVectorQParserBase {
  static final String MODEL = "model";
  static final String TOP_K = "topK";
  static final String INSTRUCTION = "instruction";
  static final String RESCORE = "rescore";
  static final String PASSAGES = "passages";
  static final int DEFAULT_TOP_K = 10;

  private final DenseQParserPlugin plugin;
  private String modelName;
  /** The query instruction template asked for, or null for the manifest's default. */
  private String instruction;
  private int topK;
  /** Candidates taken from the graph and re-scored with the float32 vectors, or 0: no re-scoring. */
  private int rescore;
  /** How passages (child documents) rank their parent, or null for one vector per document. */
  private PassageScoring.Mode passages;
  private double encodeMillis;
  /** The coordinator encoded the text and sent the vector along. */
  private boolean vectorReceived;

  DenseQParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req, DenseQParserPlugin plugin) {
    super(qstr, localParams, params, req);
    this.plugin = plugin;
  }

  @Override
  public Query parse() throws SyntaxError {
    try {
      return parseDense();
    } catch (RuntimeException | SyntaxError e) {
      plugin.countError();
      throw e;
    }
  }

  private Query parseDense() throws SyntaxError {
    String fieldName = localParams.get(QueryParsing.F);
    if (fieldName == null || fieldName.isBlank()) {
      throw badRequest("missing local param 'f' (the DenseVectorField to search)");
    }
    modelName = localParams.get(MODEL);
    if (modelName == null || modelName.isBlank()) {
      throw badRequest("missing local param 'model' (a dense model of the neural model registry)");
    }
    String text = localParams.get(QueryParsing.V);
    if (!LocalParamValues.hasVisibleText(text)) {
      throw badRequest("the query text is empty (or only invisible characters)");
    }
    topK = parseTopK();
    rescore = parseRescore();
    instruction = localParams.get(INSTRUCTION);
    String passagesParam = localParams.get(PASSAGES);
    if (passagesParam != null) {
      passages = PassageScoring.Mode.parse(passagesParam.trim());
      if (passages == null) {
        throw badRequest("param 'passages' must be one of maxp, firstp, mean, got '" + passagesParam + "'");
      }
      if (rescore > 0) {
        // passage scoring is exact already: there is no graph result to re-score
        throw badRequest("param 'rescore' cannot be combined with 'passages' (passage scores are exact)");
      }
    }

    SchemaField field = req.getSchema().getFieldOrNull(fieldName);
    if (field == null) {
      throw badRequest("undefined field '" + fieldName + "' (param 'f')");
    }
    if (!(field.getType() instanceof DenseVectorField)) {
      throw badRequest("field '" + fieldName + "' is a " + field.getType().getTypeName() + ", not a DenseVectorField (param 'f')");
    }
    DenseVectorField type = (DenseVectorField) field.getType();
    if (type.getVectorEncoding() != VectorEncoding.FLOAT32) {
      throw badRequest("field '" + fieldName + "' stores " + type.getVectorEncoding() + " vectors; {!dense} needs FLOAT32");
    }
    DenseEncoder encoder = NeuralModelRegistry.of(req.getCore()).denseEncoder(modelName);
    if (encoder.dimension() != type.getDimension()) {
      throw badRequest(
          "field '" + fieldName + "' has " + type.getDimension() + " dimensions but model '"
              + modelName + "' produces " + encoder.dimension());
    }

    try {
      encoder.checkInstruction(TextRole.QUERY, instruction);
    } catch (UnknownInstructionException e) {
      throw badRequest("param '" + INSTRUCTION + "': model '" + modelName + "': " + e.getMessage());
    }
    // another instruction is another vector: the coordinator's vector travels under its own name
    String handoffModel = instruction == null ? modelName : modelName + "\u0000" + INSTRUCTION + ":" + instruction;
    String handoff = QueryVectorHandoff.paramName(handoffModel, text);
    float[] vector = QueryVectorHandoff.received(req, handoff, encoder.dimension());
    if (vector == null) {
      long start = System.nanoTime();
      try {
        vector = encoder.encodeQuery(text, instruction);
      } catch (ModelOverloadedException e) {
        throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
      } catch (TextRejectedException e) {
        throw badRequest("model '" + modelName + "' cannot encode the query text: " + e.getMessage());
      }
      long nanos = System.nanoTime() - start;
      encodeMillis = nanos / 1e6;
      plugin.countQuery(nanos);
      QueryVectorHandoff.remember(req, handoff, vector);
    } else {
      vectorReceived = true;
      plugin.countReceivedVector();
    }
    if (rescore > 0) {
      return new RescoredKnnFloatVectorQuery(fieldName, vector, topK, rescore, getFilterQuery());
    }
    if (passages != null) {
      // exact over all passages; fq filters the parents as usual
      return PassageScoring.query(req, fieldName, vector, passages);
    }
    return new KnnFloatVectorQuery(fieldName, vector, topK, getFilterQuery());
  }

  /** {@code rescore=N}: the graph's top N (topK to maxTopK) re-scored exactly; absent, none. */
  private int parseRescore() {
    String value = localParams.get(RESCORE);
    if (value == null) {
      return 0;
    }
    int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest("param '" + RESCORE + "' must be an integer, got '" + value + "'");
    }
    if (n < topK || n > plugin.maxTopK()) {
      throw badRequest("param '" + RESCORE + "' must be between topK (" + topK + ") and " + plugin.maxTopK() + " (maxTopK), got " + n);
    }
    return n;
  }

  private int parseTopK() {
    String value = localParams.get(TOP_K);
    if (value == null) {
      return DEFAULT_TOP_K;
    }
    int k;
    try {
      k = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw badRequest("param 'topK' must be an integer, got '" + value + "'");
    }
    if (k < 1 || k > plugin.maxTopK()) {
      throw badRequest("param 'topK' must be between 1 and " + plugin.maxTopK() + " (maxTopK), got " + k);
    }
    return k;
  }

  private static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!dense}: " + message);
  }

  @Override
  public void addDebugInfo(NamedList<Object> debugInfo) {
    super.addDebugInfo(debugInfo);
    NamedList<Object> dense = new SimpleOrderedMap<>();
    dense.add("model", modelName);
    dense.add("topK", topK);
    if (rescore > 0) {
      dense.add("rescore", rescore);
    }
    if (passages != null) {
      dense.add("passages", passages.name().toLowerCase(java.util.Locale.ROOT));
    }
    if (instruction != null) {
      dense.add("instruction", instruction);
    }
    dense.add("queryEncodeMillis", encodeMillis);
    dense.add("vectorFromCoordinator", vectorReceived);
    debugInfo.add("dense", dense);
  }
}
