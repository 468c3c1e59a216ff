package org.neuralsolr.eval;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.ExampleData;
import org.neuralsolr.example.LocalSolr;

/**
 * The {@code hybrid-rrf} and {@code hybrid-linear} pipelines' requests, on the index their settings
 * build, fuse exactly the results of the {@code bm25} and {@code dense} pipelines' own requests.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class HybridPipelinesTest extends SolrTestCase {
  private static final String CORE = "hybrid";
  private static final Map<String, String> MODEL = Map.of("package", "builtin:bge-small-en-v1.5-int8");
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    solr = LocalSolr.start(createTempDir(), NeuralTestHomes.configset(), 0);
    Pipeline hybrid = Pipelines.get("hybrid-rrf");
    assertEquals("the hybrid pipelines read the dense pipeline's index", "dense", hybrid.index);
    solr.createCore(CORE, hybrid.coreProperties.apply(hybrid.settings(MODEL)));
    docs = ExampleData.documents(40);
    UpdateRequest update = new UpdateRequest();
    update.add(docs);
    update.setParam("update.chain", hybrid.updateChain);
    update.process(solr.client(), CORE);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  public void testHybridPipelinesFuseTheBm25AndDensePipelines() throws Exception {
    for (int i : new int[] {2, 25}) {
      String text = (String) docs.get(i).getFieldValue("text");
      text = text.substring(0, Math.min(200, text.length()));
      List<Hit> bm25 = hits(query("bm25", Map.of(), text, true));
      List<Hit> dense = hits(query("dense", MODEL, text, true));
      assertTrue(bm25.size() > 10);

      Map<String, Double> rrf = new HashMap<>();
      addRrf(rrf, bm25);
      addRrf(rrf, dense);
      assertFused(rrf, hits(query("hybrid-rrf", MODEL, text, false)));

      Map<String, Double> linear = new HashMap<>();
      addMinMax(linear, bm25);
      addMinMax(linear, dense);
      assertFused(linear, hits(query("hybrid-linear", MODEL, text, false)));
    }
  }

  private static void addRrf(Map<String, Double> fused, List<Hit> list) {
    for (int r = 0; r < list.size(); r++) {
      fused.merge(list.get(r).id, 1.0 / (60 + r + 1), Double::sum);
    }
  }

  private static void addMinMax(Map<String, Double> fused, List<Hit> list) {
    double min = list.get(list.size() - 1).score;
    double max = list.get(0).score;
    for (Hit h : list) {
      fused.merge(h.id, 0.5 * (h.score - min) / (max - min), Double::sum);
    }
  }

  private static void assertFused(Map<String, Double> expected, List<Hit> fused) {
    List<Map.Entry<String, Double>> order = new ArrayList<>(expected.entrySet());
    order.sort((a, b) -> {
      int c = Float.compare((float) (double) b.getValue(), (float) (double) a.getValue());
      return c != 0 ? c : a.getKey().compareTo(b.getKey());
    });
    assertEquals(Math.min(100, order.size()), fused.size());
    for (int r = 0; r < 10; r++) {
      assertEquals("rank " + (r + 1) + " of " + fused, order.get(r).getKey(), fused.get(r).id);
      assertEquals(order.get(r).getValue(), fused.get(r).score, 1e-6);
    }
  }

  /** The pipeline's own request; {@code byId}: ties by id, as fusion ranks each sub-query. */
  private static List<SolrDocument> query(String pipeline, Map<String, String> overrides, String text, boolean byId) throws Exception {
    Pipeline p = Pipelines.get(pipeline);
    Map<String, String> params = new LinkedHashMap<>(p.queryParams.apply(p.settings(overrides), text));
    if (byId) {
      params.put("sort", "score desc,id asc");
    }
    ModifiableSolrParams mp = new ModifiableSolrParams();
    params.forEach(mp::set);
    return new QueryRequest(mp, SolrRequest.METHOD.POST).process(solr.client(), CORE).getResults();
  }

  record Hit(String id, float score) {}

  private static List<Hit> hits(List<SolrDocument> docs) {
    List<Hit> hits = new ArrayList<>();
    for (SolrDocument d : docs) {
      hits.add(new Hit((String) d.getFirstValue("id"), (Float) d.getFirstValue("score")));
    }
    return hits;
  }
}
