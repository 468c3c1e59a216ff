package org.neuralsolr.search;

import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QParserPlugin;

/**
 * {@code {!fuse method=rrf|linear queries=P1,P2,... k=60 depth=100 norm=minmax weights=w1,w2,...}}:
 * fuses the results of two or more sub-queries of any kind, each held in the request param the
 * {@code queries} list names (e.g. {@code lex={!edismax qf=title}text}, {@code vec={!dense
 * f=vector model=bge-small topK=100}text}).
 *
 * <ul>
 *   <li>{@code rrf} (default): Σ wᵢ / (k + rankᵢ) over each sub-query's top {@code depth}, rank
 *       from 1 ({@code k} defaults to 60, weights to 1);
 *   <li>{@code linear}: Σ wᵢ · normᵢ(scoreᵢ) over each sub-query's top {@code depth}, {@code
 *       norm=minmax} (default), {@code zscore} or {@code none}.
 * </ul>
 *
 * A document outside a sub-query's top {@code depth} gets nothing from it. Each sub-query is ranked
 * by score, ties by uniqueKey, and so is the fused list unless a {@code sort} is given. The
 * request's {@code fq} apply to every sub-query. In SolrCloud the coordinator runs each sub-query as
 * a distributed search, so ranks and normalisation are over the whole collection, and hands the
 * ranked lists to the shards (through the model registry component in {@code last-components});
 * the shards score exactly the fused documents, so paging, field lists and {@code debugQuery}
 * (each hit's rank, score, normalised value and contribution per sub-query) work as for any query.
 *
 * <pre>{@code
 * <queryParser name="fuse" class="org.neuralsolr.search.FusionQParserPlugin">
 *   <int name="maxDepth">1000</int>   <!-- a larger depth is refused with HTTP 400 -->
 * </queryParser>
 * }</pre>
 */
public class FusionQParserPlugin extends QParserPlugin {
  public static final String NAME = "fuse";
  static final int DEFAULT_MAX_DEPTH = 1000;

  private int maxDepth = DEFAULT_MAX_DEPTH;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    maxDepth = MeteredQParserPlugin.positiveIntArg(args, "maxDepth", maxDepth);
  }

  @Override
  public QParser createParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new FusionQParser(qstr, localParams, params, req, this);
  }

  int maxDepth() {
    return maxDepth;
  }
}
