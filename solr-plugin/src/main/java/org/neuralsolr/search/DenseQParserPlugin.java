package org.neuralsolr.search;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Timer;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;

/**
 * {@code {!dense f=FIELD model=NAME topK=K}free text}: encodes the text with a dense model of the
 * core's {@link org.neuralsolr.model.NeuralModelRegistry} and runs Lucene's kNN search on a {@code
 * DenseVectorField}. Filters ({@code fq}) are applied as kNN pre-filters, exactly as Solr's own
 * {@code {!knn}} does (including its {@code preFilter}, {@code includeTags} and {@code excludeTags}
 * local params). {@code instruction=NAME} picks one of the model manifest's query instruction
 * templates (LLM embedders); without it the manifest's default applies. {@code rescore=N} (topK to
 * maxTopK) takes the graph's top N and re-scores them with the float32 vectors (for a {@code
 * QuantizedDenseVectorField}, whose graph scores are int7 or int4), keeping the best topK.
 *
 * <pre>{@code
 * <queryParser name="dense" class="org.neuralsolr.search.DenseQParserPlugin">
 *   <int name="maxTopK">10000</int>   <!-- larger topK is refused with HTTP 400 -->
 * </queryParser>
 * }</pre>
 */
public class DenseQParserPlugin extends MeteredQParserPlugin {
  public static final String NAME = "dense";
  static final int DEFAULT_MAX_TOP_K = 10_000;

  private int maxTopK = DEFAULT_MAX_TOP_K;
  private Counter queries;
  private Counter errors;
  private Counter receivedVectors;
  private Timer encodeTime;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    maxTopK = positiveIntArg(args, "maxTopK", maxTopK);
  }

  @Override
  protected QParser newParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new DenseQParser(qstr, localParams, params, req, this);
  }

  @Override
  protected void createMetrics(SolrMetricsContext ctx, String category, String scope) {
    queries = ctx.counter("queries", category, scope);
    errors = ctx.counter("errors", category, scope);
    receivedVectors = ctx.counter("vectorsFromCoordinator", category, scope);
    encodeTime = ctx.timer("queryEncodeTime", category, scope);
  }

  int maxTopK() {
    return maxTopK;
  }

  void countQuery(long encodeNanos) {
    queries.inc();
    encodeTime.update(encodeNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  void countReceivedVector() {
    receivedVectors.inc();
  }

  void countError() {
    errors.inc();
  }

  @Override
  public String getName() {
    return "neural.dense";
  }

  @Override
  public String getDescription() {
    return "Neural Solr {!dense}: encodes query text with a dense model and runs kNN on a DenseVectorField";
  }
}
