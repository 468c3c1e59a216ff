package org.neuralsolr.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code ./neural-eval --dataset DIR --task localize [--param method=dense|maxsim|cross-encoder]
 * [--param encode=document|sentences]}: how well the neural highlighter finds the evidence inside a
 * relevant document ({@code encode}: {@code maxsim}'s {@code hl.neural.encode}).
 *
 * <p>A case is a claim of the split with a relevant abstract that has evidence sentences
 * ({@code queries.jsonl} metadata: abstract id → sentence indices; {@code sentences.jsonl}: each
 * abstract's sentences, whose join with single spaces is its text). The abstracts are indexed
 * (title, text, and the sentences as {@code sentences_ss}) through the {@code neural-colbert}
 * chain, so that {@code maxsim} has token vectors; each case asks Solr for the abstract with {@code
 * hl.method=neural}, {@code hl.fl=text}, {@code f.text.hl.neural.sentences=sentences_ss} (the
 * dataset's split) and the claim as {@code hl.neural.text}, and ranks the sentences by the
 * returned scores (ties by position). Reported: top-1 accuracy (the best sentence is evidence),
 * MRR of the first evidence sentence, and the expected value of both for a uniformly random
 * ranking. The last line printed is {@code top1=X.XXXX mrr=Y.YYYY}.
 */
final class LocalizeTask {
  private LocalizeTask() {}

  /** top-1 and MRR measured by an independent implementation on SciFact's 209 test cases. */
  static final Map<String, double[]> REFERENCE = Map.of("dense", new double[] {0.536, 0.709}, "maxsim", new double[] {0.579, 0.732});

  static final String REFERENCE_SOURCE = "independent implementation with bge-small-en-v1.5 (not published)";

  /** One claim and one abstract with evidence. */
  record Case(String query, String claim, String doc, Set<Integer> evidence) {}

  static void run(NeuralEval.Options o, Path root, PrintStream out, PrintStream err) throws Exception {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("method", "dense");
    settings.put("model", "bge-small");
    settings.put("package", "builtin:bge-small-en-v1.5");
    settings.put("encode", "document");
    for (Map.Entry<String, String> p : o.params.entrySet()) {
      if (!settings.containsKey(p.getKey())) {
        throw new IllegalArgumentException("unknown --param '" + p.getKey() + "' for --task localize; settings are " + settings.keySet());
      }
      settings.put(p.getKey(), p.getValue());
    }
    if (!"maxsim".equals(settings.get("method"))) {
      if (o.params.containsKey("encode")) {
        throw new IllegalArgumentException("--param encode is hl.neural.encode of method=maxsim, not of method=" + settings.get("method"));
      }
      settings.remove("encode");
    }
    BeirDataset dataset = BeirDataset.at(o.dataset);
    String datasetName = o.dataset.toAbsolutePath().normalize().getFileName().toString();
    List<Case> cases = cases(o.dataset, dataset.qrels(o.split).queryIds());
    Map<String, List<String>> sentences = sentences(o.dataset, cases);
    if (cases.isEmpty()) {
      throw new IllegalArgumentException("no claim of split " + o.split + " has evidence sentences in " + o.dataset + "/queries.jsonl");
    }
    err.println(cases.size() + " cases over " + sentences.size() + " abstracts");

    Files.createDirectories(root.resolve(".eval"));
    Path home = Files.createTempDirectory(root.resolve(".eval"), "localize-");
    Path reportFile = o.out != null ? o.out : root.resolve(".eval/reports/" + datasetName + "-localize-" + settings.get("method") + ".json");
    try (LocalSolr solr = LocalSolr.start(home, root.resolve("conf"), 0)) {
      SolrClient client = solr.client();
      String core = "localize";
      solr.createCore(core, Map.of("neural.dense.model", settings.get("model"), "neural.dense.package", settings.get("package")));
      index(client, core, dataset, sentences, err);

      double top1 = 0, mrr = 0, randomTop1 = 0, randomMrr = 0;
      long[] micros = new long[cases.size()];
      List<Map<String, Object>> perCase = new ArrayList<>();
      for (int c = 0; c < cases.size(); c++) {
        Case k = cases.get(c);
        long start = System.nanoTime();
        float[] scores = scores(client, core, k, settings, sentences.get(k.doc).size());
        micros[c] = (System.nanoTime() - start) / 1000;
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
          order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
        int firstEvidence = 0;
        while (!k.evidence.contains(order[firstEvidence])) {
          firstEvidence++;
        }
        top1 += firstEvidence == 0 ? 1 : 0;
        mrr += 1.0 / (firstEvidence + 1);
        randomTop1 += (double) k.evidence.size() / scores.length;
        randomMrr += randomReciprocalRank(scores.length, k.evidence.size());
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("query", k.query);
        row.put("doc", k.doc);
        row.put("sentences", scores.length);
        row.put("evidence", new TreeSet<>(k.evidence));
        row.put("rankOfFirstEvidence", firstEvidence + 1);
        perCase.add(row);
      }
      int n = cases.size();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("tool", "neural-eval");
      report.put("task", "localize");
      report.put("dataset", datasetName);
      report.put("split", o.split);
      report.put("settings", settings);
      report.put("cases", n);
      report.put("top1", round4(top1 / n));
      report.put("mrr", round4(mrr / n));
      report.put("random", Map.of("top1", round4(randomTop1 / n), "mrr", round4(randomMrr / n)));
      Arrays.sort(micros);
      report.put("highlightRequestMs", Map.of("p50", micros[n / 2] / 1000.0, "p90", micros[(int) (n * 0.9)] / 1000.0));
      report.put("perCase", perCase);
      report.put("machine", Machine.describe());
      report.put("command", "./neural-eval " + String.join(" ", o.args));
      report.put("timestamp", Instant.now().toString());
      Files.createDirectories(reportFile.toAbsolutePath().getParent());
      Files.writeString(reportFile, Utils.toJSONString(report) + "\n");
      out.println("method " + settings.get("method") + ": " + n + " cases; random ranking: top1=" + String.format(java.util.Locale.ROOT, "%.4f", randomTop1 / n)
          + " mrr=" + String.format(java.util.Locale.ROOT, "%.4f", randomMrr / n));
      out.println("report: " + reportFile);
      out.println(String.format(java.util.Locale.ROOT, "top1=%.4f mrr=%.4f", top1 / n, mrr / n));
    } finally {
      try (java.util.stream.Stream<Path> files = Files.walk(home)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  /**
   * The expected reciprocal rank of the first of {@code m} evidence sentences among {@code n} in a
   * uniformly random order: the first evidence sits at rank r with probability C(n−r, m−1) / C(n, m).
   */
  static double randomReciprocalRank(int n, int m) {
    double expected = 0;
    for (int r = 1; r <= n - m + 1; r++) {
      expected += Math.exp(logChoose(n - r, m - 1) - logChoose(n, m)) / r;
    }
    return expected;
  }

  private static double logChoose(int n, int k) {
    double s = 0;
    for (int i = 1; i <= k; i++) {
      s += Math.log(n - k + i) - Math.log(i);
    }
    return s;
  }

  /** Claims of the split with their relevant abstracts that have evidence sentences, in file order. */
  static List<Case> cases(Path dir, Set<String> split) throws IOException {
    List<Case> cases = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(dir.resolve("queries.jsonl"), StandardCharsets.UTF_8)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.isBlank()) {
          continue;
        }
        Map<?, ?> q = (Map<?, ?>) Utils.fromJSONString(line);
        String id = String.valueOf(q.get("_id"));
        if (!split.contains(id) || !(q.get("metadata") instanceof Map<?, ?> metadata)) {
          continue;
        }
        for (Map.Entry<?, ?> doc : metadata.entrySet()) {
          Set<Integer> evidence = new TreeSet<>();
          for (Object e : (List<?>) doc.getValue()) {
            for (Object s : (List<?>) ((Map<?, ?>) e).get("sentences")) {
              evidence.add(((Number) s).intValue());
            }
          }
          if (!evidence.isEmpty()) {
            cases.add(new Case(id, (String) q.get("text"), String.valueOf(doc.getKey()), evidence));
          }
        }
      }
    }
    return cases;
  }

  /** The sentence lists of the cases' abstracts ({@code sentences.jsonl}). */
  private static Map<String, List<String>> sentences(Path dir, List<Case> cases) throws IOException {
    Set<String> wanted = new java.util.HashSet<>();
    cases.forEach(c -> wanted.add(c.doc));
    Map<String, List<String>> out = new HashMap<>();
    try (BufferedReader r = Files.newBufferedReader(dir.resolve("sentences.jsonl"), StandardCharsets.UTF_8)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.isBlank()) {
          continue;
        }
        Map<?, ?> d = (Map<?, ?>) Utils.fromJSONString(line);
        String id = String.valueOf(d.get("_id"));
        if (wanted.contains(id)) {
          List<String> s = new ArrayList<>();
          for (Object o : (List<?>) d.get("sentences")) {
            s.add((String) o);
          }
          out.put(id, s);
        }
      }
    }
    for (String id : wanted) {
      if (!out.containsKey(id)) {
        throw new IllegalArgumentException(dir + "/sentences.jsonl has no sentences for abstract " + id);
      }
    }
    return out;
  }

  private static void index(SolrClient client, String core, BeirDataset dataset, Map<String, List<String>> sentences, PrintStream err)
      throws Exception {
    List<SolrInputDocument> docs = new ArrayList<>();
    try (BeirCorpusReader corpus = dataset.openCorpus()) {
      for (CorpusDocument d = corpus.next(); d != null; d = corpus.next()) {
        if (sentences.containsKey(d.id())) {
          SolrInputDocument doc = new SolrInputDocument("id", d.id(), "title", d.title(), "text", d.text());
          doc.addField("sentences_ss", sentences.get(d.id()));
          docs.add(doc);
        }
      }
    }
    long start = System.nanoTime();
    for (int from = 0; from < docs.size(); from += 32) {
      UpdateRequest add = new UpdateRequest();
      add.add(docs.subList(from, Math.min(docs.size(), from + 32)));
      add.setParam("update.chain", "neural-colbert");
      add.process(client, core);
    }
    client.commit(core);
    err.println("indexed " + docs.size() + " abstracts in " + Math.round((System.nanoTime() - start) / 1e9) + " s");
  }

  /** The highlighter's score of each of the abstract's sentences, by position. */
  @SuppressWarnings("unchecked")
  private static float[] scores(SolrClient client, String core, Case k, Map<String, String> settings, int count) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("q", "id:" + k.doc);
    p.set("fl", "id");
    p.set("hl", "true");
    p.set("hl.method", "neural");
    p.set("hl.fl", "text");
    p.set("f.text.hl.neural.sentences", "sentences_ss");
    p.set("hl.neural.method", settings.get("method"));
    if (!"maxsim".equals(settings.get("method"))) {
      p.set("hl.neural.model", settings.get("model"));
    } else {
      p.set("hl.neural.encode", settings.get("encode"));
    }
    p.set("hl.neural.text", k.claim);
    p.set("hl.neural.details", "true");
    NamedList<Object> rsp = client.request(new QueryRequest(p, SolrRequest.METHOD.POST), core);
    NamedList<Object> doc = (NamedList<Object>) ((NamedList<Object>) rsp.get("neuralHighlighting")).get(k.doc);
    List<NamedList<Object>> all = (List<NamedList<Object>>) ((NamedList<Object>) doc.get("text")).get("sentences");
    float[] scores = new float[count];
    Arrays.fill(scores, Float.NEGATIVE_INFINITY); // a listed sentence the highlighter could not place ranks last
    for (NamedList<Object> s : all) {
      scores[((Number) s.get("sentence")).intValue()] = ((Number) s.get("score")).floatValue();
    }
    return scores;
  }

  private static double round4(double v) {
    return Math.round(v * 10_000) / 10_000.0;
  }
}
