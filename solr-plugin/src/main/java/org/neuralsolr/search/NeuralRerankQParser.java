package org.neuralsolr.search;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.request.SolrRequestInfo;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QueryParsing;
import org.apache.solr.search.ReRankOperator;
import org.apache.solr.search.SyntaxError;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.ModelKind;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.MultiVectorEncoder;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.PromptTemplate;
import org.neuralsolr.model.QueryLikelihood;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.TextRejectedException;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.model.TokenStatesEncoder;
import org.neuralsolr.schema.MultiVectorField;

/**
 * Parses one {@code {!neural_rerank}}. Every bad param is an HTTP 400 naming it, raised here, before
 * any document is read; local params it does not know are refused rather than ignored.
 *
 * <table>
 *   <caption>local params</caption>
 *   <tr><td>{@code model}</td><td>required: a model of the registry</td></tr>
 *   <tr><td>{@code mode}</td><td>{@code cross-encoder}, {@code causal-lm}, {@code dense} or {@code multivector}; by default the model's kind</td></tr>
 *   <tr><td>{@code reRankDocs}</td><td>documents of the first stage to re-rank, 1 to {@code maxReRankDocs} (100)</td></tr>
 *   <tr><td>{@code reRankWeight}</td><td>w (1)</td></tr>
 *   <tr><td>{@code reRankOperator}</td><td>{@code replace}: w·m, {@code add}: f + w·m, {@code multiply}: f·w·m ({@code replace})</td></tr>
 *   <tr><td>{@code textFields}</td><td>stored fields giving the document text (the plugin's {@code textFields})</td></tr>
 *   <tr><td>{@code f}</td><td>dense: a DenseVectorField holding the document vectors; multivector: a MultiVectorField whose stored token vectors are read instead of encoding the documents</td></tr>
 *   <tr><td>{@code passage}, {@code passageWords}, {@code passageStride}, {@code maxPassages}</td><td>cross-encoder: {@code first} (FirstP) or {@code max} (MaxP) over word windows</td></tr>
 *   <tr><td>{@code promptTemplate}, {@code aggregation}</td><td>causal-lm: override the manifest's template and {@code sum}/{@code mean}</td></tr>
 * </table>
 *
 * <p>The query text is the body ({@code {!neural_rerank ...}text} or {@code v}), else the request
 * param {@code rq.text}, else {@code q} (without its local params, if it has any).
 */
class NeuralRerankQParser extends QParser {
  static final String MODEL = "model";
  static final String MODE = "mode";
  static final String RERANK_DOCS = "reRankDocs";
  static final String RERANK_WEIGHT = "reRankWeight";
  static final String RERANK_OPERATOR = "reRankOperator";
  static final String TEXT_FIELDS = "textFields";
  static final String FIELD = "f";
  static final String PASSAGE = "passage";
  static final String PASSAGE_WORDS = "passageWords";
  static final String PASSAGE_STRIDE = "passageStride";
  static final String MAX_PASSAGES = "maxPassages";
  static final String PROMPT_TEMPLATE = "promptTemplate";
  static final String AGGREGATION = "aggregation";
  /** The request param holding the query text when the local params have none. */
  static final String RQ_TEXT = "rq.text";
  static final int DEFAULT_RERANK_DOCS = 100;
  static final int DEFAULT_MAX_PASSAGE_WORDS = 150;
  static final int DEFAULT_MAX_PASSAGES = 8;
  static final int MAX_MAX_PASSAGES = 64;

  private static final Set<String> KNOWN_LOCAL_PARAMS =
      Set.of(
          QueryParsing.TYPE, QueryParsing.V, "tag", MODEL, MODE, RERANK_DOCS, RERANK_WEIGHT, RERANK_OPERATOR, TEXT_FIELDS, FIELD,
          PASSAGE, PASSAGE_WORDS, PASSAGE_STRIDE, MAX_PASSAGES, PROMPT_TEMPLATE, AGGREGATION);

  private final NeuralRerankQParserPlugin plugin;

  NeuralRerankQParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req, NeuralRerankQParserPlugin plugin) {
    super(qstr, localParams, params, req);
    this.plugin = plugin;
  }

  @Override
  public Query parse() throws SyntaxError {
    try {
      return parseRerank();
    } catch (SolrException e) {
      if (e.code() == ErrorCode.BAD_REQUEST.code) {
        plugin.countBadRequest();
      }
      throw e;
    }
  }

  private Query parseRerank() throws SyntaxError {
    for (Iterator<String> names = localParams.getParameterNamesIterator(); names.hasNext(); ) {
      String name = names.next();
      if (!KNOWN_LOCAL_PARAMS.contains(name)) {
        throw badRequest("unknown local param '" + name + "'; the params are " + new TreeSet<>(KNOWN_LOCAL_PARAMS));
      }
    }
    String modelName = localParams.get(MODEL);
    if (modelName == null || modelName.isBlank()) {
      throw badRequest("missing local param 'model' (a model of the neural model registry)");
    }
    ServedModel served = NeuralModelRegistry.of(req.getCore()).model(modelName);
    ModelKind kind = served.manifest().kind;
    RerankMode mode = mode(modelName, kind);
    int reRankDocs = intParam(RERANK_DOCS, DEFAULT_RERANK_DOCS, 1, plugin.maxReRankDocs(), "maxReRankDocs");
    double weight = weight();
    ReRankOperator operator = operator();
    String text = queryText();
    DocumentTexts texts = documentTexts();

    NamedList<Object> settings = new SimpleOrderedMap<>();
    settings.add(MODEL, modelName);
    settings.add(MODE, mode.paramValue);
    settings.add(RERANK_DOCS, reRankDocs);
    settings.add(RERANK_WEIGHT, weight);
    settings.add(RERANK_OPERATOR, operator.toLower());
    settings.add("text", text);
    settings.add(TEXT_FIELDS, String.join(",", texts.fields()));
    WindowScorer scorer;
    switch (mode) {
      case CROSS_ENCODER:
        scorer = crossEncoder(served, text, texts, settings);
        break;
      case CAUSAL_LM:
        scorer = causalLm(served, text, texts, settings);
        break;
      case DENSE:
        scorer = dense(served, text, texts, settings);
        break;
      case MULTIVECTOR:
        scorer = multivector(served, text, texts, kind, settings);
        break;
      default:
        throw new AssertionError(mode);
    }
    NeuralRescorer rescorer = new NeuralRescorer(scorer, operator, weight, reRankDocs, modelName, settings, plugin);
    return new NeuralRerankQuery(new MatchAllDocsQuery(), reRankDocs, rescorer, settings.toString(), isDebug());
  }

  private RerankMode mode(String modelName, ModelKind kind) {
    String value = localParams.get(MODE);
    if (value == null) {
      RerankMode mode = RerankMode.defaultFor(kind);
      if (mode == null) {
        throw badRequest("model '" + modelName + "' is a " + kind + " model, which has no re-ranking mode");
      }
      return mode;
    }
    RerankMode mode = RerankMode.parse(value);
    if (mode == null) {
      throw badRequest("param 'mode' must be cross-encoder, causal-lm, dense or multivector, got '" + value + "'"
          + (isOperatorName(value) ? " (the score combination is reRankOperator=" + value.trim() + ")" : ""));
    }
    if (!mode.kinds.contains(kind)) {
      throw badRequest("mode=" + mode + " needs a " + kindsText(mode) + " model, but model '" + modelName + "' is a " + kind + " model");
    }
    return mode;
  }

  private static boolean isOperatorName(String value) {
    for (ReRankOperator o : ReRankOperator.values()) {
      if (o.toLower().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  private static String kindsText(RerankMode mode) {
    List<String> names = new ArrayList<>();
    for (ModelKind k : mode.kinds) {
      names.add(k.toString());
    }
    return String.join(" or ", names);
  }

  private double weight() {
    String value = localParams.get(RERANK_WEIGHT);
    if (value == null) {
      return 1.0;
    }
    try {
      double w = Double.parseDouble(value.trim());
      if (Double.isFinite(w)) {
        return w;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw badRequest("param 'reRankWeight' must be a finite number, got '" + value + "'");
  }

  private ReRankOperator operator() {
    String value = localParams.get(RERANK_OPERATOR, "replace");
    for (ReRankOperator o : ReRankOperator.values()) {
      if (o.toLower().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return o;
      }
    }
    throw badRequest("param 'reRankOperator' must be replace, add or multiply, got '" + value + "'");
  }

  /** The body or {@code v}, else {@code rq.text}, else {@code q} without its local params. */
  private String queryText() throws SyntaxError {
    String text = localParams.get(QueryParsing.V);
    String from = "the local params' body";
    if (text == null || text.isBlank()) {
      text = params.get(RQ_TEXT);
      from = "param '" + RQ_TEXT + "'";
    }
    if (text == null || text.isBlank()) {
      text = params.get(CommonParams.Q);
      from = "param 'q'";
      if (text != null && text.startsWith(QueryParsing.LOCALPARAM_START)) {
        SolrParams qLocal = QueryParsing.getLocalParams(text, params);
        text = qLocal == null ? null : qLocal.get(QueryParsing.V);
      }
    }
    if (!LocalParamValues.hasVisibleText(text) || text.trim().equals("*:*")) {
      throw badRequest("no query text to re-rank with: give it as the local params' body, as param '" + RQ_TEXT + "', or in 'q'"
          + (text != null && text.trim().equals("*:*") ? " (" + from + " is *:*)" : ""));
    }
    return text;
  }

  private DocumentTexts documentTexts() {
    String value = localParams.get(TEXT_FIELDS);
    List<String> names = value != null ? StrUtils.splitSmart(value, ',') : plugin.textFields();
    List<String> fields = new ArrayList<>();
    for (String n : names) {
      if (!n.isBlank()) {
        fields.add(n.trim());
      }
    }
    if (fields.isEmpty()) {
      throw badRequest("no document text fields: give local param 'textFields' (or set textFields on the query parser)");
    }
    for (String name : fields) {
      SchemaField field = req.getSchema().getFieldOrNull(name);
      if (field == null) {
        throw badRequest("undefined field '" + name + "' (param 'textFields')");
      }
      if (!field.stored()) {
        throw badRequest("field '" + name + "' is not stored, so it cannot give document text (param 'textFields')");
      }
    }
    return new DocumentTexts(fields);
  }

  private WindowScorer crossEncoder(ServedModel served, String text, DocumentTexts texts, NamedList<Object> settings) {
    String value = localParams.get(PASSAGE, "first");
    Passages.Aggregation aggregation;
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "first":
        aggregation = Passages.Aggregation.FIRST;
        break;
      case "max":
        aggregation = Passages.Aggregation.MAX;
        break;
      default:
        throw badRequest("param 'passage' must be first (FirstP) or max (MaxP), got '" + value + "'");
    }
    // FirstP without passageWords: the whole text, cut only by the model's maxLength
    int defaultWords = aggregation == Passages.Aggregation.MAX ? DEFAULT_MAX_PASSAGE_WORDS : Integer.MAX_VALUE;
    int words = intParam(PASSAGE_WORDS, defaultWords, 1, Integer.MAX_VALUE, null);
    int stride = intParam(PASSAGE_STRIDE, Math.max(1, Math.min(words, DEFAULT_MAX_PASSAGE_WORDS) / 2), 1, words, PASSAGE_WORDS);
    int maxPassages = intParam(MAX_PASSAGES, DEFAULT_MAX_PASSAGES, 1, MAX_MAX_PASSAGES, null);
    Passages passages = new Passages(aggregation, words, stride, maxPassages);
    settings.add(PASSAGE, aggregation.name().toLowerCase(Locale.ROOT));
    settings.add(PASSAGE_WORDS, words);
    settings.add(PASSAGE_STRIDE, stride);
    settings.add(MAX_PASSAGES, passages.maxPassages);
    return new CrossEncoderWindowScorer(served.crossEncoder(), modelName(), text, texts, passages);
  }

  private WindowScorer causalLm(ServedModel served, String text, DocumentTexts texts, NamedList<Object> settings) {
    QueryLikelihood ql = served.queryLikelihood();
    PromptTemplate template = ql.template();
    String templateText = localParams.get(PROMPT_TEMPLATE);
    QueryLikelihood.Aggregation aggregation = ql.aggregation();
    if (templateText != null) {
      try {
        template = PromptTemplate.parse(templateText);
        ql.checkTemplate(template);
      } catch (IllegalArgumentException e) {
        throw badRequest(e.getMessage() + " (param '" + PROMPT_TEMPLATE + "')");
      }
    }
    String agg = localParams.get(AGGREGATION);
    if (agg != null) {
      try {
        aggregation = QueryLikelihood.Aggregation.parse(agg);
      } catch (IllegalArgumentException e) {
        throw badRequest("param '" + AGGREGATION + "': " + e.getMessage());
      }
    }
    try {
      ql.checkQuery(text, template);
    } catch (IllegalArgumentException e) {
      throw badRequest("model '" + modelName() + "' cannot score this query: " + e.getMessage());
    }
    settings.add(PROMPT_TEMPLATE, template.toString());
    settings.add(AGGREGATION, aggregation.toString());
    return new QueryLikelihoodWindowScorer(ql, modelName(), text, texts, template, aggregation);
  }

  private WindowScorer dense(ServedModel served, String text, DocumentTexts texts, NamedList<Object> settings) {
    DenseEncoder encoder = served.denseEncoder();
    String fieldName = localParams.get(FIELD);
    if (fieldName != null) {
      SchemaField field = req.getSchema().getFieldOrNull(fieldName);
      if (field == null) {
        throw badRequest("undefined field '" + fieldName + "' (param 'f')");
      }
      if (!(field.getType() instanceof DenseVectorField)) {
        throw badRequest("field '" + fieldName + "' is a " + field.getType().getTypeName() + ", not a DenseVectorField (param 'f')");
      }
      DenseVectorField type = (DenseVectorField) field.getType();
      if (type.getVectorEncoding() != VectorEncoding.FLOAT32 || type.getDimension() != encoder.dimension()) {
        throw badRequest(
            "field '" + fieldName + "' holds " + type.getDimension() + "-dimensional " + type.getVectorEncoding() + " vectors; model '"
                + modelName() + "' produces " + encoder.dimension() + "-dimensional FLOAT32 vectors (param 'f')");
      }
      settings.add(FIELD, fieldName);
    }
    return new DenseWindowScorer(encoder, modelName(), queryVector(encoder, text), fieldName, texts);
  }

  /** As {@code {!dense}}: encoded once per distributed request, by the coordinator. */
  private float[] queryVector(DenseEncoder encoder, String text) {
    String handoff = QueryVectorHandoff.paramName(modelName(), text);
    float[] vector = QueryVectorHandoff.received(req, handoff, encoder.dimension());
    if (vector == null) {
      vector = encodeQuery(() -> encoder.encodeQuery(text), modelName());
      QueryVectorHandoff.remember(req, handoff, vector);
    }
    return vector;
  }

  private WindowScorer multivector(ServedModel served, String text, DocumentTexts texts, ModelKind kind, NamedList<Object> settings) {
    String fieldName = localParams.get(FIELD);
    MultiVectorEncoder encoder = served.multiVectorEncoder();
    if (fieldName != null) {
      // stored token vectors: the query is encoded as the field's documents were, by the same encoder
      SchemaField field = req.getSchema().getFieldOrNull(fieldName);
      if (field == null) {
        throw badRequest("undefined field '" + fieldName + "' (param 'f')");
      }
      if (!(field.getType() instanceof MultiVectorField)) {
        throw badRequest("field '" + fieldName + "' is a " + field.getType().getTypeName()
            + "; mode=multivector reads stored token vectors from a MultiVectorField (param 'f')");
      }
      int dim = ((MultiVectorField) field.getType()).getDimension();
      if (dim != encoder.dimension()) {
        throw badRequest("field '" + fieldName + "' holds " + dim + "-dimensional token vectors; model '" + modelName()
            + "' produces " + encoder.dimension() + " (param 'f')");
      }
      settings.add(FIELD, fieldName);
      return new MaxSimWindowScorer(multiVectorQuery(encoder, text), new StoredTokenVectors(fieldName, dim));
    }
    if (kind == ModelKind.MULTIVECTOR) {
      MaxSimWindowScorer.QueryTokenVectors query = multiVectorQuery(encoder, text);
      DocumentTokenVectors documents =
          new DocumentTokenVectors() {
            @Override
            public TokenVectors[] read(org.apache.lucene.search.IndexSearcher searcher, int[] docs) throws java.io.IOException {
              List<String> documentTexts = texts.read(searcher, docs);
              List<float[][]> encoded = encodeQuery(() -> encoder.encodeDocuments(documentTexts), modelName());
              TokenVectors[] out = new TokenVectors[encoded.size()];
              for (int i = 0; i < out.length; i++) {
                out[i] = flatten(encoded.get(i));
              }
              return out;
            }

            @Override
            public String describe() {
              return encoder.describe() + " encoded from " + texts.fields();
            }
          };
      return new MaxSimWindowScorer(query, documents);
    }
    TokenStatesEncoder tokenStates = served.tokenStatesEncoder();
    MaxSimWindowScorer.QueryTokenVectors query =
        new MaxSimWindowScorer.QueryTokenVectors() {
          @Override
          public TokenVectors encode() {
            TokenStatesEncoder.TokenStates q = encodeQuery(() -> tokenStates.encode(List.of(text), TextRole.QUERY)[0], modelName());
            return new TokenVectors(q.vectors, q.count, q.dimension);
          }

          @Override
          public String describe() {
            return "the query's token states under '" + modelName() + "' (query prefix applied)";
          }
        };
    return new MaxSimWindowScorer(query, new EncodedTokenVectors(tokenStates, modelName(), texts));
  }

  /** The multi-vector encoder's query vectors, encoded once per distributed request as {@code {!colbert}} does. */
  private MaxSimWindowScorer.QueryTokenVectors multiVectorQuery(MultiVectorEncoder encoder, String text) {
    return new MaxSimWindowScorer.QueryTokenVectors() {
      @Override
      public TokenVectors encode() {
        String handoff = QueryVectorHandoff.tokenVectorsParamName(modelName(), text);
        float[][] rows = QueryVectorHandoff.receivedMatrix(req, handoff, encoder.dimension());
        if (rows == null) {
          rows = encodeQuery(() -> encoder.encodeQuery(text), modelName());
          QueryVectorHandoff.rememberMatrix(req, handoff, rows);
        }
        return flatten(rows);
      }

      @Override
      public String describe() {
        return "the query's " + encoder.describe();
      }
    };
  }

  private static TokenVectors flatten(float[][] rows) {
    int dim = rows[0].length;
    float[] flat = new float[rows.length * dim];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * dim, dim);
    }
    return new TokenVectors(flat, rows.length, dim);
  }

  /** The model's name in the registry (what the request says), not its manifest's. */
  private String modelName() {
    return localParams.get(MODEL);
  }

  private String firstDenseModel() {
    for (var e : NeuralModelRegistry.of(req.getCore()).models().entrySet()) {
      if (e.getValue().manifest().kind == ModelKind.DENSE) {
        return e.getKey();
      }
    }
    return "a dense model";
  }

  private static <T> T encodeQuery(java.util.function.Supplier<T> encode, String modelName) {
    try {
      return encode.get();
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + modelName + "' cannot encode the query text: " + e.getMessage());
    }
  }

  private int intParam(String name, int defaultValue, int min, int max, String maxName) {
    return LocalParamValues.intParam(localParams, name, defaultValue, min, max, maxName, NeuralRerankQParser::badRequest);
  }

  private static boolean isDebug() {
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    ResponseBuilder rb = info == null ? null : info.getResponseBuilder();
    return rb != null && rb.isDebug();
  }

  private static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!" + NeuralRerankQParserPlugin.NAME + "}: " + message);
  }
}
