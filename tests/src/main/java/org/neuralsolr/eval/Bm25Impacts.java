package org.neuralsolr.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.util.SmallFloat;

/**
 * Each document's BM25 term weights, computed exactly as Solr's {@code bm25} pipeline scores
 * them, so that a sparse vector field holding them ranks like BM25: for term t of document d,
 *
 * <pre>
 *   w(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl))
 *   idf(t)  = ln(1 + (N - df + 0.5) / (df + 0.5))
 * </pre>
 *
 * with Lucene 9's {@code BM25Similarity} arithmetic: terms are those of Lucene's {@code
 * EnglishAnalyzer} over title and text (the schema's {@code contents} field), {@code dl} is the
 * document's token count as Lucene's norm stores it (rounded by {@code SmallFloat.intToByte4}),
 * {@code avgdl} the corpus' tokens over its documents, and the float operations are Lucene's. A
 * query is its analysed terms weighted by their counts, which is what edismax's OR of the query's
 * words sums. The sparse field then quantises each weight (relative error at most 2<sup>-9</sup>).
 */
public final class Bm25Impacts {
  private final float k1;
  private final float b;
  private final Map<String, Map<String, Integer>> termFrequencies = new LinkedHashMap<>();
  private final Map<String, Integer> lengths = new HashMap<>();
  private final Map<String, Integer> documentFrequencies = new HashMap<>();
  private final float avgdl;
  private final long documents;

  public Bm25Impacts(BeirDataset dataset, float k1, float b) throws IOException {
    this.k1 = k1;
    this.b = b;
    long tokens = 0;
    try (Analyzer analyzer = new EnglishAnalyzer();
        BeirCorpusReader corpus = dataset.openCorpus()) {
      CorpusDocument d;
      while ((d = corpus.next()) != null) {
        Map<String, Integer> tf = new LinkedHashMap<>();
        // title and text are two values of the multi-valued contents field: analysed apart
        int length = analyse(analyzer, d.title(), tf) + analyse(analyzer, d.text(), tf);
        termFrequencies.put(d.id(), tf);
        lengths.put(d.id(), length);
        tokens += length;
        for (String t : tf.keySet()) {
          documentFrequencies.merge(t, 1, Integer::sum);
        }
      }
    }
    this.documents = termFrequencies.size();
    this.avgdl = (float) (tokens / (double) documents);
  }

  private static int analyse(Analyzer analyzer, String text, Map<String, Integer> counts) throws IOException {
    int n = 0;
    try (TokenStream stream = analyzer.tokenStream("contents", text)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      while (stream.incrementToken()) {
        counts.merge(term.toString(), 1, Integer::sum);
        n++;
      }
      stream.end();
    }
    return n;
  }

  /** Documents in corpus order. */
  public Iterable<String> documentIds() {
    return termFrequencies.keySet();
  }

  /** The BM25 weight of each term of document {@code id}. */
  public Map<String, Float> documentWeights(String id) {
    Map<String, Integer> tf = termFrequencies.get(id);
    // the norm Lucene stores and decodes: the length rounded to 4 significant bits
    float dl = SmallFloat.byte4ToInt(SmallFloat.intToByte4(lengths.get(id)));
    float norm = k1 * ((1 - b) + b * dl / avgdl);
    Map<String, Float> weights = new LinkedHashMap<>(tf.size() * 2);
    tf.forEach((term, freq) -> weights.put(term, idf(term) * freq / (freq + norm)));
    return weights;
  }

  private float idf(String term) {
    long df = documentFrequencies.get(term);
    return (float) Math.log(1 + (documents - df + 0.5D) / (df + 0.5D));
  }

  /** A query's analysed terms weighted by their counts. */
  public static Map<String, Float> queryWeights(String text) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    try (Analyzer analyzer = new EnglishAnalyzer()) {
      analyse(analyzer, text, counts);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, Float> weights = new LinkedHashMap<>();
    counts.forEach((t, c) -> weights.put(t, (float) c));
    return weights;
  }
}
