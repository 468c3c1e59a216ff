package org.neuralsolr.search;

import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.SolrCore;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QParserPlugin;

/**
 * A query parser plugin with its own counters in Solr's metrics. Query parsers cannot be {@code
 * SolrCoreAware}, and Solr does not start their metrics itself, so the first parser created
 * registers the plugin with its core.
 */
public abstract class MeteredQParserPlugin extends QParserPlugin {
  private volatile SolrMetricsContext metricsContext;

  @Override
  public final QParser createParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    registerMetrics(req.getCore());
    return newParser(qstr, localParams, params, req);
  }

  /** The parser of one query string, as {@link #createParser}. */
  protected abstract QParser newParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req);

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
  public final void initializeMetrics(SolrMetricsContext parentContext, String scope) {
    SolrMetricsContext ctx = parentContext.getChildContext(this);
    createMetrics(ctx, getCategory().toString(), scope);
    metricsContext = ctx;
  }

  /** Creates the plugin's counters and timers in {@code ctx}. */
  protected abstract void createMetrics(SolrMetricsContext ctx, String category, String scope);

  @Override
  public SolrMetricsContext getSolrMetricsContext() {
    return metricsContext;
  }

  /** A positive integer setting of the plugin's configuration, or {@code fallback} when absent. */
  static int positiveIntArg(NamedList<?> args, String name, int fallback) {
    Object value = args == null ? null : args.get(name);
    if (value == null) {
      return fallback;
    }
    int n = Integer.parseInt(value.toString().trim());
    if (n < 1) {
      throw new IllegalArgumentException(name + " must be positive");
    }
    return n;
  }
}
