package org.neuralsolr.eval;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * Every evaluation pipeline runs end to end (ingest, queries, report) through the tool's entry point
 * over a small collection that looks like the real world (issue 20): documents with neither title
 * nor text, title only, text only, CJK, Arabic, Cyrillic, Devanagari and Hebrew, emoji, control
 * characters, zero-width and bidi characters, lone surrogates, markup, a 5,000-character token, a
 * numeric and a non-ASCII id, and one document of {@value #LONG_DOCUMENT_WORDS} words (written at
 * test time). One Solr serves every run, as {@code --solr}; the colbert pipelines use small
 * codebooks.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class RealWorldCollectionTest extends SolrTestCase {
  static final int LONG_DOCUMENT_WORDS = 100_000;
  private static final String LONG_DOCUMENT_ID = "long-100k";

  private static LocalSolr solr;
  private static Path root;
  private static Path dataset;
  private static int documents;

  /**
   * Documents with no text (neither title nor text, nulls, or nothing but white space, control and
   * zero-width characters, which tokenizers strip): indexed without the fields the update processor
   * encodes.
   */
  private static final Set<String> WITHOUT_TEXT = Set.of("empty", "no-fields", "null-fields", "whitespace", "control-only", "zero-width-only");

  /** Those and the documents in which Lucene's EnglishAnalyzer finds no term. */
  private static final Set<String> WITHOUT_WORDS = Set.of(
      "empty", "no-fields", "null-fields", "whitespace", "control-only", "zero-width-only", "punctuation-only");

  private static final Map<String, Integer> COLBERT_WITHOUT = Map.of(
      "vector", WITHOUT_TEXT.size(),
      "colbert", WITHOUT_TEXT.size(),
      "colbert_nbits0", WITHOUT_TEXT.size(),
      "colbert_nbits1", WITHOUT_TEXT.size(),
      "colbert_nbits4", WITHOUT_TEXT.size());

  /** A small codebook: the index is one ColBERT index for the three pipelines that read it. */
  private static final String[] COLBERT_INDEX = {"--param", "centroids=64"};

  @BeforeClass
  public static void startSolr() throws Exception {
    // the default file system, as the tool has it (the test framework's wrapper refuses mixing
    // its paths with those the model loader builds)
    root = Path.of(createTempDir("repository").toString());
    Path conf = Files.createDirectories(root.resolve("conf"));
    copyFiles(NeuralTestHomes.configset(), conf);
    dataset = Path.of(createTempDir("datasets").toString()).resolve("realworld");
    copyDataset(committedDataset(), dataset);
    appendLongDocument(dataset.resolve("corpus.jsonl"));
    try (BeirCorpusReader corpus = BeirDataset.at(dataset).openCorpus()) {
      while (corpus.next() != null) {
        documents++;
      }
    }
    solr = LocalSolr.start(createTempDir("solr-home"), conf, 0);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
  }

  public void testBm25() throws Exception {
    evaluate("bm25", Map.of());
  }

  public void testDense() throws Exception {
    evaluate("dense", Map.of("vector", WITHOUT_TEXT.size()));
  }

  public void testDenseInt8() throws Exception {
    evaluate("dense-int8", Map.of("vector", WITHOUT_TEXT.size()));
  }

  public void testDenseE5() throws Exception {
    evaluate("dense-e5", Map.of("vector", WITHOUT_TEXT.size()));
  }

  @SuppressWarnings("unchecked")
  public void testDenseMiniLm() throws Exception {
    Map<String, Object> r = evaluate("dense-minilm", Map.of("vector", WITHOUT_TEXT.size()));
    // the report counts the documents the model truncates: at least the 100,000-word one
    Map<String, Object> longer = (Map<String, Object>) r.get("documentsLongerThanMaxLength");
    assertEquals(r.toString(), 256L, ((Number) longer.get("maxLength")).longValue());
    assertEquals(r.toString(), (long) documents - WITHOUT_TEXT.size(), ((Number) longer.get("documents")).longValue());
    long n = ((Number) longer.get("longer")).longValue();
    assertTrue(r.toString(), n >= 1 && n < documents - WITHOUT_TEXT.size());
  }

  public void testDenseQ7() throws Exception {
    Map<String, Object> r = evaluate("dense-q7", Map.of("vector", WITHOUT_TEXT.size()));
    // 384 dimensions: one byte each and a correction float, against four bytes each
    assertEquals(r.toString(), 388, ((Number) r.get("bytes_per_vector")).doubleValue(), 388 * 0.2);
    assertTrue(r.toString(), ((Number) r.get("vector_bytes_ratio")).doubleValue() <= 0.3);
  }

  public void testDenseQ4Rescored() throws Exception {
    // the same index as dense-q7: one encoding, three precisions
    Map<String, Object> r = evaluate("dense-q4", Map.of("vector", WITHOUT_TEXT.size()), "--param", "rescore=200");
    assertTrue(r.toString(), ((Number) r.get("vector_bytes_ratio")).doubleValue() <= 0.16);
  }

  /** Passages: the vectors are on the passages; the documents without text have none. */
  public void testDenseMiniLmMaxP() throws Exception {
    evaluate("dense-minilm-maxp", Map.of("passage_vector", WITHOUT_TEXT.size()));
  }

  public void testDenseMiniLmFirstP() throws Exception {
    evaluate("dense-minilm-firstp", Map.of("passage_vector", WITHOUT_TEXT.size()));
  }

  public void testDenseMaxP() throws Exception {
    evaluate("dense-maxp", Map.of("passage_vector", WITHOUT_TEXT.size()));
  }

  /** A decoder (stories260K, last-token pooling) end to end; its quality is not asserted. */
  public void testDenseStories260k() throws Exception {
    Path models = Files.createDirectories(root.resolve(".eval/models"));
    copyFiles(NeuralTestHomes.parityFixtures().resolve(Pipelines.STORIES_PACKAGE), Files.createDirectories(models.resolve(Pipelines.STORIES_PACKAGE)));
    // a Solr of its own: standalone Solr persists a core's Schema API edits into the configset the
    // cores share, and the pipelines before it (colbert, dense-q7) edited it with 'vector' at 384
    Map<String, Object> r;
    try (LocalSolr own = LocalSolr.start(createTempDir("solr-home-stories"), root.resolve("conf"), 0)) {
      r = evaluate(own, "dense-stories260k", Map.of("vector", WITHOUT_TEXT.size()));
    }
    Map<String, Object> index = (Map<String, Object>) r.get("index");
    assertTrue(r.toString(), String.valueOf(index.get("neuralFields")).contains("vector"));
  }

  public void testBm25DenseRerank() throws Exception {
    evaluate("bm25>dense-rerank", Map.of("vector", WITHOUT_TEXT.size()));
  }

  public void testColbert() throws Exception {
    evaluate("colbert", COLBERT_WITHOUT, COLBERT_INDEX);
  }

  public void testColbertRerank() throws Exception {
    evaluate("colbert-rerank", COLBERT_WITHOUT, COLBERT_INDEX);
  }

  public void testBm25MaxSimRerank() throws Exception {
    evaluate("bm25>maxsim-rerank", COLBERT_WITHOUT, COLBERT_INDEX);
  }

  public void testSparseBm25() throws Exception {
    // the tool sends BM25 weights itself: a document without a term of the analyser has none
    evaluate("sparse-bm25", Map.of("sparse", WITHOUT_WORDS.size()));
  }

  public void testSparseProxy() throws Exception {
    evaluate("sparse-proxy", Map.of("sparse", WITHOUT_TEXT.size()));
  }

  /** The sets above say what the corpus holds. */
  public void testDocumentsWithoutTextOrWords() throws IOException {
    Set<String> withoutText = new TreeSet<>();
    Set<String> withoutWords = new TreeSet<>();
    try (BeirCorpusReader corpus = BeirDataset.at(dataset).openCorpus();
        Analyzer analyzer = new EnglishAnalyzer()) {
      CorpusDocument d;
      while ((d = corpus.next()) != null) {
        String text = d.title() + " " + d.text();
        // white space, control and format characters only: what tokenizers strip
        if (text.replaceAll("[\\s\\p{Z}\\p{Cc}\\p{Cf}]", "").isEmpty()) {
          withoutText.add(d.id());
        }
        try (TokenStream tokens = analyzer.tokenStream("contents", text)) {
          tokens.reset();
          if (!tokens.incrementToken()) {
            withoutWords.add(d.id());
          }
          tokens.end();
        }
      }
    }
    assertEquals(new TreeSet<>(WITHOUT_TEXT), withoutText);
    assertEquals(new TreeSet<>(WITHOUT_WORDS), withoutWords);
  }

  /**
   * Runs the pipeline through {@link NeuralEval#run} and checks its report: every document indexed,
   * every judged query run, and per neural field the documents indexed without it.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> evaluate(String pipeline, Map<String, Integer> documentsWithoutField, String... params) throws Exception {
    return evaluate(solr, pipeline, documentsWithoutField, params);
  }

  private static Map<String, Object> evaluate(LocalSolr solr, String pipeline, Map<String, Integer> documentsWithoutField, String... params)
      throws Exception {
    Path report = createTempDir("report").resolve("report.json");
    List<String> args = new ArrayList<>(List.of("--dataset", dataset.toString(), "--pipeline", pipeline, "--solr", solr.baseUrl(), "--out", report.toString()));
    args.addAll(List.of(params));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = NeuralEval.run(args.toArray(new String[0]), root, o, e);
    }
    String output = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertEquals(output, 0, code);
    assertTrue(output, out.toString(StandardCharsets.UTF_8).strip().matches("(?s).*\\nndcg@10=\\d\\.\\d{4} recall@100=\\d\\.\\d{4}$"));

    Map<String, Object> r = (Map<String, Object>) Utils.fromJSONString(Files.readString(report));
    Map<String, Object> metrics = (Map<String, Object>) r.get("metrics");
    assertEquals(output, 5L, ((Number) metrics.get("queriesEvaluated")).longValue() + ((Number) metrics.get("queriesMissingFromRun")).longValue());
    Map<String, Object> index = (Map<String, Object>) r.get("index");
    assertEquals(documents, ((Number) index.get("documents")).intValue());
    Map<String, Object> ingest = (Map<String, Object>) r.get("ingest");
    Map<String, Object> without = (Map<String, Object>) ingest.getOrDefault("documentsWithoutNeuralField", Map.of());
    Map<String, Integer> counted = new TreeMap<>();
    without.forEach((field, n) -> counted.put(field, ((Number) n).intValue()));
    assertEquals(new TreeMap<>(documentsWithoutField), counted);
    // the pipelines rank the judged documents high: they do not merely survive the collection
    // (stories260K's quality is meaningless: it only has to run)
    if (!pipeline.equals("dense-stories260k")) {
      assertTrue(output, ((Number) metrics.get("ndcg@10")).doubleValue() > 0.5);
    }
    return r;
  }

  /** The committed collection: {@code src/test/resources/datasets/realworld}, as test-classes holds it. */
  private static Path committedDataset() throws URISyntaxException {
    return Path.of(RealWorldCollectionTest.class.getClassLoader().getResource("datasets/realworld/corpus.jsonl").toURI()).getParent();
  }

  /**
   * Appends the document of {@value #LONG_DOCUMENT_WORDS} words (about 700 KB, so it is written here
   * rather than committed): words of the collection's domain in a fixed pseudo-random order.
   */
  static void appendLongDocument(Path corpus) throws IOException {
    String[] words = (
        "boundary layer transition flat plate heat transfer skin friction supersonic hypersonic Mach number wall "
            + "temperature laminar turbulent separation shock wave interaction pressure gradient Reynolds analogy "
            + "wind tunnel measurement the of and in on at with a").split(" ");
    StringBuilder text = new StringBuilder(LONG_DOCUMENT_WORDS * 8);
    long state = 20L;
    for (int i = 0; i < LONG_DOCUMENT_WORDS; i++) {
      state = state * 6364136223846793005L + 1442695040888963407L; // Knuth's MMIX LCG
      text.append(i == 0 ? "" : i % 20 == 0 ? ". " : " ").append(words[(int) ((state >>> 33) % words.length)]);
    }
    try (Writer w = Files.newBufferedWriter(corpus, StandardCharsets.UTF_8, StandardOpenOption.APPEND)) {
      w.write("{\"_id\": \"" + LONG_DOCUMENT_ID + "\", \"title\": \"A report of " + LONG_DOCUMENT_WORDS + " words\", \"text\": \"" + text + ".\"}\n");
    }
  }

  private static void copyDataset(Path from, Path to) throws IOException {
    copyFiles(from, Files.createDirectories(to));
    copyFiles(from.resolve("qrels"), Files.createDirectories(to.resolve("qrels")));
  }

  private static void copyFiles(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.copy(f, to.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
