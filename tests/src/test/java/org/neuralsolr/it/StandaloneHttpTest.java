package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.BaseHttpSolrClient;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrInputDocument;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * A real Solr over HTTP with the configset from {@code conf/}: ingest through the update API,
 * {@code {!dense}} queries, HTTP 400 on bad input, and the plugin's info beans with their counters.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class StandaloneHttpTest extends SolrTestCase {
  private static final String CORE = "sample";
  /** A core whose neural fields require source text: {@code neural.requireText=true}. */
  private static final String STRICT_CORE = "strict";
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    Path home = createTempDir();
    solr = LocalSolr.start(home, NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
    solr.createCore(STRICT_CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8", "neural.requireText", "true"));
    docs = SampleDocs.first(60);
    solr.client().add(CORE, docs);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  public void testDenseQueryFindsTheAbstractOfATitle() throws Exception {
    for (int i : new int[] {3, 17, 42}) {
      SolrInputDocument doc = docs.get(i);
      QueryResponse rsp =
          solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small topK=5}" + doc.getFieldValue("title")).setFields("id", "score"));
      assertEquals(5, rsp.getResults().getNumFound());
      assertEquals(doc.getFieldValue("id"), rsp.getResults().get(0).get("id"));
    }
  }

  public void testBadParamsAre400WithAMessage() {
    BaseHttpSolrClient.RemoteSolrException e =
        expectThrows(
            BaseHttpSolrClient.RemoteSolrException.class,
            () -> solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small topK=-3}cells")));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("param 'topK'"));
  }

  public void testDenseRerankOverHttp() throws Exception {
    // every abstract in the window: the one whose title is the query text comes first
    for (int i : new int[] {3, 17, 42}) {
      SolrInputDocument doc = docs.get(i);
      SolrQuery q = new SolrQuery("*:*").setFields("id", "score").setRows(3);
      q.set("rq", "{!neural_rerank model=bge-small f=vector reRankDocs=100}").set("rq.text", (String) doc.getFieldValue("title"));
      QueryResponse rsp = solr.client().query(CORE, q);
      assertEquals(doc.getFieldValue("id"), rsp.getResults().get(0).get("id"));
      assertTrue(rsp.getResults().getMaxScore() < 1.0001f); // a cosine
    }
  }

  public void testBadRerankParamsAre400WithAMessage() {
    SolrQuery q = new SolrQuery("cells");
    q.set("df", "contents").set("rq", "{!neural_rerank model=bge-small reRankDocs=5000}").set("rq.text", "stem cells");
    BaseHttpSolrClient.RemoteSolrException e = expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> solr.client().query(CORE, q));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("param 'reRankDocs' must be between 1 and 1000 (maxReRankDocs), got 5000"));
  }

  public void testBadDocumentIs400AndTheIndexIsIntact() throws Exception {
    long before = solr.client().query(CORE, new SolrQuery("*:*").setRows(0)).getResults().getNumFound();
    SolrInputDocument good = new SolrInputDocument("id", "good-one", "title", "fine", "text", "fine text");
    SolrInputDocument bad = new SolrInputDocument("id", "bad-one", "title", "x", "text", "y");
    bad.addField("vector", List.of(1.0f, 2.0f, 3.0f));
    BaseHttpSolrClient.RemoteSolrException e =
        expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> solr.client().add(CORE, List.of(good, bad)));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("document 'bad-one', field 'vector'"));
    solr.client().commit(CORE);
    assertEquals(before, solr.client().query(CORE, new SolrQuery("*:*").setRows(0)).getResults().getNumFound());
  }

  public void testDocumentWithoutTextIsIndexedWithoutAVector() throws Exception {
    Map<String, Object> before = MBeanStats.of(solr.client(), CORE, "UPDATE", "neural.updateProcessor");
    SolrInputDocument empty = new SolrInputDocument("id", "empty-1", "parity_s", "odd");
    SolrInputDocument blank = new SolrInputDocument("id", "empty-2", "title", "  ", "text", "\n\t");
    SolrInputDocument good = new SolrInputDocument("id", "empty-3", "title", "Stem cells", "text", "Stem cells divide.");
    solr.client().add(CORE, List.of(empty, blank, good));
    solr.client().commit(CORE);
    assertEquals(Set.of("empty-1", "empty-2", "empty-3"), TolerantBatch.indexed(solr.client(), CORE, "id:empty-*"));
    assertEquals(
        "only the document with text has a vector",
        Set.of("empty-3"),
        TolerantBatch.indexed(solr.client(), CORE, "{!dense f=vector model=bge-small topK=1000}stem cells", "id:empty-*"));
    Map<String, Object> after = MBeanStats.of(solr.client(), CORE, "UPDATE", "neural.updateProcessor");
    String counter = "UPDATE.neural.updateProcessor.documentsWithoutText";
    assertEquals(2, MBeanStats.number(after, counter) - MBeanStats.number(before, counter), 0);
  }

  public void testTolerantChainIndexesTheGoodDocumentsAndListsTheBadOnes() throws Exception {
    new TolerantBatch("tolerant-").assertTolerated(solr.client(), STRICT_CORE);
  }

  public void testDefaultChainStaysAllOrNothing() throws Exception {
    TolerantBatch batch = new TolerantBatch("strict-");
    BaseHttpSolrClient.RemoteSolrException e =
        expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> batch.request("neural").process(solr.client(), STRICT_CORE));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("document '" + batch.id("no-text") + "', field 'vector'"));
    solr.client().commit(STRICT_CORE);
    assertEquals(Set.of(), TolerantBatch.indexed(solr.client(), STRICT_CORE, "id:strict-*"));
  }

  public void testTolerantChainFailsBeyondMaxErrors() throws Exception {
    UpdateRequest req = new TolerantBatch("max-errors-").request("neural-tolerant");
    req.setParam("maxErrors", "1");
    BaseHttpSolrClient.RemoteSolrException e =
        expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> req.process(solr.client(), STRICT_CORE));
    assertEquals(400, e.code());
  }

  public void testSparseClientWeightsOverHttp() throws Exception {
    SolrInputDocument doc = new SolrInputDocument("id", "sparse-http", "title", "Solar", "text", "Solar panels");
    doc.addField("sparse", "{\"solar\": 1.5, \"panel\": 0.25}");
    solr.client().add(CORE, doc);
    solr.client().commit(CORE);
    QueryResponse rsp = solr.client().query(CORE, new SolrQuery("{!sparse f=sparse weights='solar:2,panel:4'}").setFields("id", "score"));
    assertEquals(1, rsp.getResults().getNumFound());
    assertEquals(4.0f, (Float) rsp.getResults().get(0).get("score"), 1e-6f);

    SolrInputDocument bad = new SolrInputDocument("id", "bad-sparse", "title", "x", "text", "y");
    bad.addField("sparse", "solar:-1");
    BaseHttpSolrClient.RemoteSolrException e =
        expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> solr.client().add(CORE, bad));
    assertEquals(400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("[doc=bad-sparse] Error adding field 'sparse'"));
    assertTrue(e.getMessage(), e.getMessage().contains("term 'solar' has an invalid weight -1.0"));
  }

  public void testOverloadedModelIs503AndLosesNothing() throws Exception {
    assertOverloadLosesNothing("tight", "neural");
  }

  public void testOverloadBehindTheTolerantChainListsTheRefusedDocuments() throws Exception {
    assertOverloadLosesNothing("tight-tolerant", "neural-tolerant");
  }

  /**
   * A core whose model queue holds one text and never waits for room: concurrent one-document
   * updates overflow it. Each document is either indexed or refused, and the client is told which:
   * by HTTP 503 through the default chain, by the response's {@code errors} through the tolerant one.
   */
  private void assertOverloadLosesNothing(String core, String chain) throws Exception {
    solr.createCore(
        core,
        Map.of(
            "neural.dense.package", "builtin:bge-small-en-v1.5-int8",
            "neural.scheduler.maxBatchSize", "1",
            "neural.scheduler.maxQueuedTexts", "1",
            "neural.scheduler.queueTimeoutMillis", "0"));
    List<String> accepted = Collections.synchronizedList(new ArrayList<>());
    List<String> refused = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<?>> sent = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        int thread = t;
        sent.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 8; i++) {
                    SolrInputDocument doc = docs.get((thread * 8 + i) % docs.size()).deepCopy();
                    String id = "load-" + thread + "-" + i;
                    doc.setField("id", id);
                    UpdateRequest add = new UpdateRequest();
                    add.add(doc);
                    add.setParam("update.chain", chain);
                    try {
                      Map<String, String> errors = TolerantBatch.errors(add.process(solr.client(), core).getResponseHeader());
                      if (errors.isEmpty()) {
                        accepted.add(id);
                      } else {
                        assertEquals(Set.of(id), errors.keySet());
                        assertTrue(errors.get(id), errors.get(id).contains("overloaded"));
                        refused.add(id);
                      }
                    } catch (BaseHttpSolrClient.RemoteSolrException e) {
                      assertEquals(e.getMessage(), 503, e.code());
                      assertTrue(e.getMessage(), e.getMessage().contains("overloaded"));
                      refused.add(id);
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : sent) {
        f.get(300, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertFalse("no request was refused: the queue bound did not act", refused.isEmpty());
    assertFalse("every request was refused", accepted.isEmpty());
    solr.client().commit(core);
    assertEquals(accepted.size(), solr.client().query(core, new SolrQuery("*:*").setRows(0)).getResults().getNumFound());
    for (String id : refused) {
      assertEquals(id, 0, solr.client().query(core, new SolrQuery("id:" + id).setRows(0)).getResults().getNumFound());
    }
  }

  public void testInfoBeansShowModelCounters() throws Exception {
    solr.client().query(CORE, new SolrQuery("{!dense f=vector model=bge-small}stem cells"));
    Map<String, Object> model = MBeanStats.of(solr.client(), CORE, "OTHER", "neuralModels");
    String p = "OTHER.neuralModels.bge-small.";
    assertTrue(MBeanStats.number(model, p + "textsEncoded") >= 61); // 60 documents + at least one query
    assertTrue(MBeanStats.number(model, p + "batches") >= 1);
    assertTrue(MBeanStats.number(model, p + "meanBatchSize") > 1);
    assertTrue(MBeanStats.number(model, p + "encodeTimeMs") > 0);
    assertEquals(0.0, MBeanStats.number(model, p + "queueDepth"), 0);
    assertEquals("cpu", model.get(p + "device"));
    assertTrue(String.valueOf(model.get(p + "engine")).startsWith("OnnxRuntime"));

    Map<String, Object> parser = MBeanStats.of(solr.client(), CORE, "QUERYPARSER", "neural.dense");
    assertTrue(MBeanStats.number(parser, "QUERYPARSER.neural.dense.queries") >= 1);
    Map<String, Object> ingest = MBeanStats.of(solr.client(), CORE, "UPDATE", "neural.updateProcessor");
    assertTrue(MBeanStats.number(ingest, "UPDATE.neural.updateProcessor.encodedFields") >= 60);
  }
}
