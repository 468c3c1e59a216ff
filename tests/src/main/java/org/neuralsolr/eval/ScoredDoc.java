package org.neuralsolr.eval;

/**
 * One retrieved document of one query: its id and the score the system gave it. The score alone
 * decides its rank (see {@link TrecOrder}); any rank a system reports is ignored, as trec_eval does.
 */
public record ScoredDoc(String docId, double score) {
  public ScoredDoc {
    TrecFormat.checkId(docId, "doc id");
    if (Double.isNaN(score)) {
      // trec_eval's comparator is not a total order with NaN: the ranking would be arbitrary
      throw new IllegalArgumentException("score of doc " + docId + " is NaN");
    }
  }
}
