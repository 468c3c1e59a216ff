package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.RandomizedContext;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * Seeded HTTP fuzzing of one real core with dense, sparse and ColBERT fields: {@link BadRequests}
 * generates invalid queries of every neural parser, neural highlighting requests and updates; each
 * must be answered with a 4xx carrying a message (never a 5xx, never a hang), and afterwards the
 * index holds the same documents with the same vectors. The seed is the test seed (printed; rerun
 * with -Dtests.seed=...); -Dtests.fuzz.requests changes the number of requests (10,000).
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class HttpFuzzTest extends SolrTestCase {
  private static final String CORE = "fuzz";
  private static final int REQUESTS = Integer.getInteger("tests.fuzz.requests", 10_000);
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    Path home = createTempDir();
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
    docs = SampleDocs.first(40);
    String[] terms = {"cells", "stem", "protein", "cancer", "gene"};
    for (int i = 0; i < docs.size(); i++) {
      docs.get(i).addField("sparse", terms[i % terms.length] + ":" + (1 + i % 3) + "," + terms[(i + 2) % terms.length] + ":0.5");
    }
    UpdateRequest add = new UpdateRequest();
    add.add(docs);
    add.setParam("update.chain", "neural-colbert");
    add.process(solr.client(), CORE);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
    docs = null;
  }

  public void testBadRequestsAre4xxWithAMessageAndChangeNothing() throws Exception {
    String seed = RandomizedContext.current().getRunnerSeedAsString();
    String before = indexChecksum();
    assertEquals(docs.size(), numFound("*:*"));

    BadRequests gen = new BadRequests(new Random(random().nextLong()), 10000, 1000, 1000, 1000, (String) docs.get(0).getFieldValue("id"));
    List<BadRequests.Bad> requests = new ArrayList<>(REQUESTS);
    for (int i = 0; i < REQUESTS; i++) {
      requests.add(gen.next());
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    String base = solr.baseUrl() + "/" + CORE;
    Map<String, AtomicInteger> statuses = new ConcurrentHashMap<>();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicInteger failed = new AtomicInteger();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<?>> sent = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        int thread = t;
        sent.add(
            pool.submit(
                () -> {
                  for (int i = thread; i < requests.size(); i += 3) {
                    BadRequests.Bad bad = requests.get(i);
                    String outcome = send(http, base, bad);
                    String kindStatus = bad.kind() + " " + outcome.substring(0, outcome.indexOf(' '));
                    statuses.computeIfAbsent(kindStatus, k -> new AtomicInteger()).incrementAndGet();
                    if (!outcome.startsWith("4") || outcome.length() < 5) {
                      System.out.println("FUZZFAIL #" + i + " " + bad.describe().replace('\n', ' ') + " -> " + BadRequests.clip(outcome).replace('\n', ' '));
                      if (failed.incrementAndGet() <= 25) {
                        failures.add("#" + i + " " + bad.describe() + "\n    -> " + BadRequests.clip(outcome));
                      }
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : sent) {
        f.get(10, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    System.out.println(
        "HttpFuzzTest seed=" + seed + " requests=" + REQUESTS + " millis=" + millis + " failed=" + failed.get() + " by kind and status: " + new TreeMap<>(statuses));

    solr.client().commit(CORE);
    String after = indexChecksum();
    StringBuilder report = new StringBuilder();
    for (String f : failures) {
      report.append('\n').append(f);
    }
    assertEquals("seed " + seed + ": " + failed.get() + " requests not answered with a 4xx and a message:" + report, 0, failed.get());
    assertEquals(
        "seed " + seed + ": documents of refused requests were indexed: " + TolerantBatch.indexed(solr.client(), CORE, "id:" + BadRequests.ID_PREFIX + "*"),
        0,
        numFound("id:" + BadRequests.ID_PREFIX + "*"));
    assertEquals("seed " + seed + ": the stored vectors changed", before, after);
  }

  public void testRealTimeGetOfAColbertDocument() throws Exception {
    String id = (String) docs.get(1).getFieldValue("id");
    HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    for (String fl : new String[] {"", "&fl=*", "&fl=id,colbert"}) {
      HttpResponse<String> rsp =
          http.send(HttpRequest.newBuilder(URI.create(solr.baseUrl() + "/" + CORE + "/get?wt=json&id=" + id + fl)).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(rsp.body(), 200, rsp.statusCode());
      assertTrue(rsp.body(), rsp.body().contains("\"id\":\"" + id + "\""));
    }
  }

  /** A candidate count far beyond the index sizes no heap: the query runs (it used to allocate it). */
  public void testHugeSparseCandidatesAreBoundedByTheIndex() throws Exception {
    for (String gen : new String[] {"candidateTerms=1", "candidateTerms=1 candidatePostings=1000"}) {
      QueryResponse rsp =
          solr.client().query(CORE, new SolrQuery("{!sparse f=sparse weights='cells:1,stem:2' approx=true " + gen + " candidates=2000000000}").setFields("id", "score"));
      assertTrue(rsp.getResults().getNumFound() > 0);
    }
  }

  /** "STATUS message" for the response to {@code bad}; the message is the error's msg, or the body. */
  private static String send(HttpClient http, String base, BadRequests.Bad bad) {
    StringBuilder query = new StringBuilder();
    bad.params().forEach((k, v) -> query.append(query.length() == 0 ? "" : "&").append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    HttpRequest.Builder req;
    if (bad.body() != null) {
      req = HttpRequest.newBuilder(URI.create(base + bad.path() + "?" + query)).header("Content-Type", bad.contentType()).POST(HttpRequest.BodyPublishers.ofByteArray(bad.body()));
    } else if (query.length() < 4000) {
      req = HttpRequest.newBuilder(URI.create(base + bad.path() + "?" + query)).GET();
    } else {
      req = HttpRequest.newBuilder(URI.create(base + bad.path()))
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(query.toString()));
    }
    try {
      HttpResponse<String> rsp = http.send(req.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
      return rsp.statusCode() + " " + message(rsp.body());
    } catch (java.net.http.HttpTimeoutException e) {
      return "hang (no answer in " + TIMEOUT + ")";
    } catch (Exception e) {
      return "failed " + e;
    }
  }

  private static String message(String body) {
    try {
      Object json = Utils.fromJSONString(body);
      if (json instanceof Map<?, ?> m && m.get("error") instanceof Map<?, ?> error && error.get("msg") != null) {
        return error.get("msg").toString().strip();
      }
    } catch (RuntimeException notJson) {
      // Jetty's own error pages
    }
    return body.strip();
  }

  private static long numFound(String q) throws Exception {
    return solr.client().query(CORE, new SolrQuery(q).setRows(0)).getResults().getNumFound();
  }

  /**
   * The documents and their vectors as seen by search: every document's score under a dense, an
   * exhaustive ColBERT and a sparse query, so that any changed, added or lost vector changes it.
   */
  private static String indexChecksum() throws Exception {
    StringBuilder sb = new StringBuilder();
    for (String q :
        new String[] {
          "*:*",
          "{!dense f=vector model=bge-small topK=1000}stem cells",
          "{!colbert f=colbert model=bge-small topK=1000 plaid=false}stem cells",
          "{!sparse f=sparse weights='cells:1,stem:2,protein:3,cancer:4,gene:5'}"
        }) {
      QueryResponse rsp = solr.client().query(CORE, new SolrQuery(q).setFields("id", "score").setRows(1000).setSort("id", SolrQuery.ORDER.asc));
      sb.append(q).append(" numFound=").append(rsp.getResults().getNumFound()).append('\n');
      for (SolrDocument d : rsp.getResults()) {
        sb.append(d.get("id")).append(':').append(d.get("score")).append(' ');
      }
      sb.append('\n');
    }
    return sb.toString();
  }
}
