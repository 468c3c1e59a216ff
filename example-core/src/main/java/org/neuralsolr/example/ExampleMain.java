package org.neuralsolr.example;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;

/**
 * The runnable example: Solr on localhost:8983 with a core built from {@code conf/}, 300 SciFact
 * abstracts indexed through the neural update processor, and query URLs that work (each one is run
 * once before it is printed). Ctrl-C stops it.
 *
 * <pre>
 * ./neural-example [--port 8983] [--home example-core/target/example-home] [--conf conf] [--model builtin:...]
 * </pre>
 */
public final class ExampleMain {
  static final String CORE = "scifact";
  static final String MODEL = "bge-small";

  private ExampleMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = parseArgs(args);
    int port = Integer.parseInt(options.getOrDefault("port", "8983"));
    Path home = Path.of(options.getOrDefault("home", "example-core/target/example-home")).toAbsolutePath();
    Path conf = Path.of(options.getOrDefault("conf", "conf")).toAbsolutePath();
    String modelPackage = options.getOrDefault("model", "builtin:bge-small-en-v1.5");

    LocalSolr solr = LocalSolr.start(home, conf, port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        solr.close();
      } catch (Exception e) {
        // stopping anyway
      }
    }, "neural-example-shutdown"));

    if (!solr.hasCore(CORE)) {
      solr.createCore(CORE, Map.of("neural.dense.model", MODEL, "neural.dense.package", modelPackage));
      indexSample(solr);
    }
    long docs = solr.client().query(CORE, new SolrQuery("*:*").setRows(0)).getResults().getNumFound();
    String base = "http://localhost:" + solr.port() + "/solr/" + CORE;
    System.out.println();
    System.out.println("Admin page (models, fields, playground): " + base + "/neural");
    System.out.println("Neural Solr is running: " + base + " (" + docs + " SciFact abstracts; Ctrl-C stops it)");
    System.out.println();
    printQuery(solr, base, "Dense retrieval with " + MODEL + ":", query(
        "q", "{!dense f=vector model=" + MODEL + " topK=10}A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "fl", "id,title,score"));
    printQuery(solr, base, "Dense retrieval, pre-filtered by a keyword filter (fq):", query(
        "q", "{!dense f=vector model=" + MODEL + " topK=10}how do cancer cells evade the immune system?",
        "fq", "contents:tumor",
        "fl", "id,title,score"));
    printQuery(solr, base, "BM25 over title + text, for comparison:", query(
        "q", "A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "defType", "edismax", "qf", "contents", "fl", "id,title,score"));
    printQuery(solr, base, "BM25's top 50 re-ranked by " + MODEL + " (cosine of the stored vectors):", query(
        "q", "A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "defType", "edismax", "qf", "contents",
        "rq", "{!neural_rerank model=" + MODEL + " f=vector reRankDocs=50}",
        "rq.text", "A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "fl", "id,title,score"));
    printQuery(solr, base, "Each hit's sentence that answers the query best (neural highlighting):", query(
        "q", "{!dense f=vector model=" + MODEL + " topK=10}A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "fl", "id,title,score", "hl", "true", "hl.method", "neural", "hl.fl", "text"));
    printQuery(solr, base, "Explain a dense query (debugQuery):", query(
        "q", "{!dense f=vector model=" + MODEL + " topK=3}ADAR1 binds to Dicer to cleave pre-miRNA.",
        "fl", "id,title,score", "debugQuery", "true"));
    System.out.println("Model counters (texts encoded, batches, engine, device): " + base
        + "/admin/mbeans?stats=true&cat=OTHER&key=neuralModels&wt=json");
    System.out.println("Query parser and ingest counters: " + base
        + "/admin/mbeans?stats=true&cat=QUERYPARSER&cat=UPDATE&wt=json");
    Thread.currentThread().join();
  }

  private static void indexSample(LocalSolr solr) throws Exception {
    List<SolrInputDocument> docs = ExampleData.documents(Integer.MAX_VALUE);
    long start = System.nanoTime();
    for (int from = 0; from < docs.size(); from += 100) {
      solr.client().add(CORE, docs.subList(from, Math.min(docs.size(), from + 100)));
      int count = Math.min(docs.size(), from + 100);
      System.out.printf(Locale.ROOT, "indexed %d documents (%.1f docs/s)%n", count, count / ((System.nanoTime() - start) / 1e9));
    }
    solr.client().commit(CORE);
    System.out.printf(Locale.ROOT, "indexed %d documents through the neural update processor in %.1f s%n",
        docs.size(), (System.nanoTime() - start) / 1e9);
  }

  private static Map<String, String> query(String... kv) {
    Map<String, String> q = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      q.put(kv[i], kv[i + 1]);
    }
    return q;
  }

  /** Runs the query, then prints its URL and the top hits it returned. */
  private static void printQuery(LocalSolr solr, String base, String title, Map<String, String> params) throws Exception {
    SolrQuery q = new SolrQuery();
    params.forEach(q::set);
    QueryResponse rsp = solr.client().query(CORE, q);
    StringBuilder url = new StringBuilder(base).append("/select?");
    params.forEach((k, v) -> url.append(k).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)).append('&'));
    url.setLength(url.length() - 1);
    System.out.println(title);
    System.out.println("  " + url);
    int shown = 0;
    for (SolrDocument d : rsp.getResults()) {
      if (shown++ == 3) {
        break;
      }
      System.out.printf(Locale.ROOT, "    %-10s %.4f  %s%n", d.get("id"), (Float) d.get("score"), abbreviate(String.valueOf(d.get("title"))));
      if (rsp.getHighlighting() != null && rsp.getHighlighting().get(d.get("id")) != null) {
        for (String snippet : rsp.getHighlighting().get(d.get("id")).getOrDefault("text", List.of())) {
          System.out.println("               » " + abbreviate(snippet));
        }
      }
    }
    System.out.println();
  }

  private static String abbreviate(String s) {
    return s.length() > 90 ? s.substring(0, 87) + "..." : s;
  }

  private static Map<String, String> parseArgs(String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: neural-example [--port N] [--home DIR] [--conf DIR] [--model PACKAGE]");
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }
}
