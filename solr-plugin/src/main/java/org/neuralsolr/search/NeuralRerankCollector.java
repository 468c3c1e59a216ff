package org.neuralsolr.search;

import java.io.IOException;
import java.util.Set;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.util.BytesRef;
import org.apache.solr.common.SolrException;
import org.apache.solr.search.QueryCommand;
import org.apache.solr.search.ReRankCollector;

/**
 * Solr's own {@link ReRankCollector}, so that paging inside and beyond the re-rank window, sorting,
 * elevation and {@code originalScore()} behave exactly as with {@code {!rerank}}, with one
 * difference: a failure of the model keeps its own HTTP status. {@code ReRankCollector} turns
 * every exception of its rescorer into a 400 Bad Request; a model that fails is a server error
 * (500), and an overloaded one asks to retry later (503).
 */
final class NeuralRerankCollector extends ReRankCollector {
  NeuralRerankCollector(
      int reRankDocs, int length, NeuralRescorer rescorer, QueryCommand cmd, IndexSearcher searcher, Set<BytesRef> boostedPriority)
      throws IOException {
    super(reRankDocs, length, rescorer, cmd, searcher, boostedPriority);
  }

  @Override
  public TopDocs topDocs(int start, int howMany) {
    try {
      return super.topDocs(start, howMany);
    } catch (SolrException e) {
      if (e.getCause() instanceof SolrException) {
        throw (SolrException) e.getCause();
      }
      throw e;
    }
  }
}
