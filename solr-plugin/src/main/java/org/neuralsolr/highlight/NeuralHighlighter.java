package org.neuralsolr.highlight;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.HighlightParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.highlight.SolrHighlighter;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.IndexSchema;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.DocIterator;
import org.apache.solr.search.DocList;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.neuralsolr.codecs.multivector.MaxSimScorer;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.model.CrossEncoder;
import org.neuralsolr.model.MultiVectorEncoder;
import org.neuralsolr.schema.MultiVectorField;
import org.neuralsolr.update.NeuralUpdateProcessorFactory;
import org.neuralsolr.update.SourceText;
import org.neuralsolr.update.TokenSpans;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.TextRejectedException;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.search.QueryVectorHandoff;

/**
 * {@code hl.method=neural}: ranks each hit's sentences by their relevance to the query text with a
 * model, and returns the best {@code hl.snippets} of each {@code hl.fl} field as Solr's highlighting
 * (sentence texts, best first), with their scores and character offsets in a second section, {@value
 * #DETAILS_SECTION}; see {@link NeuralHighlightComponent} for the params.
 *
 * <p>Every sentence of every hit of the request is scored in one model call (the scheduler cuts it
 * into batches), so a request's cost is one batched forward pass over its sentences; {@code
 * maxSentences} bounds it.
 */
public class NeuralHighlighter extends SolrHighlighter {
  public static final String METHOD_NAME = "neural";
  public static final String METHOD = "hl.neural.method";
  public static final String MODEL = "hl.neural.model";
  public static final String TEXT = "hl.neural.text";
  public static final String DETAILS = "hl.neural.details";
  /** Per field: a multi-valued stored field listing the field's sentences, in order. */
  public static final String SENTENCES = "hl.neural.sentences";
  /** {@code maxsim}: the MultiVectorField holding the token vectors. */
  public static final String TOKEN_FIELD = "hl.neural.field";
  /** {@code maxsim}: which token vectors a sentence is scored with, {@link Encode}. */
  public static final String ENCODE = "hl.neural.encode";
  /** The response section holding each snippet's score and offsets. */
  public static final String DETAILS_SECTION = "neuralHighlighting";

  /** How sentences are scored against the query text. */
  enum Method {
    /** Cosine of the query vector and each sentence's vector, both from one dense model. */
    DENSE("dense"),
    /** A cross-encoder's score of each (query, sentence) pair. */
    CROSS_ENCODER("cross-encoder"),
    /**
     * MaxSim of the query's token vectors against the stored token vectors of each sentence's
     * tokens ({@link MaxSimSentences}): no model call for the documents.
     */
    MAXSIM("maxsim");

    final String param;

    Method(String param) {
      this.param = param;
    }

    static Method parse(String value) {
      for (Method m : values()) {
        if (m.param.equals(value)) {
          return m;
        }
      }
      throw badRequest(
          "param '" + METHOD + "' must be one of " + Arrays.stream(values()).map(m -> m.param).toList() + ", got '" + value + "'");
    }
  }

  /** {@code maxsim}'s document side: the stored token vectors, or each sentence encoded now. */
  enum Encode {
    /**
     * The token vectors stored at ingest, from one encoding of the whole source text: no model call
     * for the documents, but each token's vector carries its neighbours' sentences too.
     */
    DOCUMENT("document"),
    /**
     * Each sentence encoded alone by the field's model at query time, all sentences of the request
     * in one batched call (a forward pass over every sentence, as {@code dense} costs): localises
     * better, since a token's vector then knows only its own sentence.
     */
    SENTENCES("sentences");

    final String param;

    Encode(String param) {
      this.param = param;
    }

    static Encode parse(String value) {
      for (Encode e : values()) {
        if (e.param.equals(value)) {
          return e;
        }
      }
      throw badRequest(
          "param '" + ENCODE + "' must be one of " + Arrays.stream(values()).map(e -> e.param).toList() + ", got '" + value + "'");
    }
  }

  private final String defaultModel;
  private final int maxSentences;

  /**
   * @param defaultModel the dense model {@code hl.neural.method=dense} uses without {@code
   *     hl.neural.model}, or null
   * @param maxSentences the most sentences one request may score, all hits and fields together
   */
  public NeuralHighlighter(String defaultModel, int maxSentences) {
    this.defaultModel = defaultModel;
    this.maxSentences = maxSentences;
  }

  int maxSentences() {
    return maxSentences;
  }

  /** Snippets only, for callers of the plain {@link SolrHighlighter} API; the query text from {@code hl.neural.text}. */
  @Override
  public NamedList<Object> doHighlighting(DocList docs, Query query, SolrQueryRequest req, String[] defaultFields)
      throws IOException {
    return highlight(docs, req.getParams().get(TEXT), req, defaultFields).snippets();
  }

  /** Solr's highlighting section and the {@value #DETAILS_SECTION} section of one request. */
  record Highlights(NamedList<Object> snippets, NamedList<Object> details) {}

  /** One sentence of one hit's field, and its score once scored. */
  private record Candidate(String docKey, String field, Sentences.Sentence sentence) {}

  /** One hit: its stored fields and its sentences, {@code candidates[from, to)}. */
  private record Hit(int docId, Document doc, int from, int to) {}

  Highlights highlight(DocList docs, String queryText, SolrQueryRequest req, String[] defaultFields) throws IOException {
    SolrParams params = req.getParams();
    if (queryText == null || queryText.isBlank()) {
      throw badRequest(
          "param '" + TEXT + "' is required: the query text could not be taken from q (the neural highlighter scores sentences against text)");
    }
    Method method = Method.parse(params.get(METHOD, Method.DENSE.param));
    // checked whatever the method, so that a misspelling is never silently the default
    Encode encode = Encode.parse(params.get(ENCODE, Encode.DOCUMENT.param));
    boolean details = params.getBool(DETAILS, false);
    IndexSchema schema = req.getSchema();
    String[] fields = getHighlightFields(null, req, defaultFields);
    List<SchemaField> schemaFields = new ArrayList<>();
    for (String name : fields) {
      SchemaField f = schema.getFieldOrNull(name);
      if (f == null) {
        throw badRequest("undefined field '" + name + "' (param '" + HighlightParams.FIELDS + "')");
      }
      if (!f.stored()) {
        throw badRequest("field '" + name + "' is not stored (param '" + HighlightParams.FIELDS + "'): the neural highlighter reads the stored text");
      }
      schemaFields.add(f);
      String listed = params.getFieldParam(name, SENTENCES);
      if (listed != null) {
        SchemaField l = schema.getFieldOrNull(listed);
        if (l == null || !l.stored() || !l.multiValued() || f.multiValued()) {
          throw badRequest(
              "param '" + SENTENCES + "': '" + listed + "' must be a stored multi-valued field listing the sentences of the single-valued field '"
                  + name + "'");
        }
      }
      int snippets = params.getFieldInt(name, HighlightParams.SNIPPETS, 1);
      if (snippets < 1) {
        throw badRequest("param '" + HighlightParams.SNIPPETS + "' must be at least 1, got " + snippets);
      }
    }

    TokenSource tokens = method == Method.MAXSIM ? tokenSource(req, fields, encode) : null;

    // read every hit's sentences first: one model call scores them all
    SolrIndexSearcher searcher = req.getSearcher();
    Set<String> toRead = new HashSet<>(Arrays.asList(fields));
    toRead.add(schema.getUniqueKeyField().getName());
    for (String name : fields) {
      if (params.getFieldParam(name, SENTENCES) != null) {
        toRead.add(params.getFieldParam(name, SENTENCES));
      }
    }
    if (tokens != null) {
      toRead.addAll(tokens.source.sources());
    }
    List<String> keys = new ArrayList<>();
    List<Candidate> candidates = new ArrayList<>();
    List<Hit> hits = new ArrayList<>();
    DocIterator it = docs.iterator();
    while (it.hasNext()) {
      int docId = it.nextDoc();
      Document doc = searcher.getDocFetcher().doc(docId, toRead);
      String key = schema.printableUniqueKey(doc);
      keys.add(key);
      int first = candidates.size();
      for (SchemaField f : schemaFields) {
        String listed = params.getFieldParam(f.getName(), SENTENCES);
        List<String> values = storedValues(doc, f.getName());
        List<Sentences.Sentence> split =
            listed == null
                ? Sentences.of(values, f.multiValued())
                : Sentences.located(values.isEmpty() ? "" : values.get(0), storedValues(doc, listed));
        for (Sentences.Sentence s : split) {
          candidates.add(new Candidate(key, f.getName(), s));
        }
      }
      if (candidates.size() > maxSentences) {
        throw badRequest(
            "the hits' " + Arrays.toString(fields) + " hold more than " + maxSentences
                + " sentences, the neural highlighter's maxSentences; highlight fewer rows or fields (params 'rows', '" + HighlightParams.FIELDS + "')");
      }
      hits.add(new Hit(docId, doc, first, candidates.size()));
    }
    float[] scores;
    List<List<int[]>> matches = null;
    if (tokens != null) {
      scores = new float[candidates.size()];
      matches = new ArrayList<>(Collections.nCopies(candidates.size(), List.<int[]>of()));
      if (!candidates.isEmpty()) {
        float[][] queryTokens = queryTokens(req, tokens, queryText);
        if (encode == Encode.DOCUMENT) {
          maxSim(tokens, queryTokens, searcher, hits, candidates, scores, matches);
        } else {
          maxSimOfSentences(tokens, queryTokens, candidates, scores, matches);
        }
      }
    } else {
      scores = score(method, queryText, candidates, req);
    }

    NamedList<Object> snippets = new SimpleOrderedMap<>();
    NamedList<Object> detailSection = new SimpleOrderedMap<>();
    int next = 0;
    for (String key : keys) {
      SimpleOrderedMap<Object> docSnippets = new SimpleOrderedMap<>();
      SimpleOrderedMap<Object> docDetails = new SimpleOrderedMap<>();
      for (SchemaField f : schemaFields) {
        List<Integer> own = new ArrayList<>();
        while (next < candidates.size() && candidates.get(next).docKey.equals(key) && candidates.get(next).field.equals(f.getName())) {
          own.add(next++);
        }
        if (own.isEmpty()) {
          continue;
        }
        List<Integer> ranked = new ArrayList<>(own);
        // best first; equal scores in document order, so the answer does not depend on the engine
        ranked.sort(Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
        int n = Math.min(ranked.size(), params.getFieldInt(f.getName(), HighlightParams.SNIPPETS, 1));
        List<String> texts = new ArrayList<>(n);
        List<Object> top = new ArrayList<>(n);
        String pre = params.getFieldParam(f.getName(), HighlightParams.TAG_PRE);
        String post = params.getFieldParam(f.getName(), HighlightParams.TAG_POST);
        boolean tag = tokens != null && (pre != null || post != null);
        for (int r = 0; r < n; r++) {
          int i = ranked.get(r);
          Sentences.Sentence sentence = candidates.get(i).sentence;
          texts.add(tag ? tagged(sentence, matches.get(i), pre == null ? "<em>" : pre, post == null ? "</em>" : post) : sentence.text());
          top.add(describe(sentence, scores[i], tokens == null ? null : matches.get(i), false));
        }
        docSnippets.add(f.getName(), texts);
        SimpleOrderedMap<Object> fieldDetails = new SimpleOrderedMap<>();
        fieldDetails.add("snippets", top);
        if (details) {
          List<Object> all = new ArrayList<>(own.size());
          for (int i : own) {
            all.add(describe(candidates.get(i).sentence, scores[i], tokens == null ? null : matches.get(i), true));
          }
          fieldDetails.add("sentences", all);
        }
        docDetails.add(f.getName(), fieldDetails);
      }
      snippets.add(key, docSnippets);
      docDetails.add("method", method.param);
      detailSection.add(key, docDetails);
    }
    return new Highlights(snippets, detailSection);
  }

  private static SimpleOrderedMap<Object> describe(Sentences.Sentence s, float score, List<int[]> matches, boolean withText) {
    SimpleOrderedMap<Object> m = new SimpleOrderedMap<>();
    m.add("sentence", s.index());
    m.add("value", s.value());
    m.add("start", s.start());
    m.add("end", s.end());
    m.add("score", score);
    if (matches != null) {
      List<List<Integer>> spans = new ArrayList<>(matches.size());
      for (int[] span : matches) {
        spans.add(List.of(span[0], span[1]));
      }
      m.add("matches", spans);
    }
    if (withText) {
      m.add("text", s.text());
    }
    return m;
  }

  private static List<String> storedValues(Document doc, String field) {
    List<String> values = new ArrayList<>();
    for (IndexableField v : doc.getFields(field)) {
      if (v.stringValue() != null) {
        values.add(v.stringValue());
      }
    }
    return values;
  }

  /** {@code maxsim}'s token vectors: their field, how they were encoded, and the encoder. */
  private record TokenSource(String field, int dimension, NeuralUpdateProcessorFactory.FieldSource source, MultiVectorEncoder encoder) {}

  /**
   * {@code maxsim}'s field, model and sources. With {@code encode=sentences} only the model is
   * needed: the sentences are encoded now, so the index need not hold token vectors and {@code
   * hl.fl} may be any stored text field.
   */
  private TokenSource tokenSource(SolrQueryRequest req, String[] fields, Encode encode) {
    IndexSchema schema = req.getSchema();
    String name = req.getParams().get(TOKEN_FIELD);
    if (name == null) {
      List<String> multiVector = new ArrayList<>();
      schema.getFields().forEach((n, f) -> {
        if (f.getType() instanceof MultiVectorField) {
          multiVector.add(n);
        }
      });
      if (multiVector.size() != 1) {
        throw badRequest("missing param '" + TOKEN_FIELD + "' (the MultiVectorField whose token vectors hl.neural.method=maxsim reads; the schema has " + multiVector + ")");
      }
      name = multiVector.get(0);
    }
    SchemaField field = schema.getFieldOrNull(name);
    if (field == null || !(field.getType() instanceof MultiVectorField)) {
      throw badRequest("param '" + TOKEN_FIELD + "': '" + name + "' is not a MultiVectorField, so it holds no token vectors for hl.neural.method=maxsim");
    }
    if (encode == Encode.DOCUMENT && !anySegmentHas(req, name)) {
      // else every hit would score 0 without a word: the documents went through a chain that does not fill it
      throw badRequest(
          "param '" + TOKEN_FIELD + "': no document of this index has token vectors in '" + name
              + "' (index through an update chain that fills it, such as neural-colbert)");
    }
    NeuralUpdateProcessorFactory.FieldSource source = NeuralUpdateProcessorFactory.sourceOf(req.getCore(), name);
    if (source == null) {
      throw badRequest(
          "param '" + TOKEN_FIELD + "': no neural update processor fills '" + name
              + "', so the text its token vectors were encoded from is unknown (hl.neural.method=maxsim maps them back to the text)");
    }
    for (String f : fields) {
      if (encode == Encode.DOCUMENT && !source.sources().contains(f)) {
        throw badRequest(
            "param '" + HighlightParams.FIELDS + "': hl.neural.method=maxsim highlights the fields the token vectors of '" + name
                + "' were encoded from, " + source.sources() + ", not '" + f + "'");
      }
    }
    String model = req.getParams().get(MODEL);
    if (model != null && !model.equals(source.model())) {
      throw badRequest(
          "param '" + MODEL + "': the token vectors of '" + name + "' were encoded by model '" + source.model()
              + "', whose tokenizer and query vectors hl.neural.method=maxsim must use, not '" + model + "'");
    }
    MultiVectorEncoder encoder;
    try {
      encoder = NeuralModelRegistry.of(req.getCore()).model(source.model()).multiVectorEncoder();
    } catch (SolrException e) {
      throw badRequest("param '" + TOKEN_FIELD + "': " + e.getMessage());
    }
    return new TokenSource(name, ((MultiVectorField) field.getType()).getDimension(), source, encoder);
  }

  private static boolean anySegmentHas(SolrQueryRequest req, String field) {
    for (org.apache.lucene.index.LeafReaderContext leaf : req.getSearcher().getIndexReader().leaves()) {
      if (leaf.reader().getFieldInfos().fieldInfo(field) != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * The query's token vectors: on a shard of a distributed request, those the coordinator's
   * {@code {!colbert}} parser encoded and handed over (so a shard on another node runs no forward
   * pass to highlight); else encoded now, which for a {@code {!colbert}} query of this request is a
   * hit in the encoder's query cache.
   */
  private static float[][] queryTokens(SolrQueryRequest req, TokenSource tokens, String queryText) {
    float[][] received = QueryVectorHandoff.receivedTokenVectors(req, tokens.source.model(), queryText, tokens.dimension);
    if (received != null) {
      return received;
    }
    try {
      return tokens.encoder.encodeQuery(queryText);
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + tokens.source.model() + "' cannot encode the query text (param '" + TEXT + "'): " + e.getMessage());
    }
  }

  /**
   * Scores each hit's sentences by MaxSim over its stored token vectors, whose characters come from
   * the spans stored beside them at ingest ({@link TokenSpans}) or, for documents indexed without
   * them, from tokenising the document's source text again (no forward pass either way). Sets a
   * score and the winning tokens' spans (in the sentence's value) per sentence. Hits are read in
   * doc id order, so that each segment's doc values are read forward by one iterator.
   *
   * <p>The similarities come from {@link MaxSimScorer#similarities}, the path {@code {!colbert}}
   * scored the hits with: residual codes are not decoded to vectors (the query's score against
   * each centroid is computed once per request and reused by every hit), and a sentence holding
   * every token of a document has the document's MaxSim, bit for bit.
   */
  private static void maxSim(
      TokenSource tokens, float[][] query, SolrIndexSearcher searcher, List<Hit> hits, List<Candidate> candidates, float[] scores,
      List<List<int[]>> matches) throws IOException {
    List<Hit> byDoc = new ArrayList<>(hits);
    byDoc.sort(Comparator.comparingInt(Hit::docId));
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    LeafReaderContext leaf = null;
    MultiVectorValues values = null;
    BinaryDocValues storedSpans = null;
    MaxSimScorer scorer = new MaxSimScorer(query);
    float[] similarities = null;
    for (Hit hit : byDoc) {
      if (leaf == null || hit.docId >= leaf.docBase + leaf.reader().maxDoc()) {
        leaf = leaves.get(ReaderUtil.subIndex(hit.docId, leaves));
        values = MultiVectorValues.get(leaf.reader(), tokens.field);
        storedSpans = tokens.source.spans() == null ? null : leaf.reader().getBinaryDocValues(tokens.source.spans());
      }
      int doc = hit.docId - leaf.docBase;
      List<Candidate> sentences = candidates.subList(hit.from, hit.to);
      SourceText.Joined joined = SourceText.join(tokens.source.sources(), f -> storedValues(hit.doc, f));
      int[][] spans = null;
      if (values != null && values.advanceExact(doc) && !joined.text().isEmpty()) {
        if (storedSpans != null && storedSpans.advanceExact(doc)) {
          spans = TokenSpans.decode(storedSpans.binaryValue());
        }
        if (spans == null || spans.length != values.tokenCount()) {
          spans = tokens.encoder.documentTokenSpans(joined.text());
        }
        if (spans.length != values.tokenCount()) {
          // supplied by a client, or encoded by another model or tokenizer version: no evidence to map
          spans = null;
        } else {
          similarities = scorer.similarities(values, similarities);
        }
      }
      if (spans == null) {
        continue; // every sentence scores 0, with no matches
      }
      List<int[]> ranges = new ArrayList<>(sentences.size());
      for (Candidate c : sentences) {
        ranges.add(joinedRange(joined, c));
      }
      MaxSimSentences.Result r = MaxSimSentences.score(similarities, scorer.stride(), query.length, spans, ranges);
      for (int s = 0; s < sentences.size(); s++) {
        scores[hit.from + s] = r.scores()[s];
        List<int[]> inValue = new ArrayList<>();
        int shift = ranges.get(s)[0] - sentences.get(s).sentence.start();
        for (int[] span : r.winners().get(s)) {
          inValue.add(new int[] {span[0] - shift, span[1] - shift});
        }
        matches.set(hit.from + s, inValue);
      }
    }
  }

  /**
   * {@code encode=sentences}: every sentence of the request encoded alone by the field's model, in
   * one batched call, and scored by the MaxSim of the query over its own token vectors; the winning
   * tokens are mapped to characters by the sentence's own tokenisation. Adds a score and the
   * winners' spans (in the sentence's value) per sentence, in order.
   */
  private static void maxSimOfSentences(
      TokenSource tokens, float[][] query, List<Candidate> sentences, float[] scores, List<List<int[]>> matches) {
    List<String> texts = new ArrayList<>(sentences.size());
    for (Candidate c : sentences) {
      texts.add(c.sentence.text());
    }
    List<float[][]> encoded;
    try {
      encoded = tokens.encoder.encodeDocuments(texts);
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + tokens.source.model() + "' (param '" + ENCODE + "'=sentences) cannot encode a sentence: " + e.getMessage());
    }
    int dim = tokens.dimension;
    for (int s = 0; s < texts.size(); s++) {
      float[][] rows = encoded.get(s);
      int[][] spans = tokens.encoder.documentTokenSpans(texts.get(s));
      Sentences.Sentence sentence = sentences.get(s).sentence;
      if (spans.length != rows.length || rows.length == 0 || rows[0].length != dim) {
        continue; // cannot happen with one model and one tokenizer; scored as a document whose vectors do not match
      }
      float[] flat = new float[rows.length * dim];
      for (int t = 0; t < rows.length; t++) {
        System.arraycopy(rows[t], 0, flat, t * dim, dim);
      }
      MaxSimSentences.Result r = MaxSimSentences.score(query, flat, dim, spans, List.of(new int[] {0, texts.get(s).length()}));
      scores[s] = r.scores()[0];
      List<int[]> inValue = new ArrayList<>();
      for (int[] span : r.winners().get(0)) {
        inValue.add(new int[] {span[0] + sentence.start(), span[1] + sentence.start()});
      }
      matches.set(s, inValue);
    }
  }


  /** The sentence's character range in the joined source text, or an empty range if its value is not there. */
  private static int[] joinedRange(SourceText.Joined joined, Candidate c) {
    for (SourceText.Piece p : joined.pieces()) {
      if (p.field().equals(c.field) && p.value() == c.sentence.value()) {
        int start = p.start() + c.sentence.start() - p.valueStart();
        return new int[] {start, start + c.sentence.end() - c.sentence.start()};
      }
    }
    return new int[] {-1, -1};
  }

  /** The sentence with each span (in its value) wrapped in {@code pre} and {@code post}. */
  static String tagged(Sentences.Sentence s, List<int[]> spans, String pre, String post) {
    StringBuilder out = new StringBuilder();
    int at = s.start();
    String value = s.text();
    for (int[] span : spans) {
      int from = Math.max(span[0], at);
      int to = Math.min(span[1], s.end());
      if (from >= to) {
        continue;
      }
      out.append(value, at - s.start(), from - s.start()).append(pre).append(value, from - s.start(), to - s.start()).append(post);
      at = to;
    }
    out.append(value, at - s.start(), value.length());
    return out.toString();
  }

  private float[] score(Method method, String queryText, List<Candidate> candidates, SolrQueryRequest req) {
    if (candidates.isEmpty()) {
      return new float[0];
    }
    List<String> texts = candidates.stream().map(c -> c.sentence.text()).toList();
    NeuralModelRegistry registry = NeuralModelRegistry.of(req.getCore());
    String modelName = req.getParams().get(MODEL, method == Method.DENSE ? defaultModel : null);
    if (modelName == null || modelName.isBlank()) {
      throw badRequest("missing param '" + MODEL + "' (a " + method.param + " model of the neural model registry)");
    }
    try {
      switch (method) {
        case DENSE:
          {
            DenseEncoder encoder = denseEncoder(registry, modelName);
            float[] query = encoder.encodeQuery(queryText);
            float[][] sentences = encoder.encode(texts, TextRole.DOCUMENT);
            float[] scores = new float[sentences.length];
            for (int i = 0; i < scores.length; i++) {
              scores[i] = cosine(query, sentences[i]);
            }
            return scores;
          }
        case CROSS_ENCODER:
          return crossEncoder(registry, modelName).score(queryText, texts);
        default:
          throw new AssertionError(method);
      }
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    } catch (TextRejectedException e) {
      throw badRequest("model '" + modelName + "' (param '" + MODEL + "') cannot encode a sentence or the query text: " + e.getMessage());
    }
  }

  private static DenseEncoder denseEncoder(NeuralModelRegistry registry, String name) {
    try {
      return registry.denseEncoder(name);
    } catch (SolrException e) {
      throw badRequest("param '" + MODEL + "': " + e.getMessage());
    }
  }

  private static CrossEncoder crossEncoder(NeuralModelRegistry registry, String name) {
    CrossEncoder encoder;
    try {
      encoder = registry.model(name).crossEncoder();
    } catch (SolrException e) {
      throw badRequest("param '" + MODEL + "': " + e.getMessage());
    }
    if (encoder == null) {
      throw badRequest(
          "param '" + MODEL + "': model '" + name + "' is a "
              + registry.model(name).manifest().kind.toString().toLowerCase(Locale.ROOT) + " model, not a cross-encoder");
    }
    return encoder;
  }

  static float cosine(float[] a, float[] b) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return na == 0 || nb == 0 ? 0f : (float) (dot / Math.sqrt(na * nb));
  }

  static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, message);
  }
}
