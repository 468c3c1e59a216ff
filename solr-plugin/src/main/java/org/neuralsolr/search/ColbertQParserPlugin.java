package org.neuralsolr.search;

import com.codahale.metrics.Counter;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;

/**
 * {@code {!colbert f=FIELD model=NAME topK=K}free text}: late interaction (ColBERT MaxSim) over a
 * {@link org.neuralsolr.schema.MultiVectorField}. The text is encoded into token vectors by the
 * model (a {@code multivector} model, or a {@code dense} model's token states), once per
 * distributed request: the coordinator hands the vectors to the shards.
 *
 * <p>As a first stage it runs PLAID ({@code PlaidQuery}): centroid postings of the probed
 * centroids give candidates, centroid-only scores prune them, and the survivors are decompressed
 * and scored by exact MaxSim; the query matches the top {@code topK} documents. {@code
 * plaid=false} scores every document exactly instead ({@code MaxSimQuery}, which matches every
 * document with vectors), which is also what a re-ranking query wants:
 *
 * <pre>{@code
 * q={!colbert f=colbert model=bge-small topK=10}what do ribosomes do
 * q=ribosome function&rq={!rerank reRankQuery=$cq reRankDocs=100 reRankWeight=1}
 *   &cq={!colbert f=colbert model=bge-small plaid=false}what do ribosomes do
 * }</pre>
 *
 * <p>Local params (PLAID knobs with their defaults): {@code topK} (10, at most {@code maxTopK});
 * {@code plaid} (true); {@code nprobe} (8) centroids probed per query vector; {@code candidateCap}
 * (max(1024, 4·ndocs)) most candidates taken from the postings; {@code ndocs} (max(256, 8·topK))
 * candidates kept by centroid-only scoring, of which a quarter (at least topK) are scored exactly;
 * {@code threshold} (none) centroid-score cut-off of centroid-only scoring. Filters
 * ({@code fq}) are pre-filters of PLAID, as for Solr's {@code {!knn}} ({@code preFilter}, {@code
 * includeTags}, {@code excludeTags} work the same way). Scores are {@code 1 + MaxSim/(number of
 * query vectors)}-style positive transforms of MaxSim ({@code MaxSimScorer.toLuceneScore}); {@code
 * debugQuery} shows the MaxSim itself.
 *
 * <pre>{@code
 * <queryParser name="colbert" class="org.neuralsolr.search.ColbertQParserPlugin">
 *   <int name="maxTopK">1000</int>
 * </queryParser>
 * }</pre>
 */
public class ColbertQParserPlugin extends MeteredQParserPlugin {
  public static final String NAME = "colbert";
  static final int DEFAULT_MAX_TOP_K = 1000;

  private int maxTopK = DEFAULT_MAX_TOP_K;
  private Counter queries;
  private Counter errors;
  private Counter receivedVectors;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    maxTopK = positiveIntArg(args, "maxTopK", maxTopK);
  }

  @Override
  protected QParser newParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new ColbertQParser(qstr, localParams, params, req, this);
  }

  @Override
  protected void createMetrics(SolrMetricsContext ctx, String category, String scope) {
    queries = ctx.counter("queries", category, scope);
    errors = ctx.counter("errors", category, scope);
    receivedVectors = ctx.counter("vectorsFromCoordinator", category, scope);
  }

  int maxTopK() {
    return maxTopK;
  }

  void countQuery() {
    queries.inc();
  }

  void countReceivedVectors() {
    receivedVectors.inc();
  }

  void countError() {
    errors.inc();
  }

  @Override
  public String getName() {
    return "neural.colbert";
  }

  @Override
  public String getDescription() {
    return "Neural Solr {!colbert}: ColBERT late interaction (PLAID or exhaustive MaxSim) over a MultiVectorField";
  }
}
