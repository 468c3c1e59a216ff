package org.neuralsolr.search;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Timer;
import java.util.concurrent.TimeUnit;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;

/**
 * {@code {!sparse f=FIELD model=NAME}free text} or {@code {!sparse f=FIELD weights=...}}: ranks the
 * documents of a {@link org.neuralsolr.schema.SparseVectorFieldType} field by the dot product of
 * their stored weights with a query vector, which a sparse model of the core's {@link
 * org.neuralsolr.model.NeuralModelRegistry} encodes from the text (SPLADE, or a doc-only model's
 * token weights) or the client sends. Exact by default (block-max MaxScore returns exactly the
 * top documents); local params turn on approximations. It is an ordinary scoring query: {@code fq},
 * paging, sorting by score and distributed search work as for any other.
 *
 * <pre>{@code
 * <queryParser name="sparse" class="org.neuralsolr.search.SparseQParserPlugin"/>
 * }</pre>
 */
public class SparseQParserPlugin extends MeteredQParserPlugin {
  public static final String NAME = "sparse";

  private Counter queries;
  private Counter errors;
  private Counter clientWeights;
  private Counter receivedWeights;
  private Timer encodeTime;

  @Override
  protected QParser newParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new SparseQParser(qstr, localParams, params, req, this);
  }

  @Override
  protected void createMetrics(SolrMetricsContext ctx, String category, String scope) {
    queries = ctx.counter("queries", category, scope);
    errors = ctx.counter("errors", category, scope);
    clientWeights = ctx.counter("clientWeights", category, scope);
    receivedWeights = ctx.counter("weightsFromCoordinator", category, scope);
    encodeTime = ctx.timer("queryEncodeTime", category, scope);
  }

  void countEncodedQuery(long encodeNanos) {
    queries.inc();
    encodeTime.update(encodeNanos, TimeUnit.NANOSECONDS);
  }

  void countClientWeights() {
    queries.inc();
    clientWeights.inc();
  }

  void countReceivedWeights() {
    queries.inc();
    receivedWeights.inc();
  }

  void countError() {
    errors.inc();
  }

  @Override
  public String getName() {
    return "neural.sparse";
  }

  @Override
  public String getDescription() {
    return "Neural Solr {!sparse}: learned sparse retrieval, the dot product of query and document term weights";
  }
}
