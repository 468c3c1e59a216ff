package org.neuralsolr.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryRescorer;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.util.QueryBuilder;
import org.neuralsolr.codecs.multivector.CodebookSource;
import org.neuralsolr.codecs.multivector.MaxSimQuery;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.neuralsolr.codecs.multivector.MultiVectorField;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.PlaidQuery;
import org.neuralsolr.eval.BeirDataset;

/**
 * {@code ./neural-bench colbert}: the late-interaction query paths against each other, in one run,
 * on real vectors: bge-small-en-v1.5 (fp32, ONNX Runtime) token states of SciFact abstracts and
 * claims, without [CLS]/[SEP], L2-normalised. Lucene only (no HTTP, no query encoding in the
 * timings), so the ratios are those of the codec and queries. Indexes: the same documents with
 * nbits 0 (float32), 1 and 2, several flushes sharing one codebook ({@link
 * CodebookSource#reuseFirstTrained()}), merged to one segment.
 */
final class ColbertBench {
  static final int DOCS = 250;
  static final int QUERIES = 60;
  static final int WARMUP = 10;
  static final int REPETITIONS = 3;
  private static final String FIELD = "colbert";

  private ColbertBench() {}

  static Map<String, Object> run(Path data) throws Exception {
    NeuralBench.header(
        "colbert",
        "PLAID / exhaustive MaxSim, compressed / float32 MaxSim, MaxSim re-rank of 100 / BM25 first stage",
        DOCS + " SciFact abstracts (title + text, 512 tokens at most) and the first " + QUERIES
            + " SciFact claims, bge-small-en-v1.5 fp32 token states; every query timed alone, Lucene in-process, 1 thread",
        WARMUP + " claims per path",
        REPETITIONS + " passes over the claims, paths interleaved per claim; times summed");
    List<String> texts = NeuralBench.documents(data, DOCS);
    List<String> claims = new ArrayList<>(BeirDataset.at(data).queries().values()).subList(0, QUERIES);
    List<float[][]> docs;
    List<float[][]> queries;
    try (RawEncoder raw = new RawEncoder("bge-small-en-v1.5", 512)) {
      docs = raw.tokenStates(texts, 16);
      queries = raw.tokenStates(claims, 32);
    }
    Map<String, Object> r = new LinkedHashMap<>();
    Directory f32 = index(texts, docs, 0);
    Directory b2 = index(texts, docs, 2);
    Directory b1 = index(texts, docs, 1);
    // with the codebook (.mvc: 2·K·d bytes, bfloat16, once per segment) and without it
    r.put("bytesPerTokenVector_nbits2", bytesPerToken(b2, true));
    r.put("bytesPerTokenVector_nbits2_withoutCodebook", bytesPerToken(b2, false));
    r.put("bytesPerTokenVector_nbits1", bytesPerToken(b1, true));
    r.put("bytesPerTokenVector_nbits1_withoutCodebook", bytesPerToken(b1, false));
    r.put("bytesPerTokenVector_float32", bytesPerToken(f32, true));
    try (DirectoryReader rf = DirectoryReader.open(f32);
        DirectoryReader r2 = DirectoryReader.open(b2);
        DirectoryReader r1 = DirectoryReader.open(b1)) {
      IndexSearcher sf = new IndexSearcher(rf);
      IndexSearcher s2 = new IndexSearcher(r2);
      IndexSearcher s1 = new IndexSearcher(r1);
      sf.setQueryCache(null);
      s2.setQueryCache(null);
      s1.setQueryCache(null);
      QueryBuilder bm25 = new QueryBuilder(new StandardAnalyzer());
      String[] paths = {"plaid2", "exhaustive2", "exhaustive1", "exhaustiveF32", "bm25", "rerank100"};
      long[] nanos = new long[paths.length];
      double[] overlap = new double[4]; // plaid2, exhaustive2, exhaustive1 against their reference
      for (int pass = -1; pass < REPETITIONS; pass++) {
        List<float[][]> run = pass < 0 ? queries.subList(0, WARMUP) : queries;
        for (int q = 0; q < run.size(); q++) {
          float[][] qv = run.get(q);
          long[] t = new long[paths.length];
          long t0 = System.nanoTime();
          TopDocs plaid = s2.search(new PlaidQuery(FIELD, qv, 10), 10);
          t[0] = System.nanoTime() - t0;
          t0 = System.nanoTime();
          TopDocs ex2 = s2.search(new MaxSimQuery(FIELD, qv), 10);
          t[1] = System.nanoTime() - t0;
          t0 = System.nanoTime();
          TopDocs ex1 = s1.search(new MaxSimQuery(FIELD, qv), 10);
          t[2] = System.nanoTime() - t0;
          t0 = System.nanoTime();
          TopDocs exf = sf.search(new MaxSimQuery(FIELD, qv), 10);
          t[3] = System.nanoTime() - t0;
          Query text = bm25.createBooleanQuery("text", claims.get(q));
          t0 = System.nanoTime();
          TopDocs first = s2.search(text, 100);
          t[4] = System.nanoTime() - t0;
          t0 = System.nanoTime();
          QueryRescorer rescorer =
              new QueryRescorer(new MaxSimQuery(FIELD, qv)) {
                @Override
                protected float combine(float firstPassScore, boolean secondPassMatches, float secondPassScore) {
                  return secondPassMatches ? secondPassScore : 0; // replace, as reRankOperator=replace
                }
              };
          rescorer.rescore(s2, first, 10);
          t[5] = System.nanoTime() - t0;
          if (pass >= 0) {
            for (int i = 0; i < paths.length; i++) {
              nanos[i] += t[i];
            }
            if (pass == 0) {
              overlap[0] += overlap(plaid, ex2);
              overlap[1] += overlap(ex2, exf);
              overlap[2] += overlap(ex1, exf);
              overlap[3] += overlap(plaid, exf);
            }
          }
        }
      }
      int n = QUERIES * REPETITIONS;
      for (int i = 0; i < paths.length; i++) {
        r.put("msPerQuery_" + paths[i], round(nanos[i] / 1e6 / n));
      }
      r.put("ratioExhaustiveOverPlaid_nbits2", round((double) nanos[1] / nanos[0]));
      r.put("top10Overlap_plaidVsExhaustive_nbits2", round(overlap[0] / QUERIES));
      r.put("top10Overlap_plaidNbits2VsExhaustiveFloat32", round(overlap[3] / QUERIES));
      r.put("ratioNbits2OverFloat32_exhaustiveTime", round((double) nanos[1] / nanos[3]));
      r.put("top10Overlap_nbits2VsFloat32", round(overlap[1] / QUERIES));
      r.put("ratioNbits1OverFloat32_exhaustiveTime", round((double) nanos[2] / nanos[3]));
      r.put("top10Overlap_nbits1VsFloat32", round(overlap[2] / QUERIES));
      r.put("ratioRerank100OverBm25FirstStage", round((double) nanos[5] / nanos[4]));
      r.put("ratioRerank100OverPlaid", round((double) nanos[5] / nanos[0]));
    }
    NeuralBench.print(r);
    return r;
  }

  /** Four flushes into one index sharing the first flush's codebook, then one merged segment. */
  static Directory index(List<String> texts, List<float[][]> docs, int nbits) throws IOException {
    Directory dir = new ByteBuffersDirectory();
    DocValuesFormat format = new MultiVectorDocValuesFormat(CodebookSource.reuseFirstTrained());
    Codec codec =
        new Lucene912Codec() {
          @Override
          public DocValuesFormat getDocValuesFormatForField(String field) {
            return FIELD.equals(field) ? format : super.getDocValuesFormatForField(field);
          }
        };
    var type = MultiVectorField.createFieldType(384, nbits, VectorSimilarityFunction.DOT_PRODUCT);
    try (IndexWriter w = new IndexWriter(dir, new IndexWriterConfig(new StandardAnalyzer()).setCodec(codec))) {
      for (int i = 0; i < docs.size(); i++) {
        Document d = new Document();
        d.add(new TextField("text", texts.get(i), Field.Store.NO));
        d.add(new MultiVectorField(FIELD, docs.get(i), type));
        w.addDocument(d);
        if ((i + 1) % (docs.size() / 4) == 0) {
          w.commit();
        }
      }
      w.forceMerge(1);
    }
    return dir;
  }

  private static double bytesPerToken(Directory dir, boolean withCodebook) throws IOException {
    long bytes = 0;
    for (String file : dir.listAll()) {
      if (file.endsWith(".mvd") || (withCodebook && file.endsWith(".mvc")) || file.endsWith(".mvm")) {
        bytes += dir.fileLength(file);
      }
    }
    long tokens = 0;
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      for (var leaf : reader.leaves()) {
        MultiVectorValues v = MultiVectorValues.get(leaf.reader(), FIELD);
        tokens += v == null ? 0 : v.totalTokenCount();
      }
    }
    return round((double) bytes / tokens);
  }

  static double overlap(TopDocs a, TopDocs b) {
    Set<Integer> x = new HashSet<>();
    for (ScoreDoc d : a.scoreDocs) {
      x.add(d.doc);
    }
    int same = 0;
    for (ScoreDoc d : b.scoreDocs) {
      same += x.contains(d.doc) ? 1 : 0;
    }
    return (double) same / Math.max(1, b.scoreDocs.length);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
