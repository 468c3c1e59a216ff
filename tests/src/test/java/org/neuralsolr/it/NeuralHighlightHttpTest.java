package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.BaseHttpSolrClient;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.NamedList;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * {@code hl.method=neural} over HTTP: each hit's sentences ranked by the query text, in Solr's
 * highlighting section (read by SolrJ as any highlighting) with scores and offsets in {@code
 * neuralHighlighting}, whatever the query parser; bad params are 400s naming the param.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class NeuralHighlightHttpTest extends SolrTestCase {
  private static final String CORE = "hl";
  /** The same documents, with maxSentences = 5. */
  private static final String SMALL_CORE = "hlsmall";
  /** Token vectors without their spans (neural.colbert.spans empty), as in an index from before spans were kept. */
  private static final String NO_SPANS_CORE = "hlnospans";
  private static LocalSolr solr;
  private static List<SolrInputDocument> docs;

  @BeforeClass
  public static void startSolr() throws Exception {
    solr = LocalSolr.start(createTempDir(), NeuralTestHomes.configset(), 0);
    solr.createCore(CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8"));
    solr.createCore(SMALL_CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8", "neural.highlight.maxSentences", "5"));
    solr.createCore(NO_SPANS_CORE, Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8", "neural.colbert.spans", ""));
    docs = SampleDocs.first(30);
    // a schema-kept sentence split: the abstract's sentences as a multi-valued field, reversed so
    // that its order differs from the text's
    SolrInputDocument split = new SolrInputDocument("id", "split-1", "title", "Stem cells");
    split.addField("sentences_ss", List.of("The weather was sunny in Paris.", "Stem cells renew the blood of the bone marrow.", "Prices rose."));
    docs.add(split);
    // a text whose sentence split another field lists (its second entry joins two sentences)
    SolrInputDocument listed = new SolrInputDocument("id", "listed-1", "title", "Listed");
    listed.addField("text", "  Prices rose in May. The weather was sunny in Paris. Stem cells renew the blood.");
    listed.addField("sentences_ss", List.of("Prices rose in May.", "The weather was sunny in Paris. Stem cells renew the blood."));
    docs.add(listed);
    solr.client().add(CORE, docs);
    solr.client().commit(CORE);
    solr.client().add(SMALL_CORE, docs);
    solr.client().commit(SMALL_CORE);
    // token vectors for maxsim: the same documents through the ColBERT chain (title + text encoded)
    org.apache.solr.client.solrj.request.UpdateRequest add = new org.apache.solr.client.solrj.request.UpdateRequest();
    add.add(docs.subList(0, 12));
    add.setParam("update.chain", "neural-colbert");
    add.process(solr.client(), CORE);
    solr.client().commit(CORE);
    add.process(solr.client(), NO_SPANS_CORE);
    solr.client().commit(NO_SPANS_CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  /** A neural highlighting request for {@code q}, with extra params as name/value pairs. */
  private static SolrQuery highlight(String q, String... params) {
    SolrQuery query = new SolrQuery(q).setFields("id", "score").setRows(3);
    query.set("hl", "true").set("hl.method", "neural").set("hl.fl", "text");
    for (int i = 0; i < params.length; i += 2) {
      query.set(params[i], params[i + 1]);
    }
    return query;
  }

  @SuppressWarnings("unchecked")
  private static NamedList<Object> details(QueryResponse rsp, String id, String field) {
    NamedList<Object> section = (NamedList<Object>) rsp.getResponse().get("neuralHighlighting");
    assertNotNull("no neuralHighlighting section in " + rsp.getResponse(), section);
    return (NamedList<Object>) ((NamedList<Object>) section.get(id)).get(field);
  }

  /** A sentence of an abstract, as the query text, is that abstract's best sentence, with its offsets. */
  public void testASentenceOfTheTextIsItsOwnBestSnippet() throws Exception {
    SolrInputDocument doc = docs.get(7);
    String text = (String) doc.getFieldValue("text");
    String[] parts = text.split("(?<=\\.) (?=[A-Z])");
    assertTrue("the abstract has several sentences", parts.length >= 3);
    String sentence = parts[parts.length / 2];
    SolrQuery q = highlight("id:" + doc.getFieldValue("id"));
    q.set("hl.neural.text", sentence).set("hl.snippets", "2").set("hl.neural.details", "true");
    QueryResponse rsp = solr.client().query(CORE, q);
    String id = (String) doc.getFieldValue("id");
    List<String> snippets = rsp.getHighlighting().get(id).get("text");
    assertEquals(2, snippets.size());
    assertEquals(sentence, snippets.get(0));

    NamedList<Object> d = details(rsp, id, "text");
    @SuppressWarnings("unchecked")
    List<NamedList<Object>> top = (List<NamedList<Object>>) d.get("snippets");
    assertEquals(2, top.size());
    int start = (Integer) top.get(0).get("start");
    int end = (Integer) top.get(0).get("end");
    assertEquals(sentence, text.substring(start, end));
    float best = (Float) top.get(0).get("score");
    assertTrue((Float) top.get(1).get("score") <= best);
    @SuppressWarnings("unchecked")
    List<NamedList<Object>> all = (List<NamedList<Object>>) d.get("sentences");
    assertTrue(all.size() >= parts.length - 1);
    float max = Float.NEGATIVE_INFINITY;
    int previousEnd = 0;
    for (NamedList<Object> s : all) {
      max = Math.max(max, (Float) s.get("score"));
      int sStart = (Integer) s.get("start");
      assertTrue("sentences in document order, not overlapping", sStart >= previousEnd);
      previousEnd = (Integer) s.get("end");
      assertEquals(s.get("text"), text.substring(sStart, previousEnd));
    }
    assertEquals(max, best, 0f);
  }

  /** The query text comes from q for {!dense}, BM25 and a re-ranked query alike. */
  public void testTheQueryTextComesFromQWhateverTheParser() throws Exception {
    SolrInputDocument doc = docs.get(12);
    String id = (String) doc.getFieldValue("id");
    String title = (String) doc.getFieldValue("title");
    SolrQuery byText = highlight("id:" + id).setRows(1);
    byText.set("hl.neural.text", title);
    List<String> expected = solr.client().query(CORE, byText).getHighlighting().get(id).get("text");
    assertNotNull(expected);

    List<SolrQuery> queries = new ArrayList<>();
    queries.add(highlight("{!dense f=vector model=bge-small topK=5}" + title));
    queries.add(highlight(title.replaceAll("[^A-Za-z0-9 ]", " ").toLowerCase(java.util.Locale.ROOT), "df", "contents", "q.op", "OR"));
    queries.add(
        highlight("{!dense f=vector model=bge-small topK=20}" + title, "rq", "{!neural_rerank model=bge-small f=vector reRankDocs=20}", "rq.text", title));
    for (SolrQuery q : queries) {
      q.setRows(20);
      QueryResponse rsp = solr.client().query(CORE, q);
      boolean found = rsp.getResults().stream().anyMatch(d -> id.equals(d.get("id")));
      assertTrue("the document is a hit of " + q, found);
      if (q.getQuery().startsWith("{!dense")) {
        assertEquals(q.toString(), expected, rsp.getHighlighting().get(id).get("text"));
      } else {
        // BM25's q is the title with punctuation blanked: the text differs, the snippets exist
        assertEquals(1, rsp.getHighlighting().get(id).get("text").size());
      }
      assertEquals(rsp.getResults().size(), rsp.getHighlighting().size());
    }
  }

  /** Each value of a multi-valued field is a sentence; offsets are within the value. */
  public void testMultiValuedFieldValuesAreTheSentences() throws Exception {
    SolrQuery q = highlight("id:split-1");
    q.set("hl.fl", "sentences_ss").set("hl.neural.text", "blood stem cells").set("hl.neural.details", "true");
    QueryResponse rsp = solr.client().query(CORE, q);
    assertEquals(List.of("Stem cells renew the blood of the bone marrow."), rsp.getHighlighting().get("split-1").get("sentences_ss"));
    NamedList<Object> d = details(rsp, "split-1", "sentences_ss");
    @SuppressWarnings("unchecked")
    NamedList<Object> top = ((List<NamedList<Object>>) d.get("snippets")).get(0);
    assertEquals(1, top.get("value"));
    assertEquals(0, top.get("start"));
    assertEquals("Stem cells renew the blood of the bone marrow.".length(), top.get("end"));
    assertEquals(3, ((List<?>) d.get("sentences")).size());
  }

  /**
   * {@code maxsim} reads the stored token vectors: a sentence of the abstract is its own best
   * snippet, the tokens that won a query token are tagged, and their spans are words of the text.
   */
  @SuppressWarnings("unchecked")
  public void testMaxSimRanksSentencesByStoredTokenVectorsAndTagsTheWinners() throws Exception {
    SolrInputDocument doc = docs.get(5);
    String id = (String) doc.getFieldValue("id");
    String text = (String) doc.getFieldValue("text");
    String[] parts = text.split("(?<=\\.) (?=[A-Z])");
    assertTrue("the abstract has several sentences", parts.length >= 3);
    String sentence = parts[1];
    SolrQuery q =
        highlight("{!colbert f=colbert model=bge-small}" + sentence, "hl.neural.method", "maxsim", "hl.neural.details", "true",
            "hl.tag.pre", "[[", "hl.tag.post", "]]");
    q.setRows(12);
    QueryResponse rsp = solr.client().query(CORE, q);
    assertEquals("the sentence's own abstract is the best hit", id, rsp.getResults().get(0).get("id"));
    String snippet = rsp.getHighlighting().get(id).get("text").get(0);
    assertTrue(snippet, snippet.contains("[["));
    assertEquals(sentence, snippet.replace("[[", "").replace("]]", ""));

    NamedList<Object> top = ((List<NamedList<Object>>) details(rsp, id, "text").get("snippets")).get(0);
    assertEquals(sentence, text.substring((Integer) top.get("start"), (Integer) top.get("end")));
    assertTrue((Float) top.get("score") > 0);
    List<List<Integer>> matches = (List<List<Integer>>) top.get("matches");
    assertFalse(matches.isEmpty());
    for (List<Integer> m : matches) {
      String word = text.substring(m.get(0), m.get(1));
      assertTrue(word, m.get(0) >= (Integer) top.get("start") && m.get(1) <= (Integer) top.get("end"));
      assertEquals("a matched token is text, not white space: '" + word + "'", word.strip(), word);
      assertFalse(word.isEmpty());
    }
    List<NamedList<Object>> all = (List<NamedList<Object>>) details(rsp, id, "text").get("sentences");
    float best = (Float) top.get("score");
    for (NamedList<Object> s : all) {
      assertTrue((Float) s.get("score") <= best);
    }

    // the title is highlighted from the same token vectors (it comes first in the encoded text)
    SolrQuery titles = highlight("id:" + id, "hl.neural.method", "maxsim", "hl.fl", "title,text", "hl.neural.text", sentence);
    Map<String, List<String>> both = solr.client().query(CORE, titles).getHighlighting().get(id);
    assertEquals(doc.getFieldValue("title"), both.get("title").get(0));
    assertEquals(sentence, both.get("text").get(0));
  }

  /**
   * {@code hl.neural.encode=sentences}: each sentence encoded alone at query time. A sentence of
   * the abstract, as the query, then meets its own token vectors (the same tokens in the same
   * context): every one of its words wins a query token and its score rises above the score from
   * the stored vectors, which carry the whole abstract's context. A misspelt value is a 400.
   */
  @SuppressWarnings("unchecked")
  public void testMaxSimEncodeSentencesScoresEachSentenceAlone() throws Exception {
    SolrInputDocument doc = docs.get(5);
    String id = (String) doc.getFieldValue("id");
    String text = (String) doc.getFieldValue("text");
    String sentence = text.split("(?<=\\.) (?=[A-Z])")[1];
    float[] scores = new float[2];
    for (String encode : new String[] {"document", "sentences"}) {
      SolrQuery q =
          highlight("id:" + id, "hl.neural.method", "maxsim", "hl.neural.encode", encode, "hl.neural.text", sentence, "hl.neural.details", "true",
              "hl.tag.pre", "[[", "hl.tag.post", "]]");
      QueryResponse rsp = solr.client().query(CORE, q);
      String snippet = rsp.getHighlighting().get(id).get("text").get(0);
      assertEquals(encode, sentence, snippet.replace("[[", "").replace("]]", ""));
      NamedList<Object> top = ((List<NamedList<Object>>) details(rsp, id, "text").get("snippets")).get(0);
      scores["document".equals(encode) ? 0 : 1] = (Float) top.get("score");
      if ("sentences".equals(encode)) {
        // every letter or digit of the sentence lies in a matched span: each word won its own query token
        int start = (Integer) top.get("start");
        boolean[] covered = new boolean[sentence.length()];
        for (List<Integer> m : (List<List<Integer>>) top.get("matches")) {
          for (int c = m.get(0); c < m.get(1); c++) {
            covered[c - start] = true;
          }
        }
        for (int c = 0; c < sentence.length(); c++) {
          assertTrue("not matched: '" + sentence.charAt(c) + "' at " + c + " of " + sentence + " in " + snippet,
              covered[c] || !Character.isLetterOrDigit(sentence.charAt(c)));
        }
      }
    }
    assertTrue("sentences " + scores[1] + " vs stored " + scores[0], scores[1] > scores[0]);

    // no stored token vectors needed: the core indexed through the default chain highlights too
    SolrQuery small = highlight("id:listed-1", "hl.neural.method", "maxsim", "hl.neural.encode", "sentences", "hl.neural.text", "blood stem cells");
    assertEquals(List.of("Stem cells renew the blood."), solr.client().query(SMALL_CORE, small).getHighlighting().get("listed-1").get("text"));

    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "maxsim", "hl.neural.encode", "sentence"), "param 'hl.neural.encode'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.encode", "bogus"), "param 'hl.neural.encode'");
  }

  /**
   * The spans kept at ingest beside the token vectors give the highlighter what tokenising the text
   * again gives an index without them: the same scores, winners and tags for every sentence of 12 hits.
   */
  @SuppressWarnings("unchecked")
  public void testStoredSpansGiveWhatTheTokenizerGives() throws Exception {
    String sentence = ((String) docs.get(3).getFieldValue("text")).split("(?<=\\.) (?=[A-Z])")[0];
    SolrQuery q =
        highlight("{!colbert f=colbert model=bge-small topK=12}" + sentence, "hl.neural.method", "maxsim", "hl.neural.details", "true", "hl.fl", "title,text",
            "hl.snippets", "3", "hl.tag.pre", "[[", "hl.tag.post", "]]");
    q.setRows(12);
    QueryResponse with = solr.client().query(CORE, q);
    QueryResponse without = solr.client().query(NO_SPANS_CORE, q);
    assertEquals(12, with.getResults().size());
    assertEquals(with.getHighlighting(), without.getHighlighting());
    NamedList<Object> a = (NamedList<Object>) with.getResponse().get("neuralHighlighting");
    NamedList<Object> b = (NamedList<Object>) without.getResponse().get("neuralHighlighting");
    assertEquals(a.size(), b.size());
    int matched = 0;
    for (int i = 0; i < a.size(); i++) {
      assertEquals(a.getName(i), b.getName(i));
      for (String field : new String[] {"title", "text"}) {
        List<NamedList<Object>> sa = (List<NamedList<Object>>) ((NamedList<Object>) ((NamedList<Object>) a.getVal(i)).get(field)).get("sentences");
        List<NamedList<Object>> sb = (List<NamedList<Object>>) ((NamedList<Object>) ((NamedList<Object>) b.getVal(i)).get(field)).get("sentences");
        assertEquals(sa.size(), sb.size());
        for (int s = 0; s < sa.size(); s++) {
          assertEquals(a.getName(i) + " " + field + " " + s, (Float) sa.get(s).get("score"), (Float) sb.get(s).get("score"), 1e-5f);
          assertEquals(a.getName(i) + " " + field + " " + s, sa.get(s).get("matches"), sb.get(s).get("matches"));
          matched += ((List<?>) sa.get(s).get("matches")).size();
        }
      }
    }
    assertTrue("some tokens matched", matched > 0);

    // the spans are there in one index and not in the other: both paths above were taken
    SolrQuery fl = new SolrQuery("id:" + docs.get(3).getFieldValue("id")).setFields("id", "colbert_spans");
    Object kept = solr.client().query(CORE, fl).getResults().get(0).getFieldValue("colbert_spans");
    assertTrue(String.valueOf(kept), kept instanceof byte[] && ((byte[]) kept).length > 10);
    assertNull(solr.client().query(NO_SPANS_CORE, fl).getResults().get(0).getFieldValue("colbert_spans"));
  }

  /** A spans field that cannot hold them fails the core at load, naming the setting. */
  public void testSpansFieldMustBeABinaryDocValuesField() {
    Exception e =
        expectThrows(Exception.class, () -> solr.createCore("hlbadspans", Map.of("neural.dense.package", "builtin:bge-small-en-v1.5-int8", "neural.colbert.spans", "title")));
    assertTrue(e.getMessage(), e.getMessage().contains("'spans' must name a single-valued solr.BinaryField"));
  }

  public void testMaxSimErrorsAre400NamingTheParam() {
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "maxsim", "hl.fl", "sentences_ss"), "param 'hl.fl'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "maxsim", "hl.neural.field", "vector"), "param 'hl.neural.field'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "maxsim", "hl.neural.model", "other"), "param 'hl.neural.model'");
    // indexed through the default chain: no token vectors to read
    assertBadRequest(SMALL_CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "maxsim"), "no document of this index has token vectors in 'colbert'");
  }

  /** {@code hl.neural.sentences}: another field lists the text's sentences; offsets are in the text. */
  public void testAListedSplitIsLocatedInTheText() throws Exception {
    SolrQuery q = highlight("id:listed-1", "hl.neural.text", "blood stem cells", "f.text.hl.neural.sentences", "sentences_ss", "hl.neural.details", "true");
    QueryResponse rsp = solr.client().query(CORE, q);
    assertEquals(List.of("The weather was sunny in Paris. Stem cells renew the blood."), rsp.getHighlighting().get("listed-1").get("text"));
    @SuppressWarnings("unchecked")
    List<NamedList<Object>> all = (List<NamedList<Object>>) details(rsp, "listed-1", "text").get("sentences");
    assertEquals(2, all.size());
    assertEquals(1, all.get(1).get("sentence"));
    assertEquals(22, all.get(1).get("start"));
    assertEquals(2, all.get(0).get("start"));
    assertBadRequest(CORE, highlight("id:listed-1", "hl.neural.text", "cells", "f.text.hl.neural.sentences", "title"), "param 'hl.neural.sentences'");
  }

  public void testBadParamsAre400NamingTheParam() {
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "bogus"), "param 'hl.neural.method'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.neural.model", "nope"), "param 'hl.neural.model'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.fl", "contents"), "param 'hl.fl'");
    assertBadRequest(CORE, highlight("*:*", "hl.neural.text", "cells", "hl.snippets", "0"), "param 'hl.snippets'");
    assertBadRequest(
        CORE,
        highlight("{!fuse method=rrf queries=a,b}", "a", "{!lucene df=contents}cells", "b", "{!dense f=vector model=bge-small}cells"),
        "param 'hl.neural.text'");
    assertBadRequest(
        CORE,
        highlight("*:*", "hl.neural.text", "cells", "hl.neural.method", "cross-encoder", "hl.neural.model", "bge-small"),
        "not a cross-encoder");
    assertBadRequest(SMALL_CORE, highlight("*:*", "hl.neural.text", "cells"), "maxSentences");
  }

  private static void assertBadRequest(String core, SolrQuery q, String expected) {
    BaseHttpSolrClient.RemoteSolrException e = expectThrows(BaseHttpSolrClient.RemoteSolrException.class, () -> solr.client().query(core, q));
    assertEquals(e.getMessage(), 400, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains(expected));
  }

  /** Other highlighters are Solr's own, untouched by the component that replaces Solr's. */
  public void testUnifiedHighlighterStillWorks() throws Exception {
    SolrQuery q = new SolrQuery("text:cells").setRows(2).setFields("id");
    q.set("hl", "true").set("hl.fl", "text");
    QueryResponse rsp = solr.client().query(CORE, q);
    assertFalse(rsp.getHighlighting().isEmpty());
    String snippet = rsp.getHighlighting().values().iterator().next().get("text").get(0);
    assertTrue(snippet, snippet.contains("<em>"));
    assertNull(rsp.getResponse().get("neuralHighlighting"));
  }
}
