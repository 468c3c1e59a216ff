package org.neuralsolr.search;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocsCollector;
import org.apache.lucene.util.BytesRef;
import org.apache.solr.handler.component.QueryElevationComponent;
import org.apache.solr.request.SolrRequestInfo;
import org.apache.solr.search.AbstractReRankQuery;
import org.apache.solr.search.QueryCommand;

/**
 * The {@code RankQuery} of {@code {!neural_rerank}}: Solr's {@link AbstractReRankQuery} (the main
 * query's weight, wrapping and rewriting, explanations through {@code ReRankWeight}) with a {@link
 * NeuralRescorer} and a {@link NeuralRerankCollector}.
 *
 * <p>Two queries are equal when their main queries and every setting that shapes the scores (model,
 * mode, query text, operator, weight, window, mode settings) are: Solr's query result cache keys on
 * that, so paging through a re-ranked result runs the model once per result window.
 */
final class NeuralRerankQuery extends AbstractReRankQuery {
  private final NeuralRescorer rescorer;
  /** Every setting that shapes the scores, in a fixed order. */
  private final String settings;
  /** debugQuery: bypass the result cache so that explanations see this request's re-ranking. */
  private final boolean explain;

  NeuralRerankQuery(Query mainQuery, int reRankDocs, NeuralRescorer rescorer, String settings, boolean explain) {
    super(mainQuery, reRankDocs, rescorer, null, null);
    this.rescorer = rescorer;
    this.settings = settings;
    this.explain = explain;
  }

  @Override
  @SuppressWarnings("unchecked")
  public TopDocsCollector<? extends ScoreDoc> getTopDocsCollector(int len, QueryCommand cmd, IndexSearcher searcher) throws IOException {
    if (boostedPriority == null) {
      SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
      if (info != null) {
        Map<Object, Object> context = info.getReq().getContext();
        boostedPriority = (Set<BytesRef>) context.get(QueryElevationComponent.BOOSTED);
      }
    }
    return new NeuralRerankCollector(reRankDocs, len, rescorer, cmd, searcher, boostedPriority);
  }

  @Override
  protected Query rewrite(Query rewrittenMainQuery) {
    return new NeuralRerankQuery(rewrittenMainQuery, reRankDocs, rescorer, settings, explain).wrap(rewrittenMainQuery);
  }

  @Override
  public boolean getCache() {
    return !explain && super.getCache();
  }

  @Override
  public boolean equals(Object other) {
    if (!sameClassAs(other)) {
      return false;
    }
    NeuralRerankQuery o = (NeuralRerankQuery) other;
    return mainQuery.equals(o.mainQuery) && reRankDocs == o.reRankDocs && settings.equals(o.settings);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * classHash() + mainQuery.hashCode()) + settings.hashCode();
  }

  @Override
  public String toString(String field) {
    return "{!" + NeuralRerankQParserPlugin.NAME + " mainQuery='" + mainQuery.toString(field) + "' " + settings + "}";
  }
}
