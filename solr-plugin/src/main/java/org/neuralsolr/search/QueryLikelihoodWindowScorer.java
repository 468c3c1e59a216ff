package org.neuralsolr.search;

import java.io.IOException;
import org.apache.lucene.search.IndexSearcher;
import org.neuralsolr.model.PromptTemplate;
import org.neuralsolr.model.QueryLikelihood;

/** {@code mode=causal-lm}: the query likelihood of every document of the window in one model call. */
final class QueryLikelihoodWindowScorer implements WindowScorer {
  private final QueryLikelihood model;
  private final String modelName;
  private final String query;
  private final DocumentTexts texts;
  private final PromptTemplate template;
  private final QueryLikelihood.Aggregation aggregation;

  QueryLikelihoodWindowScorer(
      QueryLikelihood model,
      String modelName,
      String query,
      DocumentTexts texts,
      PromptTemplate template,
      QueryLikelihood.Aggregation aggregation) {
    this.model = model;
    this.modelName = modelName;
    this.query = query;
    this.texts = texts;
    this.template = template;
    this.aggregation = aggregation;
  }

  @Override
  public float[] score(IndexSearcher searcher, int[] docs) throws IOException {
    double[] likelihoods = model.score(query, texts.read(searcher, docs), template, aggregation);
    float[] scores = new float[likelihoods.length];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = (float) likelihoods[i];
    }
    return scores;
  }

  @Override
  public String describe() {
    return "causal LM '" + modelName + "' query log-likelihood (" + aggregation + " over query tokens) given the prompt '"
        + template.toString().replace("\n", "\\n") + "' with the document from " + texts.fields();
  }
}
