package org.neuralsolr.search;

import java.io.IOException;
import org.apache.lucene.search.IndexSearcher;

/** {@code mode=multivector}: MaxSim of the query's token vectors against each document's. */
final class MaxSimWindowScorer implements WindowScorer {
  /** Encodes the query's token vectors; called once per re-ranking. */
  interface QueryTokenVectors {
    TokenVectors encode();

    String describe();
  }

  private final QueryTokenVectors query;
  private final DocumentTokenVectors documents;

  MaxSimWindowScorer(QueryTokenVectors query, DocumentTokenVectors documents) {
    this.query = query;
    this.documents = documents;
  }

  @Override
  public float[] score(IndexSearcher searcher, int[] docs) throws IOException {
    TokenVectors q = query.encode();
    TokenVectors[] d = documents.read(searcher, docs);
    float[] scores = new float[docs.length];
    for (int i = 0; i < docs.length; i++) {
      scores[i] = TokenVectors.maxSim(q, d[i]);
    }
    return scores;
  }

  @Override
  public String describe() {
    return "MaxSim (sum over query tokens of the best dot product with a document token, unit vectors) of " + query.describe()
        + " against " + documents.describe();
  }
}
