package org.neuralsolr.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.search.IndexSearcher;
import org.neuralsolr.model.CrossEncoder;

/** {@code mode=cross-encoder}: every passage of every document of the window in one model call. */
final class CrossEncoderWindowScorer implements WindowScorer {
  private final CrossEncoder encoder;
  private final String modelName;
  private final String query;
  private final DocumentTexts texts;
  private final Passages passages;

  CrossEncoderWindowScorer(CrossEncoder encoder, String modelName, String query, DocumentTexts texts, Passages passages) {
    this.encoder = encoder;
    this.modelName = modelName;
    this.query = query;
    this.texts = texts;
    this.passages = passages;
  }

  @Override
  public float[] score(IndexSearcher searcher, int[] docs) throws IOException {
    List<String> documentTexts = texts.read(searcher, docs);
    List<String> all = new ArrayList<>();
    int[] firstPassage = new int[docs.length + 1];
    for (int i = 0; i < docs.length; i++) {
      firstPassage[i] = all.size();
      all.addAll(passages.split(documentTexts.get(i)));
    }
    firstPassage[docs.length] = all.size();
    float[] pairScores = encoder.score(query, all);
    float[] scores = new float[docs.length];
    for (int i = 0; i < docs.length; i++) {
      float best = Float.NEGATIVE_INFINITY;
      for (int p = firstPassage[i]; p < firstPassage[i + 1]; p++) {
        best = Math.max(best, pairScores[p]);
      }
      scores[i] = best;
    }
    return scores;
  }

  @Override
  public String describe() {
    return "cross-encoder '" + modelName + "' score of the " + passages + " of " + texts.fields();
  }
}
