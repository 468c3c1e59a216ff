package org.neuralsolr.search;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Timer;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.SolrCore;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QParserPlugin;

/**
 * {@code {!dense f=FIELD model=NAME topK=K}free text}: encodes the text with a dense model of the
 * core's {@link org.neuralsolr.model.NeuralModelRegistry} and runs Lucene's kNN search on a {@code
 * DenseVectorField}. Filters ({@code fq}) are applied as kNN pre-filters, exactly as Solr's own
 * {@code {!knn}} does (including its {@code preFilter}, {@code includeTags} and {@code excludeTags}
 * local params).
 *
 * <pre>{@code
 * <queryParser name="dense" class="org.neuralsolr.search.DenseQParserPlugin">
 *   <int name="maxTopK">10000</int>   <!-- larger topK is refused with HTTP 400 -->
 * </queryParser>
 * }</pre>
 */
public class DenseQParserPlugin extends QParserPlugin {
  public static final String NAME = "dense";
  static final int DEFAULT_MAX_TOP_K = 10_000;

  private int maxTopK = DEFAULT_MAX_TOP_K;
  private volatile SolrMetricsContext metricsContext;
  private Counter queries;
  private Counter errors;
  private Counter receivedVectors;
  private Timer encodeTime;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    Object max = args == null ? null : args.get("maxTopK");
    if (max != null) {
      maxTopK = Integer.parseInt(max.toString().trim());
      if (maxTopK < 1) {
        throw new IllegalArgumentException("maxTopK must be positive");
      }
    }
  }

  @Override
  public QParser createParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    registerMetrics(req.getCore());
    return new DenseQParser(qstr, localParams, params, req, this);
  }

  /**
   * Query parsers cannot be {@code SolrCoreAware}, and Solr does not start their metrics itself,
   * so the first parser created registers this plugin's metrics with its core.
   */
  private void registerMetrics(SolrCore core) {
    if (metricsContext == null) {
      synchronized (this) {
        if (metricsContext == null) {
          core.registerInfoBean(getName(), this);
        }
      }
    }
  }

  @Override
  public void initializeMetrics(SolrMetricsContext parentContext, String scope) {
    SolrMetricsContext ctx = parentContext.getChildContext(this);
    queries = ctx.counter("queries", getCategory().toString(), scope);
    errors = ctx.counter("errors", getCategory().toString(), scope);
    receivedVectors = ctx.counter("vectorsFromCoordinator", getCategory().toString(), scope);
    encodeTime = ctx.timer("queryEncodeTime", getCategory().toString(), scope);
    metricsContext = ctx;
  }

  @Override
  public SolrMetricsContext getSolrMetricsContext() {
    return metricsContext;
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
