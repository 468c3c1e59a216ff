package org.neuralsolr.search;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCaseJ4;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.Utils;
import org.apache.solr.request.SolrQueryRequest;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;

/**
 * {@code {!fuse}} in one embedded core: fused scores equal RRF and normalised sums computed here
 * from each sub-query's own results (run as plain queries), paging and {@code fq} work over the fused
 * list, equal scores come in id order, {@code debugQuery} explains each hit per sub-query, and bad
 * params get HTTP 400 naming the param.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class FusionQueryTest extends SolrTestCaseJ4 {
  private static final String DOCS =
      "["
          + "{'id':'cat','title':'Cats','text':'A cat sleeps on the warm sofa all afternoon.','category_s':'pets'},"
          + "{'id':'dog','title':'Dogs','text':'Dogs love to play fetch in the park, unlike a cat.','category_s':'pets'},"
          + "{'id':'stocks','title':'Markets','text':'Stock markets fell sharply after the interest rate decision.','category_s':'finance'},"
          + "{'id':'bonds','title':'Bonds','text':'Government bond yields rose as inflation expectations climbed.','category_s':'finance'},"
          + "{'id':'kitten','title':'Kittens','text':'Young kittens nap for most of the day.','category_s':'pets'},"
          + "{'id':'catfund','title':'Cat bonds','text':'A cat bond transfers catastrophe risk to investors.','category_s':'finance'},"
          + "{'id':'parrot','title':'Parrots','text':'Parrots can learn to mimic human speech.','category_s':'pets'},"
          + "{'id':'lion','title':'Lions','text':'The lion is a big cat that sleeps up to twenty hours a day.','category_s':'wild'},"
          + "{'id':'tiger','title':'Tigers','text':'Tigers are solitary big cats of the forest.','category_s':'wild'},"
          + "{'id':'fx','title':'Currencies','text':'The dollar weakened against the euro.','category_s':'finance'}"
          + "]";
  private static final String LEX = "{!lucene df=contents}cat sleeps";
  private static final String VEC = "{!dense f=vector model=bge-small topK=6}sleepy cats napping";

  @BeforeClass
  public static void beforeClass() throws Exception {
    System.setProperty("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    Path home = NeuralTestHomes.solrHomeWithCore(createTempDir(), "collection1");
    initCore("solrconfig.xml", "managed-schema.xml", home.toString());
    assertU(delQ("*:*"));
    updateJ(json(DOCS), null);
    assertU(commit());
  }

  public void testRrfEqualsRanksOfTheSubQueries() throws Exception {
    for (int depth : new int[] {100, 3}) {
      Map<String, Double> expected = new HashMap<>();
      for (String q : new String[] {LEX, VEC}) {
        List<Hit> hits = hits(req("q", q, "fl", "id,score", "rows", String.valueOf(depth), "sort", "score desc,id asc"));
        for (int r = 0; r < hits.size(); r++) {
          expected.merge(hits.get(r).id, 1.0 / (60 + r + 1), Double::sum);
        }
      }
      List<Hit> fused = hits(fuse("{!fuse method=rrf depth=" + depth + " queries=lex,vec}"));
      assertFused(expected, fused);
    }
  }

  public void testWeightedRrfWithOwnK() throws Exception {
    Map<String, Double> expected = new HashMap<>();
    double[] weights = {2.0, 0.5};
    String[] queries = {LEX, VEC};
    for (int i = 0; i < 2; i++) {
      List<Hit> hits = hits(req("q", queries[i], "fl", "id,score", "rows", "100", "sort", "score desc,id asc"));
      for (int r = 0; r < hits.size(); r++) {
        expected.merge(hits.get(r).id, weights[i] / (10 + r + 1), Double::sum);
      }
    }
    assertFused(expected, hits(fuse("{!fuse k=10 weights=2,0.5 queries=lex,vec}")));
  }

  public void testLinearEqualsNormalisedScoresOfTheSubQueries() throws Exception {
    for (String norm : new String[] {"minmax", "zscore", "none"}) {
      Map<String, Double> expected = new HashMap<>();
      double[] weights = {0.3, 0.7};
      String[] queries = {LEX, VEC};
      for (int i = 0; i < 2; i++) {
        List<Hit> hits = hits(req("q", queries[i], "fl", "id,score", "rows", "100", "sort", "score desc,id asc"));
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, mean = 0;
        for (Hit h : hits) {
          min = Math.min(min, h.score);
          max = Math.max(max, h.score);
          mean += h.score / hits.size();
        }
        double var = 0;
        for (Hit h : hits) {
          var += (h.score - mean) * (h.score - mean) / hits.size();
        }
        for (Hit h : hits) {
          double v = switch (norm) {
            case "minmax" -> (h.score - min) / (max - min);
            case "zscore" -> (h.score - mean) / Math.sqrt(var);
            default -> h.score;
          };
          expected.merge(h.id, weights[i] * v, Double::sum);
        }
      }
      assertFused(expected, hits(fuse("{!fuse method=linear norm=" + norm + " weights=0.3,0.7 queries=lex,vec}")));
    }
  }

  public void testPagingOverTheFusedList() throws Exception {
    String q = "{!fuse queries=lex,vec}";
    List<Hit> all = hits(fuse(q, "rows", "100"));
    assertTrue(all.size() >= 6);
    for (int start = 0; start < all.size() + 2; start += 2) {
      List<Hit> page = hits(fuse(q, "start", String.valueOf(start), "rows", "2"));
      assertEquals("page at " + start, ids(all.subList(Math.min(start, all.size()), Math.min(start + 2, all.size()))), ids(page));
    }
  }

  public void testFiltersApplyToEverySubQuery() throws Exception {
    Map<String, Double> expected = new HashMap<>();
    for (String q : new String[] {LEX, VEC}) {
      List<Hit> hits = hits(req("q", q, "fq", "category_s:pets", "fl", "id,score", "rows", "100", "sort", "score desc,id asc"));
      for (int r = 0; r < hits.size(); r++) {
        expected.merge(hits.get(r).id, 1.0 / (60 + r + 1), Double::sum);
      }
    }
    assertFused(expected, hits(fuse("{!fuse queries=lex,vec}", "fq", "category_s:pets")));
    // the dense sub-query's fq is a pre-filter: its topK=6 are all pets, not the pets among the top 6
    assertEquals(4, hits(req("q", VEC, "fq", "category_s:pets", "fl", "id,score")).size());
  }

  public void testEqualScoresComeInIdOrder() throws Exception {
    // two lists of disjoint documents: each rank r gives two documents the same score 1/(60+r)
    List<Hit> fused =
        hits(req("q", "{!fuse queries=a,b}", "a", "id:(bonds cat)", "b", "id:(kitten lion)", "fl", "id,score"));
    assertEquals(4, fused.size());
    for (int i = 0; i + 1 < fused.size(); i += 2) {
      assertEquals(fused.get(i).score, fused.get(i + 1).score, 0);
      assertTrue(fused.get(i).id + " before " + fused.get(i + 1).id, fused.get(i).id.compareTo(fused.get(i + 1).id) < 0);
    }
  }

  public void testFusionOfFusions() throws Exception {
    // a sub-query may itself be a fusion: its fused list is ranked like any other
    Map<String, Double> expected = new HashMap<>();
    List<Hit> inner = hits(fuse("{!fuse queries=lex,vec}", "rows", "100"));
    List<Hit> other = hits(req("q", "category_s:finance", "fl", "id,score", "rows", "100", "sort", "score desc,id asc"));
    for (List<Hit> list : List.of(inner, other)) {
      for (int r = 0; r < list.size(); r++) {
        expected.merge(list.get(r).id, 1.0 / (60 + r + 1), Double::sum);
      }
    }
    assertFused(expected, hits(fuse("{!fuse queries=inner,fin}", "inner", "{!fuse queries=lex,vec}", "fin", "category_s:finance")));
  }

  @SuppressWarnings("unchecked")
  public void testDebugExplainsEachSubQuery() throws Exception {
    Map<String, Object> rsp = json(fuse("{!fuse method=linear queries=lex,vec}", "debugQuery", "true"));
    Map<String, Object> debug = (Map<String, Object>) rsp.get("debug");
    Map<String, Object> explain = (Map<String, Object>) debug.get("explain");
    assertFalse(explain.isEmpty());
    for (Map.Entry<String, Object> e : explain.entrySet()) {
      String text = e.getValue().toString();
      assertTrue(text, text.contains("fused by linear (norm=minmax"));
      assertTrue(text, text.contains("lex: "));
      assertTrue(text, text.contains("vec: "));
    }
    String cat = explain.get("cat").toString();
    assertTrue(cat, cat.matches("(?s).*lex: rank \\d+, score [0-9.E-]+, normalised [0-9.E-]+, weight 1.0, contribution [0-9.E-]+.*"));
    assertTrue(cat, cat.matches("(?s).*vec: rank \\d+, score [0-9.E-]+, normalised [0-9.E-]+, weight 1.0, contribution [0-9.E-]+.*"));
    Map<String, Object> fuse = (Map<String, Object>) debug.get("fuse");
    assertEquals(List.of("lex", "vec"), fuse.get("queries"));
  }

  public void testBadParamsAre400NamingTheParam() {
    assertBad("param 'queries'", fuse("{!fuse queries=lex}"));
    assertBad("param 'queries'", fuse("{!fuse}"));
    assertBad("sub-query param 'nope' (listed in 'queries') is missing", fuse("{!fuse queries=lex,nope}"));
    assertBad("param 'method' must be one of rrf, linear, got 'borda'", fuse("{!fuse method=borda queries=lex,vec}"));
    assertBad("param 'norm' must be one of minmax, zscore, none, got 'l2'", fuse("{!fuse method=linear norm=l2 queries=lex,vec}"));
    assertBad("param 'weights' must hold one weight per sub-query (2), got 3", fuse("{!fuse weights=1,1,1 queries=lex,vec}"));
    assertBad("param 'weights' must hold finite numbers, got 'NaN'", fuse("{!fuse weights=1,NaN queries=lex,vec}"));
    assertBad("param 'weights' must hold finite numbers, got 'x'", fuse("{!fuse weights=1,x queries=lex,vec}"));
    assertBad("param 'k' must be at least 1, got 0", fuse("{!fuse k=0 queries=lex,vec}"));
    assertBad("param 'k' must be at least 1, got -5", fuse("{!fuse k=-5 queries=lex,vec}"));
    assertBad("param 'depth' must be between 1 and 1000 (maxDepth), got 0", fuse("{!fuse depth=0 queries=lex,vec}"));
    assertBad("param 'depth' must be between 1 and 1000 (maxDepth), got 1001", fuse("{!fuse depth=1001 queries=lex,vec}"));
    assertBad("sub-query param 'bad': {!dense}: missing local param 'model'", fuse("{!fuse queries=lex,bad}", "bad", "{!dense f=vector}no model"));
    assertBad("sub-queries nest {!fuse} more than 3 deep", fuse("{!fuse queries=self,lex}", "self", "{!fuse queries=self,lex}"));
    assertBad("shard request lacks the coordinator's global ranks", fuse("{!fuse queries=lex,vec}", "isShard", "true"));
  }

  private static void assertBad(String message, SolrQueryRequest request) {
    assertQEx(message, message, request, ErrorCode.BAD_REQUEST);
  }

  /** The fused hits are exactly the expected documents, by score then id, with the expected scores. */
  private static void assertFused(Map<String, Double> expected, List<Hit> fused) {
    List<Map.Entry<String, Double>> order = new ArrayList<>(expected.entrySet());
    order.sort((a, b) -> Float.compare((float) (double) b.getValue(), (float) (double) a.getValue()) != 0
        ? Float.compare((float) (double) b.getValue(), (float) (double) a.getValue())
        : a.getKey().compareTo(b.getKey()));
    List<String> expectedIds = new ArrayList<>();
    order.forEach(e -> expectedIds.add(e.getKey()));
    assertEquals("fused " + fused + " expected " + order, expectedIds.subList(0, Math.min(10, expectedIds.size())), ids(fused));
    for (Hit h : fused) {
      assertEquals(h.id, expected.get(h.id), h.score, 1e-6);
    }
  }

  private static SolrQueryRequest fuse(String q, String... more) {
    List<String> p = new ArrayList<>(List.of("q", q, "lex", LEX, "vec", VEC, "fl", "id,score"));
    p.addAll(List.of(more));
    return req(p.toArray(new String[0]));
  }

  record Hit(String id, float score) {}

  private static List<String> ids(List<Hit> hits) {
    List<String> ids = new ArrayList<>();
    hits.forEach(h -> ids.add(h.id));
    return ids;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(SolrQueryRequest request) throws Exception {
    return (Map<String, Object>) Utils.fromJSONString(JQ(request));
  }

  @SuppressWarnings("unchecked")
  private static List<Hit> hits(SolrQueryRequest request) throws Exception {
    Map<String, Object> response = (Map<String, Object>) json(request).get("response");
    List<Hit> hits = new ArrayList<>();
    for (Object doc : (List<Object>) response.get("docs")) {
      Map<String, Object> d = (Map<String, Object>) doc;
      hits.add(new Hit((String) d.get("id"), ((Number) d.get("score")).floatValue()));
    }
    return hits;
  }
}
