package org.neuralsolr.search;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;

/**
 * {@code rq={!neural_rerank model=NAME reRankDocs=100 reRankWeight=1 reRankOperator=replace}}:
 * re-scores the top {@code reRankDocs} documents of the main query with a model of the core's
 * {@link org.neuralsolr.model.NeuralModelRegistry}, all of them in one batched call, and combines
 * the model's score with the first-stage score as Solr's own {@code {!rerank}} does. The scoring
 * {@code mode} follows the model's kind: {@code cross-encoder} (pair logits, first or best
 * passage), {@code causal-lm} (query likelihood), {@code dense} (cosine of stored or freshly
 * encoded vectors) or {@code multivector} (MaxSim over token vectors). See {@link
 * NeuralRerankQParser} for every local param.
 *
 * <pre>{@code
 * <queryParser name="neural_rerank" class="org.neuralsolr.search.NeuralRerankQParserPlugin">
 *   <int name="maxReRankDocs">1000</int>       <!-- a larger reRankDocs is refused with HTTP 400 -->
 *   <str name="textFields">title,text</str>    <!-- stored fields giving a document's text, joined by spaces -->
 * </queryParser>
 * }</pre>
 */
public class NeuralRerankQParserPlugin extends MeteredQParserPlugin {
  public static final String NAME = "neural_rerank";
  static final int DEFAULT_MAX_RERANK_DOCS = 1000;

  private int maxReRankDocs = DEFAULT_MAX_RERANK_DOCS;
  private List<String> textFields = List.of();
  private Counter requests;
  private Counter documents;
  private Counter badRequests;
  private Counter failures;
  private Timer rerankTime;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    maxReRankDocs = positiveIntArg(args, "maxReRankDocs", maxReRankDocs);
    Object fields = args == null ? null : args.get("textFields");
    if (fields != null) {
      textFields = List.copyOf(StrUtils.splitSmart(fields.toString(), ','));
    }
  }

  @Override
  protected QParser newParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new NeuralRerankQParser(qstr, localParams, params, req, this);
  }

  @Override
  protected void createMetrics(SolrMetricsContext ctx, String category, String scope) {
    requests = ctx.counter("requests", category, scope);
    documents = ctx.counter("documentsReranked", category, scope);
    badRequests = ctx.counter("badRequests", category, scope);
    failures = ctx.counter("modelFailures", category, scope);
    rerankTime = ctx.timer("rerankTime", category, scope);
  }

  int maxReRankDocs() {
    return maxReRankDocs;
  }

  /** The configured default of the {@code textFields} local param; may be empty. */
  List<String> textFields() {
    return textFields;
  }

  void countReranked(int docs, long nanos) {
    requests.inc();
    documents.inc(docs);
    rerankTime.update(nanos, TimeUnit.NANOSECONDS);
  }

  void countBadRequest() {
    badRequests.inc();
  }

  void countFailure() {
    failures.inc();
  }

  @Override
  public String getName() {
    return "neural.rerank";
  }

  @Override
  public String getDescription() {
    return "Neural Solr {!neural_rerank}: re-scores the top documents with a cross-encoder, causal LM, dense or multi-vector model";
  }
}
