package org.neuralsolr.eval;

import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

/**
 * A plain Lucene BM25 over SciFact, built the way Anserini's "flat" BEIR baseline is: title and
 * text in one field, English analysis (Porter stemming, stop words), k1 = 0.9, b = 0.4, and each
 * query as a bag of its analysed terms weighted by their counts. It exists to give the agreement
 * tests real runs; the figures are a sanity check, not a result.
 */
final class ScifactBm25 {
  private static final BM25Similarity BM25 = new BM25Similarity(0.9f, 0.4f);

  final BeirDataset dataset;
  final Qrels testQrels;
  final Map<String, String> queries;
  private final Analyzer analyzer = new EnglishAnalyzer();
  private final IndexSearcher searcher;
  final int documents;

  private ScifactBm25(BeirDataset dataset) throws IOException {
    this.dataset = dataset;
    this.testQrels = dataset.qrels("test");
    this.queries = dataset.queries();
    Directory directory = new ByteBuffersDirectory();
    IndexWriterConfig config = new IndexWriterConfig(analyzer).setSimilarity(BM25);
    try (IndexWriter writer = new IndexWriter(directory, config);
        BeirCorpusReader corpus = dataset.openCorpus()) {
      CorpusDocument doc;
      while ((doc = corpus.next()) != null) {
        Document lucene = new Document();
        lucene.add(new StoredField("id", doc.id()));
        lucene.add(new TextField("contents", doc.title() + " " + doc.text(), Field.Store.NO));
        writer.addDocument(lucene);
      }
    }
    DirectoryReader reader = DirectoryReader.open(directory);
    this.documents = reader.numDocs();
    this.searcher = new IndexSearcher(reader);
    searcher.setSimilarity(BM25);
  }

  /** The SciFact directory: {@code -Dneural.datasets} (set by the POM), else shared/ beside the checkout. */
  static ScifactBm25 open() throws IOException {
    Path datasets = Paths.get(System.getProperty("neural.datasets", "../../shared/datasets"));
    Path scifact = datasets.resolve("scifact");
    if (!Files.isDirectory(scifact)) {
      fail("SciFact not found at " + scifact.toAbsolutePath()
          + "; the agreement tests need real runs (see shared/datasets/README.md)");
    }
    return new ScifactBm25(BeirDataset.at(scifact));
  }

  /** The top {@code depth} BM25 hits of each test query, Lucene's scores as they are. */
  Run run(int depth) throws IOException {
    Run.Builder run = Run.builder();
    StoredFields stored = searcher.storedFields();
    for (String queryId : testQrels.queryIds()) {
      String text = queries.get(queryId);
      if (text == null) {
        fail("test query " + queryId + " is missing from queries.jsonl");
      }
      for (ScoreDoc hit : searcher.search(bagOfWords(text), depth).scoreDocs) {
        run.add(queryId, stored.document(hit.doc).get("id"), hit.score);
      }
    }
    return run.build();
  }

  private Query bagOfWords(String text) throws IOException {
    Map<String, Integer> counts = new LinkedHashMap<>();
    try (TokenStream tokens = analyzer.tokenStream("contents", text)) {
      CharTermAttribute term = tokens.addAttribute(CharTermAttribute.class);
      tokens.reset();
      while (tokens.incrementToken()) {
        counts.merge(term.toString(), 1, Integer::sum);
      }
      tokens.end();
    }
    BooleanQuery.Builder query = new BooleanQuery.Builder();
    counts.forEach((term, count) -> query.add(
        new BoostQuery(new TermQuery(new Term("contents", term)), count), BooleanClause.Occur.SHOULD));
    return query.build();
  }
}
