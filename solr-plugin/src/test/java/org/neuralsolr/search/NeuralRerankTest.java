package org.neuralsolr.search;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.Utils;
import org.apache.solr.request.SolrQueryRequest;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.model.CrossEncoder;
import org.neuralsolr.model.DenseEncoder;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.model.TokenStatesEncoder;
import org.neuralsolr.model.TokenStatesEncoder.TokenStates;

/**
 * {@code {!neural_rerank}} in one embedded core built from the configset, with bge-small-en-v1.5
 * (fp32, the configset's model) and the parity fixtures added to the registry as a user adds
 * models: scores equal PyTorch's reference outputs (cross-encoder, causal LM, both engines) and
 * the models' own outputs (dense, MaxSim); paging inside and beyond the window matches Solr's
 * {@code {!rerank}} side by side; explanations; HTTP 400 on bad input; HTTP 500, never a partly
 * re-ranked list, when the model fails mid-request.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class NeuralRerankTest extends SolrTestCaseJ4 {
  private static final double TOLERANCE = 1e-4;
  /** Matches every topic document with different BM25 scores. */
  private static final String FIRST_STAGE = "contents:(cat cats dog dogs market markets cell cells bread)";
  private static final String QUERY_TEXT = "sleepy cats napping in the sun";

  private static final String[][] TOPIC_DOCS = {
    {"p01", "Cats", "A cat sleeps on the warm sofa all afternoon."},
    {"p02", "Dogs", "Dogs love to play fetch in the park with other dogs."},
    {"p03", "Kittens", "Young kittens and cats nap for most of the day in the sun."},
    {"p04", "Pet care", "Brush your dog and your cat every week."},
    {"p05", "Cat food", "Cats need protein; a dog can eat more varied food."},
    {"p06", "Shelters", "The shelter found homes for twelve dogs and three cats."},
    {"f01", "Markets", "Stock markets fell sharply after the interest rate decision."},
    {"f02", "Bonds", "Bond markets rallied as inflation cooled; the stock market followed."},
    {"f03", "Crypto", "A market for digital tokens crashed overnight."},
    {"f04", "Housing", "The housing market cooled as mortgage rates rose."},
    {"s01", "Stem cells", "Stem cells can become any cell type of the body."},
    {"s02", "Cell biology", "The cell membrane controls what enters and leaves the cell."},
    {"s03", "Immunology", "T cells recognise infected cells and destroy them."},
    {"s04", "Cancer", "Cancer cells divide without control and ignore signals from other cells."},
    {"b01", "Bread", "Bread rises because yeast cells produce carbon dioxide."},
    {"b02", "Baking", "A good bread needs time; the dough rests while the cat watches."},
  };
  private static final String LONG_TEXT =
      "The history of the domestic cat begins in the Near East, where wildcats lived near the first farms and hunted the mice "
          + "that ate the stored grain. Farmers tolerated them, then welcomed them, and over thousands of years the wildcats became "
          + "tamer and smaller. Ships carried cats along trade routes to Egypt, Greece and Rome, and from there to every continent. "
          + "Today cats sleep for most of the day, often in a warm sunny spot by a window, and they nap again after every meal. "
          + "A sleepy cat napping in the sun is the picture most people have of a happy pet, and scientists think the long naps save "
          + "energy for short bursts of hunting at dawn and dusk.";

  private static List<Map<String, Object>> crossEncoderPairs;
  private static List<Map<String, Object>> llamaPairs;
  private static List<Map<String, Object>> storyPairs;

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void beforeClass() throws Exception {
    Path parity = NeuralTestHomes.parityFixtures();
    System.setProperty("neural.model.roots", parity.toString());
    Path home = NeuralTestHomes.solrHomeWithCore(createTempDir(), "collection1");
    Map<String, String> models = new LinkedHashMap<>();
    models.put("ce", "tiny-cross-encoder/neural-model.json");
    models.put("ce-ts", "tiny-cross-encoder/neural-model-torchscript.json");
    models.put("lm", "tiny-llama/neural-model.json");
    models.put("lm-ts", "tiny-llama/neural-model-torchscript.json");
    models.put("stories", "stories260k/neural-model.json");
    NeuralTestHomes.addModels(home.resolve("collection1").resolve("conf"), models);
    // batches of 4, so that a window is several forward passes of which one fails
    NeuralTestHomes.addModel(home.resolve("collection1").resolve("conf"), "ce-broken", "tiny-cross-encoder/neural-model-broken.json", 4);
    initCore("solrconfig.xml", "managed-schema.xml", home.toString());

    crossEncoderPairs = (List<Map<String, Object>>) reference(parity, "tiny-cross-encoder").get("pairs");
    llamaPairs = (List<Map<String, Object>>) reference(parity, "tiny-llama").get("pairs");
    storyPairs = (List<Map<String, Object>>) reference(parity, "stories260k").get("pairs");
    List<Map<String, Object>> docs = new ArrayList<>();
    for (String[] d : TOPIC_DOCS) {
      docs.add(Map.of("id", d[0], "title", d[1], "text", d[2]));
    }
    docs.add(Map.of("id", "long", "title", "Cats through history", "text", LONG_TEXT));
    // the fixtures' reference documents, text only, so that the document text is exactly theirs
    for (int i = 0; i < crossEncoderPairs.size(); i++) {
      docs.add(Map.of("id", "ce-" + i, "text", crossEncoderPairs.get(i).get("document")));
    }
    for (int i = 0; i < llamaPairs.size(); i++) {
      docs.add(Map.of("id", "lm-" + i, "text", llamaPairs.get(i).get("document")));
    }
    // stories260K's reference pairs 0 and 3 score one query against two stories
    docs.add(Map.of("id", "story-lily", "text", storyPairs.get(0).get("document")));
    docs.add(Map.of("id", "story-tom", "text", storyPairs.get(3).get("document")));
    updateJ(Utils.toJSONString(docs), null);
    assertU(commit());
  }

  @AfterClass
  public static void afterClass() {
    System.clearProperty("neural.model.roots");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> reference(Path parity, String fixture) throws Exception {
    return (Map<String, Object>) Utils.fromJSONString(java.nio.file.Files.readString(parity.resolve(fixture).resolve("reference.json")));
  }

  // ---------------------------------------------------------------- scores equal the models' own

  public void testCrossEncoderScoresArePyTorchsLogitsOnBothEngines() throws Exception {
    for (String model : new String[] {"ce", "ce-ts"}) {
      Map<String, List<Integer>> byQuery = new LinkedHashMap<>();
      for (int i = 0; i < crossEncoderPairs.size(); i++) {
        byQuery.computeIfAbsent((String) crossEncoderPairs.get(i).get("query"), k -> new ArrayList<>()).add(i);
      }
      for (Map.Entry<String, List<Integer>> q : byQuery.entrySet()) {
        List<String> ids = new ArrayList<>();
        q.getValue().forEach(i -> ids.add("ce-" + i));
        Map<String, Double> scores =
            scores(req("q", "{!terms f=id}" + String.join(",", ids), "rq", "{!neural_rerank model=" + model + " textFields=text}", "rq.text", q.getKey(), "fl", "id,score"));
        assertEquals(ids.size(), scores.size());
        for (int i : q.getValue()) {
          double expected = ((Number) crossEncoderPairs.get(i).get("logit")).doubleValue();
          assertEquals(model + ": " + q.getKey() + " / " + crossEncoderPairs.get(i).get("document"), expected, scores.get("ce-" + i), TOLERANCE);
        }
      }
    }
  }

  public void testQueryLikelihoodsArePyTorchsOnBothEngines() throws Exception {
    for (String model : new String[] {"lm", "lm-ts"}) {
      for (int i = 0; i < llamaPairs.size(); i++) {
        Map<String, Object> p = llamaPairs.get(i);
        for (String aggregation : new String[] {"sum", "mean"}) {
          Map<String, Double> scores =
              scores(req("q", "id:lm-" + i, "rq", "{!neural_rerank model=" + model + " textFields=text aggregation=" + aggregation + "}",
                  "rq.text", (String) p.get("query"), "fl", "id,score"));
          double expected = ((Number) p.get("sum".equals(aggregation) ? "scoreSum" : "scoreMean")).doubleValue();
          assertEquals(model + " " + aggregation + ": " + p.get("query"), expected, scores.get("lm-" + i), TOLERANCE);
        }
      }
    }
  }

  /** A real LM end to end: stories260K ranks the story that the query continues first. */
  public void testStories260kQueryLikelihoodThroughSolr() throws Exception {
    String query = (String) storyPairs.get(0).get("query");
    assertEquals(query, storyPairs.get(3).get("query"));
    Map<String, Double> scores =
        scores(req("q", "id:(story-lily story-tom)", "rq", "{!neural_rerank model=stories textFields=text}", "rq.text", query, "fl", "id,score"));
    assertEquals(List.of("story-lily", "story-tom"), new ArrayList<>(scores.keySet()));
    assertEquals(((Number) storyPairs.get(0).get("scoreMean")).doubleValue(), scores.get("story-lily"), TOLERANCE);
    assertEquals(((Number) storyPairs.get(3).get("scoreMean")).doubleValue(), scores.get("story-tom"), TOLERANCE);
  }

  public void testDenseScoresAreCosinesOfStoredOrFreshVectors() throws Exception {
    DenseEncoder encoder = registry().denseEncoder("bge-small");
    float[] query = encoder.encodeQuery(QUERY_TEXT);
    Map<String, Double> stored = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=bge-small f=vector reRankDocs=100}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    Map<String, Double> fresh = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=bge-small reRankDocs=100}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    assertTrue(stored.size() >= 14);
    assertEquals(stored.keySet(), fresh.keySet());
    for (String[] d : TOPIC_DOCS) {
      if (!fresh.containsKey(d[0])) {
        continue;
      }
      float[] doc = encoder.encode(List.of(d[1] + " " + d[2]), TextRole.DOCUMENT)[0];
      double cosine = cosine(query, doc);
      assertEquals(d[0] + " encoded now", cosine, fresh.get(d[0]), TOLERANCE);
      assertEquals(d[0] + " stored at ingest", cosine, stored.get(d[0]), TOLERANCE);
    }
    // the re-ranking put the cat naps first
    List<String> top = ids(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=bge-small f=vector reRankDocs=100}", "rq.text", QUERY_TEXT, "fl", "id", "rows", "2"));
    assertTrue(top.toString(), top.contains("p03") || top.contains("long"));
  }

  public void testMaxSimOfTokenStates() throws Exception {
    TokenStatesEncoder encoder = registry().model("bge-small").tokenStatesEncoder();
    TokenStates query = encoder.encode(List.of(QUERY_TEXT), TextRole.QUERY)[0];
    Map<String, Double> scores =
        scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=bge-small mode=multivector reRankDocs=6}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "6"));
    assertEquals(6, scores.size());
    for (String[] d : TOPIC_DOCS) {
      if (scores.containsKey(d[0])) {
        TokenStates doc = encoder.encode(List.of(d[1] + " " + d[2]), TextRole.DOCUMENT)[0];
        // MaxSim written out here, independently of the plugin's
        double expected = 0;
        for (int i = 0; i < query.count; i++) {
          double best = Double.NEGATIVE_INFINITY;
          for (int t = 0; t < doc.count; t++) {
            double dot = 0;
            for (int j = 0; j < query.dimension; j++) {
              dot += query.vectors[i * query.dimension + j] * doc.vectors[t * doc.dimension + j];
            }
            best = Math.max(best, dot);
          }
          expected += best;
        }
        assertEquals(d[0], expected, scores.get(d[0]), 1e-3);
      }
    }
  }

  public void testFirstPassageAndBestPassage() throws Exception {
    CrossEncoder encoder = registry().model("ce").crossEncoder();
    String text = "Cats through history " + LONG_TEXT;
    String[] words = text.split("\\s+");
    List<String> windows = new ArrayList<>();
    for (int start = 0; windows.size() < 8; start += 10) {
      int end = Math.min(words.length, start + 20);
      windows.add(String.join(" ", java.util.Arrays.asList(words).subList(start, end)));
      if (end == words.length) {
        break;
      }
    }
    assertEquals(8, windows.size()); // more words than 8 windows cover: maxPassages caps them
    float[] windowScores = encoder.score(QUERY_TEXT, windows);
    double best = Double.NEGATIVE_INFINITY;
    for (float s : windowScores) {
      best = Math.max(best, s);
    }
    String q = "id:long";
    assertEquals(best, score(q, "{!neural_rerank model=ce passage=max passageWords=20 passageStride=10}"), TOLERANCE);
    assertEquals(windowScores[0], score(q, "{!neural_rerank model=ce passage=first passageWords=20}"), TOLERANCE);
    assertEquals(encoder.score(QUERY_TEXT, List.of(text))[0], score(q, "{!neural_rerank model=ce}"), TOLERANCE);
    assertTrue("the best passage is not the first", best > windowScores[0] + 1e-3);
  }

  private double score(String q, String rq) throws Exception {
    return scores(req("q", q, "rq", rq, "rq.text", QUERY_TEXT, "fl", "id,score")).values().iterator().next();
  }

  public void testOperatorsCombineLikeRerank() throws Exception {
    Map<String, Double> first = scores(req("q", FIRST_STAGE, "fl", "id,score", "rows", "100"));
    Map<String, Double> model = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=ce reRankDocs=100}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    Map<String, Double> add = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=ce reRankDocs=100 reRankOperator=add reRankWeight=0.5}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    Map<String, Double> multiply = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=ce reRankDocs=100 reRankOperator=multiply reRankWeight=3}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    Map<String, Double> replace = scores(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=ce reRankDocs=100 reRankWeight=-2}", "rq.text", QUERY_TEXT, "fl", "id,score", "rows", "100"));
    for (String id : first.keySet()) {
      assertEquals(id, first.get(id) + 0.5 * model.get(id), add.get(id), 1e-5);
      assertEquals(id, first.get(id) * 3 * model.get(id), multiply.get(id), 1e-5);
      assertEquals(id, -2 * model.get(id), replace.get(id), 1e-5);
    }
  }

  // ---------------------------------------------------------------- paging as {!rerank}

  /**
   * With bge's unit vectors, Solr's {@code vectorSimilarity(FLOAT32, DOT_PRODUCT, ...)} is (1 + cos) /
   * 2 of the same stored vectors, a monotone map of {@code mode=dense}'s cosine: both re-rankers
   * must put the same documents on every page, inside and beyond the window, with scores related
   * by that map inside the window and equal (first-stage) beyond it.
   */
  public void testPagingMatchesSolrsRerankSideBySide() throws Exception {
    float[] query = registry().denseEncoder("bge-small").encodeQuery(QUERY_TEXT);
    StringBuilder vector = new StringBuilder("[");
    for (int i = 0; i < query.length; i++) {
      vector.append(i == 0 ? "" : ",").append(query[i]);
    }
    String similarity = "{!func}vectorSimilarity(FLOAT32,DOT_PRODUCT,vector," + vector.append(']') + ")";
    List<String> firstStage = ids(req("q", FIRST_STAGE, "fl", "id", "rows", "100"));
    int numFound = firstStage.size();
    assertTrue(numFound >= 14);
    int[][] pages = {{0, 3}, {0, 10}, {2, 4}, {4, 3}, {5, 5}, {6, 10}, {numFound - 3, 10}, {numFound, 5}, {0, 100}};
    for (int reRankDocs : new int[] {1, 5, 8, numFound + 5}) {
      List<String> window = firstStage.subList(0, Math.min(reRankDocs, numFound));
      for (String operator : new String[] {"replace", "add"}) {
        // neural: replace w·cos, add f + w·cos; Solr: replace w'·(1+cos)/2, add f + w'·(1+cos)/2
        double neuralWeight = 1;
        double solrWeight = "replace".equals(operator) ? 1 : 2;
        for (int[] page : pages) {
          String what = "reRankDocs=" + reRankDocs + " " + operator + " start=" + page[0] + " rows=" + page[1];
          SolrQueryRequest neural =
              req("q", FIRST_STAGE, "fl", "id,score", "start", "" + page[0], "rows", "" + page[1], "rq.text", QUERY_TEXT,
                  "rq", "{!neural_rerank model=bge-small f=vector reRankDocs=" + reRankDocs + " reRankOperator=" + operator + " reRankWeight=" + neuralWeight + "}");
          SolrQueryRequest solr =
              req("q", FIRST_STAGE, "fl", "id,score", "start", "" + page[0], "rows", "" + page[1], "rqq", similarity,
                  "rq", "{!rerank reRankQuery=$rqq reRankDocs=" + reRankDocs + " reRankOperator=" + operator + " reRankWeight=" + solrWeight + "}");
          Map<String, Object> n = response(neural);
          Map<String, Object> s = response(solr);
          assertEquals(what, s.get("numFound"), n.get("numFound"));
          Map<String, Double> ns = scores(n);
          Map<String, Double> ss = scores(s);
          assertEquals(what, new ArrayList<>(ss.keySet()), new ArrayList<>(ns.keySet()));
          for (String id : ns.keySet()) {
            double expected = !window.contains(id) ? ss.get(id) : "replace".equals(operator) ? 2 * ss.get(id) - 1 : ss.get(id) - 1;
            assertEquals(what + " " + id, expected, ns.get(id), 1e-4);
          }
        }
      }
    }
  }

  public void testPagesShareOneReRanking() throws Exception {
    String rq = "{!neural_rerank model=ce reRankDocs=12}";
    String text = "a query used by this test only";
    long before = registry().model("ce").stats().texts();
    List<String> all = ids(req("q", FIRST_STAGE, "rq", rq, "rq.text", text, "fl", "id", "rows", "12"));
    long after = registry().model("ce").stats().texts();
    assertEquals(12, after - before);
    // later pages come from Solr's query result cache: the same ranking, no model call
    assertEquals(all.subList(4, 8), ids(req("q", FIRST_STAGE, "rq", rq, "rq.text", text, "fl", "id", "start", "4", "rows", "4")));
    assertEquals(all.subList(8, 12), ids(req("q", FIRST_STAGE, "rq", rq, "rq.text", text, "fl", "id", "start", "8", "rows", "4")));
    assertEquals(after, registry().model("ce").stats().texts());
    // another text is another query
    ids(req("q", FIRST_STAGE, "rq", rq, "rq.text", text + "!", "fl", "id", "rows", "4"));
    assertEquals(after + 12, registry().model("ce").stats().texts());
  }

  // ---------------------------------------------------------------- explained

  @SuppressWarnings("unchecked")
  public void testDebugExplainsFirstStageModelAndCombination() throws Exception {
    String json =
        JQ(req("q", FIRST_STAGE, "rq", "{!neural_rerank model=ce reRankDocs=3 reRankOperator=add reRankWeight=2}", "rq.text", QUERY_TEXT,
            "fl", "id,score", "rows", "6", "debugQuery", "true", "debug.explain.structured", "true"));
    Map<String, Object> rsp = (Map<String, Object>) Utils.fromJSONString(json);
    Map<String, Object> debug = (Map<String, Object>) rsp.get("debug");
    Map<String, Object> info = (Map<String, Object>) debug.get("neuralRerank");
    assertEquals(3L, ((Number) info.get("documentsReranked")).longValue());
    assertEquals("ce", info.get("model"));
    assertEquals("cross-encoder", info.get("mode"));
    Map<String, Object> explain = (Map<String, Object>) debug.get("explain");
    List<Map<String, Object>> docs = (List<Map<String, Object>>) ((Map<String, Object>) rsp.get("response")).get("docs");
    Map<String, Double> first = scores(req("q", FIRST_STAGE, "fl", "id,score", "rows", "100"));
    for (int rank = 0; rank < docs.size(); rank++) {
      String id = (String) docs.get(rank).get("id");
      Map<String, Object> e = (Map<String, Object>) explain.get(id);
      double value = ((Number) e.get("value")).doubleValue();
      assertEquals(id, ((Number) docs.get(rank).get("score")).doubleValue(), value, 1e-5);
      String description = (String) e.get("description");
      if (rank < 3) {
        assertTrue(description, description.contains("first-stage score + reRankWeight * model score"));
        List<Map<String, Object>> details = (List<Map<String, Object>>) e.get("details");
        assertEquals(3, details.size());
        double firstStage = ((Number) details.get(0).get("value")).doubleValue();
        double model = ((Number) details.get(1).get("value")).doubleValue();
        assertEquals(first.get(id), firstStage, 1e-5);
        assertTrue((String) details.get(1).get("description"), ((String) details.get(1).get("description")).contains("cross-encoder 'ce'"));
        assertEquals(firstStage + 2 * model, value, 1e-5);
      } else {
        assertTrue(description, description.contains("not in the re-rank window"));
        assertEquals(first.get(id), value, 1e-5);
      }
    }
  }

  // ---------------------------------------------------------------- bad input

  public void testBadInputIs400WithAMessage() {
    String text = "rq.text";
    assertBad("unknown model 'nope'", "{!neural_rerank model=nope}");
    assertBad("missing local param 'model'", "{!neural_rerank}");
    assertBad("mode=dense needs a dense model, but model 'ce' is a cross-encoder model", "{!neural_rerank model=ce mode=dense}");
    assertBad("mode=causal-lm needs a causal-lm model", "{!neural_rerank model=bge-small mode=causal-lm}");
    assertBad("mode=cross-encoder needs a cross-encoder model", "{!neural_rerank model=lm mode=cross-encoder}");
    assertBad("(the score combination is reRankOperator=add)", "{!neural_rerank model=ce mode=add}");
    assertBad("param 'reRankDocs' must be between 1 and 1000 (maxReRankDocs), got 0", "{!neural_rerank model=ce reRankDocs=0}");
    assertBad("param 'reRankDocs' must be between 1 and 1000 (maxReRankDocs), got -5", "{!neural_rerank model=ce reRankDocs=-5}");
    assertBad("param 'reRankDocs' must be between 1 and 1000 (maxReRankDocs), got 1001", "{!neural_rerank model=ce reRankDocs=1001}");
    assertBad("param 'reRankDocs' must be an integer", "{!neural_rerank model=ce reRankDocs=many}");
    assertBad("param 'reRankWeight' must be a finite number", "{!neural_rerank model=ce reRankWeight=NaN}");
    assertBad("param 'reRankOperator' must be replace, add or multiply", "{!neural_rerank model=ce reRankOperator=max}");
    assertBad("unknown local param 'reRankDoc'", "{!neural_rerank model=ce reRankDoc=5}");
    assertBad("undefined field 'nofield' (param 'textFields')", "{!neural_rerank model=ce textFields=nofield}");
    assertBad("field 'contents' is not stored", "{!neural_rerank model=ce textFields=contents}");
    assertBad("not a DenseVectorField (param 'f')", "{!neural_rerank model=bge-small f=title}");
    assertBad("param 'f': MaxSim against stored token vectors needs the ColBERT multi-vector field", "{!neural_rerank model=bge-small mode=multivector f=vector}");
    assertBad("param 'passage' must be first (FirstP) or max (MaxP)", "{!neural_rerank model=ce passage=best}");
    assertBad("param 'passageStride' must be between 1 and 20 (passageWords), got 30", "{!neural_rerank model=ce passage=max passageWords=20 passageStride=30}");
    assertBad("a prompt template must end with {query}", "{!neural_rerank model=lm promptTemplate='{document} {query} end'}");
    assertBad("param 'aggregation': aggregation must be sum or mean", "{!neural_rerank model=lm aggregation=max}");
    assertBad("model 'lm' cannot score this query: the query is at least 64 tokens", "{!neural_rerank model=lm}", text, "word ".repeat(80));
    // no query text: q is *:* and neither the body nor rq.text gives one
    assertQEx("no text", "no query text to re-rank with", req("q", "*:*", "rq", "{!neural_rerank model=ce}"), ErrorCode.BAD_REQUEST);
    assertQEx("blank text", "no query text to re-rank with", req("q", "*:*", "rq", "{!neural_rerank model=ce}", text, "  "), ErrorCode.BAD_REQUEST);
  }

  public void testQueryTextFromBodyRqTextOrQ() throws Exception {
    String q = "{!terms f=id}ce-0";
    double fromRqText = scores(req("q", q, "rq", "{!neural_rerank model=ce}", "rq.text", "what is the capital of france", "fl", "id,score")).get("ce-0");
    double fromBody = scores(req("q", q, "rq", "{!neural_rerank model=ce}what is the capital of france", "rq.text", "ignored", "fl", "id,score")).get("ce-0");
    double fromQ = scores(req("q", "{!edismax qf=contents}what is the capital of france", "fq", "id:ce-0", "rq", "{!neural_rerank model=ce}", "fl", "id,score")).get("ce-0");
    double expected = ((Number) crossEncoderPairs.get(0).get("logit")).doubleValue();
    assertEquals(expected, fromRqText, TOLERANCE);
    assertEquals(expected, fromBody, TOLERANCE);
    assertEquals(expected, fromQ, TOLERANCE);
  }

  private static void assertBad(String message, String rq, String... more) {
    List<String> params = new ArrayList<>(List.of("q", FIRST_STAGE, "rq", rq, "rq.text", QUERY_TEXT));
    for (int i = 0; i < more.length; i += 2) {
      int at = params.indexOf(more[i]);
      params.set(at + 1, more[i + 1]);
    }
    assertQEx(rq, message, req(params.toArray(new String[0])), ErrorCode.BAD_REQUEST);
  }

  // ---------------------------------------------------------------- failures

  /**
   * {@code ce-broken} claims 128 tokens but has 64 position embeddings: the forward pass fails for
   * inputs over 64 tokens and works for shorter ones. A window holding the long document therefore
   * fails in the middle of its batches (of 4 documents) while the others succeed; the request must
   * fail with 500, not return a list that is re-ranked in part.
   */
  public void testModelFailureMidRequestIsAnErrorNotAPartialList() throws Exception {
    // short documents only (the stories are long for the fixture's tiny vocabulary): the model works
    List<String> shortOnly = ids(req("q", FIRST_STAGE, "fq", "-id:(long story-lily story-tom)", "rq", "{!neural_rerank model=ce-broken reRankDocs=20}", "rq.text", QUERY_TEXT, "fl", "id"));
    assertEquals(10, shortOnly.size());
    long failedBefore = registry().model("ce-broken").stats().failedBatches();
    long batchesBefore = registry().model("ce-broken").stats().batches();
    // the long document in the window among short ones: an error response
    assertQEx(
        "model failure",
        "documents with model 'ce-broken' failed, so no results are returned",
        req("q", FIRST_STAGE + " OR id:long", "fq", "-id:(story-lily story-tom)", "rq", "{!neural_rerank model=ce-broken reRankDocs=20}", "rq.text", QUERY_TEXT, "fl", "id"),
        ErrorCode.SERVER_ERROR);
    // one of the window's batches failed and the others ran (the longest first, so the worker may
    // still be finishing them when the error response is out): yet nothing was returned
    assertEquals(failedBefore + 1, registry().model("ce-broken").stats().failedBatches());
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (registry().model("ce-broken").stats().batches() < batchesBefore + 4 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(batchesBefore + 4, registry().model("ce-broken").stats().batches());
    // and the model keeps serving afterwards (another text: not from the result cache)
    long batchesAfter = registry().model("ce-broken").stats().batches();
    assertEquals(10, ids(req("q", FIRST_STAGE, "fq", "-id:(long story-lily story-tom)", "rq", "{!neural_rerank model=ce-broken reRankDocs=20}", "rq.text", "cats", "fl", "id")).size());
    assertTrue(registry().model("ce-broken").stats().batches() > batchesAfter);
  }

  // ---------------------------------------------------------------- helpers

  private static NeuralModelRegistry registry() {
    return NeuralModelRegistry.of(h.getCore());
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> response(SolrQueryRequest request) throws Exception {
    return (Map<String, Object>) ((Map<String, Object>) Utils.fromJSONString(JQ(request))).get("response");
  }

  private static List<String> ids(SolrQueryRequest request) throws Exception {
    return new ArrayList<>(scores(response(request)).keySet());
  }

  private static Map<String, Double> scores(SolrQueryRequest request) throws Exception {
    return scores(response(request));
  }

  /** id → score in response order. */
  @SuppressWarnings("unchecked")
  private static Map<String, Double> scores(Map<String, Object> response) {
    Map<String, Double> scores = new LinkedHashMap<>();
    for (Object doc : (List<Object>) response.get("docs")) {
      Map<String, Object> d = (Map<String, Object>) doc;
      Object score = d.get("score");
      scores.put((String) d.get("id"), score == null ? Double.NaN : ((Number) score).doubleValue());
    }
    return scores;
  }
}
