package org.neuralsolr.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.util.IOUtils;
import org.neuralsolr.codecs.sparse.bench.SparseBench;
import org.neuralsolr.eval.BeirDataset;
import org.neuralsolr.eval.Bm25Impacts;
import org.neuralsolr.eval.ProxyVectors;
import org.neuralsolr.eval.Qrels;

/**
 * {@code sparse-bm25} and {@code sparse-proxy}: the codec benchmark ({@code SparseBench} of
 * lucene-codecs) on the vectors the evaluation pipelines of the same names index, so that the
 * figures describe the indexes whose quality {@code ./neural-eval} reports.
 *
 * <p>Workload: SciFact's 5,183 documents; the 300 test queries. {@code sparse-bm25}: BM25 weights
 * (k1 0.9, b 0.4) and query term counts. {@code sparse-proxy}: the bge-small-en-v1.5 projection's
 * 128 heaviest terms per document and 32 per query, read from the cache the evaluation tool writes
 * (or encoded now, most of an hour of CPU). Both indexes are force-merged to one segment. Warm-up:
 * one round of every query. Repetitions: 5 rounds, methods interleaved per query; time is the
 * searching thread's CPU time.
 */
final class SparseBenchmarks {
  static final int K = 10;
  static final int ROUNDS = 5;

  private SparseBenchmarks() {}

  static Map<String, Object> run(String name, Path root, Path data) throws Exception {
    BeirDataset dataset = BeirDataset.at(data);
    Qrels qrels = dataset.qrels("test");
    Map<String, String> queries = new LinkedHashMap<>();
    dataset.queries().forEach((id, text) -> {
      if (qrels.queryIds().contains(id)) {
        queries.put(id, text);
      }
    });
    List<Map<String, Float>> docVectors = new ArrayList<>();
    List<Map<String, Float>> queryVectors = new ArrayList<>();
    String workload;
    if (name.equals("sparse-bm25")) {
      Bm25Impacts bm25 = new Bm25Impacts(dataset, 0.9f, 0.4f);
      for (String id : bm25.documentIds()) {
        docVectors.add(bm25.documentWeights(id));
      }
      for (String text : queries.values()) {
        queryVectors.add(Bm25Impacts.queryWeights(text));
      }
      workload = "SciFact BM25 weights (k1=0.9, b=0.4) of " + docVectors.size() + " documents, term counts of " + queries.size() + " test queries";
    } else {
      docVectors.addAll(ProxyVectors.documents(root, dataset, 128).values());
      queryVectors.addAll(ProxyVectors.queries(root, queries, 32).values());
      workload = "SciFact through the bge-small-en-v1.5 projection: " + docVectors.size() + " documents (128 terms), "
          + queries.size() + " test queries (32 terms)";
    }
    System.out.println();
    System.out.println("== " + name + ": NeuralSparse bytes per posting, exact SparseQuery vs FeatureField, approximate vs exact");
    System.out.println("   workload: " + workload);
    System.out.println("   warm-up: one round of every query; repetitions: " + ROUNDS + " rounds, methods interleaved");
    Path dir = Files.createTempDirectory(root.resolve(".eval"), "sparse-bench");
    try {
      Map<String, Object> results = new LinkedHashMap<>();
      results.put("workload", workload);
      results.putAll(SparseBench.run(docVectors, queryVectors, K, ROUNDS, dir, System.out));
      return results;
    } finally {
      IOUtils.rm(dir);
    }
  }
}
