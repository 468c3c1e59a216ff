package org.neuralsolr.search;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Rescorer;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.request.SolrRequestInfo;
import org.apache.solr.search.ReRankOperator;
import org.neuralsolr.model.ModelOverloadedException;

/**
 * Scores a whole re-rank window with one {@link WindowScorer} call and combines each document's
 * model score with its first-stage score exactly as Solr's {@code {!rerank}} combines its
 * re-rank query's score: {@code replace}: w·m, {@code add}: f + w·m, {@code multiply}: f·w·m,
 * computed in double and rounded to float. The re-ranked documents are sorted by the combined
 * score, ties by document id, as Lucene's {@code QueryRescorer} does.
 *
 * <p>A failure of the model throws (HTTP 500, or 503 when the model is overloaded): the request
 * fails rather than return a list that is only partly re-ranked.
 *
 * <p>What each document got is kept in the request's context, so that {@code debugQuery}
 * explanations show the very numbers that ranked it instead of running the model again.
 */
final class NeuralRescorer extends Rescorer {
  /** One re-ranked document's scores. */
  private static final class Scored {
    final float firstStage;
    final float model;
    final float combined;

    Scored(float firstStage, float model, float combined) {
      this.firstStage = firstStage;
      this.model = model;
      this.combined = combined;
    }
  }

  private final WindowScorer scorer;
  private final ReRankOperator operator;
  private final double weight;
  private final int reRankDocs;
  private final String modelName;
  private final NamedList<Object> settings;
  private final NeuralRerankQParserPlugin plugin;

  NeuralRescorer(
      WindowScorer scorer,
      ReRankOperator operator,
      double weight,
      int reRankDocs,
      String modelName,
      NamedList<Object> settings,
      NeuralRerankQParserPlugin plugin) {
    this.scorer = scorer;
    this.operator = operator;
    this.weight = weight;
    this.reRankDocs = reRankDocs;
    this.modelName = modelName;
    this.settings = settings;
    this.plugin = plugin;
  }

  float combine(float firstStage, float model) {
    switch (operator) {
      case ADD:
        return (float) (firstStage + weight * model);
      case MULTIPLY:
        return (float) (firstStage * weight * model);
      case REPLACE:
        return (float) (weight * model);
      default:
        throw new AssertionError(operator);
    }
  }

  @Override
  public TopDocs rescore(IndexSearcher searcher, TopDocs firstPass, int topN) throws IOException {
    ScoreDoc[] hits = firstPass.scoreDocs;
    int[] docs = new int[hits.length];
    for (int i = 0; i < hits.length; i++) {
      docs[i] = hits[i].doc;
    }
    long start = System.nanoTime();
    float[] model = scoreWindow(searcher, docs);
    long nanos = System.nanoTime() - start;
    plugin.countReranked(docs.length, nanos);

    Map<Integer, Scored> window = new HashMap<>();
    ScoreDoc[] rescored = new ScoreDoc[hits.length];
    for (int i = 0; i < hits.length; i++) {
      float combined = combine(hits[i].score, model[i]);
      window.put(docs[i], new Scored(hits[i].score, model[i], combined));
      rescored[i] = new ScoreDoc(docs[i], combined, hits[i].shardIndex);
    }
    Arrays.sort(rescored, (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.doc, b.doc));
    remember(window, docs.length, nanos);
    return new TopDocs(firstPass.totalHits, Arrays.copyOf(rescored, Math.min(topN, rescored.length)));
  }

  /** The model scores of {@code docs}, all of them, or an exception that fails the request. */
  private float[] scoreWindow(IndexSearcher searcher, int[] docs) {
    float[] model;
    try {
      model = scorer.score(searcher, docs);
    } catch (ModelOverloadedException e) {
      plugin.countFailure();
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, "{!neural_rerank}: " + e.getMessage(), e);
    } catch (SolrException e) {
      plugin.countFailure();
      throw e;
    } catch (IOException | RuntimeException e) {
      plugin.countFailure();
      throw failure(docs.length, e.getMessage(), e);
    }
    for (int i = 0; i < model.length; i++) {
      if (!Float.isFinite(model[i])) {
        plugin.countFailure();
        throw failure(docs.length, "the model gave document " + docs[i] + " the score " + model[i], null);
      }
    }
    return model;
  }

  private SolrException failure(int docs, String message, Throwable cause) {
    return new SolrException(
        ErrorCode.SERVER_ERROR,
        "{!neural_rerank}: re-ranking " + docs + " documents with model '" + modelName + "' failed, so no results are returned: " + message,
        cause);
  }

  private void remember(Map<Integer, Scored> window, int docs, long nanos) {
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    if (info == null) {
      return;
    }
    info.getReq().getContext().put(this, window);
    ResponseBuilder rb = info.getResponseBuilder();
    if (rb != null && rb.isDebug()) {
      NamedList<Object> debug = new SimpleOrderedMap<>();
      debug.addAll(settings);
      debug.add("documentsReranked", docs);
      debug.add("rerankMillis", nanos / 1e6);
      debug.add("score", scorer.describe());
      rb.addDebugInfo("neuralRerank", debug);
    }
  }

  @Override
  @SuppressWarnings("unchecked")
  public Explanation explain(IndexSearcher searcher, Explanation firstPass, int docID) throws IOException {
    if (!firstPass.isMatch()) {
      return firstPass;
    }
    float firstStage = firstPass.getValue().floatValue();
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    Map<Integer, Scored> window = info == null ? null : (Map<Integer, Scored>) info.getReq().getContext().get(this);
    if (window != null) {
      Scored s = window.get(docID);
      if (s == null) {
        return Explanation.match(
            firstStage,
            "first-stage score only: not in the re-rank window (the first stage's top reRankDocs=" + reRankDocs + ")",
            firstPass);
      }
      return combination(s, firstPass, "");
    }
    // This request did not re-rank (a distributed search's second phase): score this document alone.
    float model = scoreWindow(searcher, new int[] {docID})[0];
    return combination(
        new Scored(firstStage, model, combine(firstStage, model)),
        firstPass,
        "; model score computed for this explanation, as if the document was in the re-rank window");
  }

  private Explanation combination(Scored s, Explanation firstPass, String note) {
    String formula;
    switch (operator) {
      case ADD:
        formula = "first-stage score + reRankWeight * model score";
        break;
      case MULTIPLY:
        formula = "first-stage score * reRankWeight * model score";
        break;
      default:
        formula = "reRankWeight * model score (the first-stage score is shown, not used)";
        break;
    }
    return Explanation.match(
        s.combined,
        "neural re-rank, reRankOperator=" + operator.toLower() + ": " + formula + note,
        Explanation.match(s.firstStage, "first-stage score", firstPass),
        Explanation.match(s.model, "model score: " + scorer.describe()),
        Explanation.match(weight, "reRankWeight"));
  }
}
