package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.lucene.tests.util.LuceneTestCase.SuppressFileSystems;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * The SPLADE encoder reproduces PyTorch's reference vectors of the {@code tiny-splade} parity
 * fixture to 1e-4: through ONNX Runtime and TorchScript, from token-level logits and from graphs
 * that pool themselves, alone and batched, with special positions masked and pruned as manifests
 * say; and the doc-only query side (tokenizer + token weight table). Manifests whose output does
 * not fit the sparse kind are refused.
 */
@SuppressFileSystems("*") // packages copied to a temporary model root are read by real paths
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class TinySpladeParityTest extends SolrTestCase {
  private static final float TOLERANCE = 1e-4f;
  private static Map<String, Object> reference;
  private static List<Map<String, Object>> texts;
  private static final Map<String, ServedModel> models = new HashMap<>();

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void load() {
    reference = ParityFixtures.reference("tiny-splade");
    texts = (List<Map<String, Object>>) reference.get("texts");
    for (String manifest :
        List.of("neural-model.json", "neural-model-torchscript.json", "neural-model-pooled.json",
            "neural-model-pooled-torchscript.json", "neural-model-doc-only.json")) {
      models.put(manifest, new ServedModel(ParityFixtures.load("tiny-splade", manifest), SchedulerConfig.DEFAULTS));
    }
  }

  @AfterClass
  public static void close() {
    models.values().forEach(ServedModel::close);
    models.clear();
    reference = null;
    texts = null;
  }

  private static List<String> allTexts() {
    List<String> all = new ArrayList<>();
    for (Map<String, Object> t : texts) {
      all.add((String) t.get("text"));
    }
    return all;
  }

  public void testEnginesAndShapesAreTheOnesAsked() {
    assertTrue(models.get("neural-model.json").engine().startsWith("OnnxRuntime"));
    assertTrue(models.get("neural-model-torchscript.json").engine().startsWith("PyTorch"));
    assertTrue(models.get("neural-model-pooled-torchscript.json").engine().startsWith("PyTorch"));
    ServedModel pooled = models.get("neural-model-pooled.json");
    BatchOutput out = pooled.model.forward(List.of(pooled.model.tokenize("warm up")));
    assertFalse("the pooled graph's output is [batch, vocabulary]", out.perToken);
    assertEquals(((Number) reference.get("vocabSize")).intValue(), out.width);
  }

  public void testTokensAndSpecialTokensMaskMatchPython() {
    ServedModel m = models.get("neural-model.json");
    for (Map<String, Object> t : texts) {
      TokenizedText tokens = m.model.tokenize((String) t.get("text"));
      assertArrayEquals((String) t.get("text"), ParityFixtures.longs(t.get("inputIds")), tokens.ids);
      assertArrayEquals(ParityFixtures.longs(t.get("specialTokensMask")), tokens.specialTokensMask);
      @SuppressWarnings("unchecked")
      List<String> pieces = (List<String>) t.get("tokens");
      for (int i = 0; i < pieces.size(); i++) {
        assertEquals(pieces.get(i), m.model.vocabulary().token((int) tokens.ids[i]));
      }
    }
  }

  public void testLogitsMatchPythonOnBothEngines() {
    Map<String, Object> first = texts.get(0);
    float[] expected = ParityFixtures.floats(first.get("logits"));
    for (String manifest : List.of("neural-model.json", "neural-model-torchscript.json")) {
      ServedModel m = models.get(manifest);
      BatchOutput out = m.model.forward(List.of(m.model.tokenize((String) first.get("text"))));
      assertEquals(expected.length, out.data.length);
      for (int i = 0; i < expected.length; i++) {
        assertEquals(manifest + " logit " + i, expected[i], out.data[i], TOLERANCE);
      }
    }
  }

  public void testSpladeVectorsMatchPythonAloneAndBatchedOnEveryGraph() {
    for (String manifest :
        List.of("neural-model.json", "neural-model-torchscript.json", "neural-model-pooled.json", "neural-model-pooled-torchscript.json")) {
      SparseEncoder encoder = models.get(manifest).sparseEncoder();
      List<Map<String, Float>> batched = encoder.encode(allTexts(), TextRole.DOCUMENT);
      for (int i = 0; i < texts.size(); i++) {
        Map<String, Object> t = texts.get(i);
        assertVector(manifest + " batched: " + t.get("text"), expected(t, "spladeVector"), batched.get(i));
        Map<String, Float> alone = encoder.encode(List.of((String) t.get("text")), TextRole.DOCUMENT).get(0);
        assertVector(manifest + " alone: " + t.get("text"), expected(t, "spladeVector"), alone);
        assertHeaviestFirst(alone);
      }
    }
  }

  /** The heaviest terms Python names (strings, not ids): the id-to-token mapping is right. */
  @SuppressWarnings("unchecked")
  public void testTopTermsAreTheTokensPythonNames() {
    SparseEncoder encoder = models.get("neural-model.json").sparseEncoder();
    for (Map<String, Object> t : texts) {
      Map<String, Float> vector = encoder.encode(List.of((String) t.get("text")), TextRole.DOCUMENT).get(0);
      List<String> ours = new ArrayList<>(vector.keySet());
      List<List<Object>> top = (List<List<Object>>) t.get("topTerms");
      for (int i = 0; i < top.size(); i++) {
        assertEquals(t.get("text") + " rank " + i, top.get(i).get(0), ours.get(i));
        assertEquals(((Number) top.get(i).get(1)).floatValue(), vector.get(ours.get(i)), TOLERANCE);
      }
    }
  }

  public void testQueriesThroughTheModelAreSpladeVectorsToo() {
    SparseEncoder encoder = models.get("neural-model-torchscript.json").sparseEncoder();
    assertTrue(encoder.queriesUseModel());
    Map<String, Object> t = texts.get(1);
    assertVector("query", expected(t, "spladeVector"), encoder.encodeQuery((String) t.get("text")));
    // cached: the same map again
    assertSame(encoder.encodeQuery((String) t.get("text")), encoder.encodeQuery((String) t.get("text")));
  }

  public void testDocOnlyQueriesAreWeightedTokens() {
    SparseEncoder encoder = models.get("neural-model-doc-only.json").sparseEncoder();
    assertFalse(encoder.queriesUseModel());
    long textsBefore = models.get("neural-model-doc-only.json").stats().texts();
    for (Map<String, Object> t : texts) {
      Map<String, Float> query = encoder.encode(List.of((String) t.get("text")), TextRole.QUERY).get(0);
      assertVector("doc-only query: " + t.get("text"), expected(t, "docOnlyQueryVector"), query);
      // documents still go through the network
      Map<String, Float> doc = encoder.encode(List.of((String) t.get("text")), TextRole.DOCUMENT).get(0);
      assertVector("doc-only document: " + t.get("text"), expected(t, "spladeVector"), doc);
    }
    assertEquals("queries must not run the network", textsBefore + texts.size(), models.get("neural-model-doc-only.json").stats().texts());
  }

  public void testTextTokensAreTheQueryTextsOwnPieces() {
    SparseEncoder encoder = models.get("neural-model.json").sparseEncoder();
    Map<String, Object> t = texts.get(1);
    @SuppressWarnings("unchecked")
    List<String> pieces = new ArrayList<>((List<String>) t.get("tokens"));
    pieces.removeAll(List.of("[CLS]", "[SEP]"));
    assertEquals(Set.copyOf(pieces), encoder.textTokens((String) t.get("text")));
  }

  /** maskSpecialTokens and both sides' pruning, from a manifest written for the test. */
  public void testMaskingAndPruningFollowTheManifest() throws IOException {
    Path root = createTempDir();
    Path dir = copyFixture(root, "model.onnx");
    writeManifest(dir, "model.onnx", "logits",
        "\"sparse\": {\"maskSpecialTokens\": true, \"documentTopK\": 7, \"queryMinWeight\": 0.5, \"queryTopK\": 4}");
    try (ServedModel m = load(root)) {
      for (Map<String, Object> t : texts) {
        String text = (String) t.get("text");
        Map<Integer, Float> noSpecial = expected(t, "spladeVectorNoSpecial");
        Map<String, Float> doc = m.sparseEncoder().encode(List.of(text), TextRole.DOCUMENT).get(0);
        assertVector("documentTopK 7: " + text, topK(noSpecial, 7, 0f), doc);
        Map<String, Float> query = m.sparseEncoder().encode(List.of(text), TextRole.QUERY).get(0);
        assertVector("queryTopK 4, queryMinWeight 0.5: " + text, topK(noSpecial, 4, 0.5f), query);
      }
    }
  }

  public void testOutputThatIsNotOneColumnPerTokenIsRefused() throws IOException {
    Path root = createTempDir();
    Path dir = Files.createDirectories(root.resolve("pkg"));
    Path bert = ParityFixtures.root().resolve("tiny-bert");
    Files.copy(bert.resolve("model.onnx"), dir.resolve("model.onnx"));
    Files.copy(bert.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    writeManifest(dir, "model.onnx", "last_hidden_state", "\"sparse\": {}");
    ModelPackageException e = expectThrows(ModelPackageException.class, () -> load(root));
    assertTrue(e.getMessage(), e.getMessage().contains("has width 24 but the tokenizer's vocabulary has 1000 entries"));
  }

  public void testPoolingMustMatchTheOutputsRank() throws IOException {
    Path root = createTempDir();
    Path dir = copyFixture(root, "model.onnx");
    writeManifest(dir, "model.onnx", "logits", "\"sparse\": {\"pooling\": \"none\"}");
    ModelPackageException e = expectThrows(ModelPackageException.class, () -> load(root));
    assertTrue(e.getMessage(), e.getMessage().contains("[batch, tokens, vocabulary] but 'sparse.pooling' is none"));

    Path root2 = createTempDir();
    Path dir2 = copyFixture(root2, "model-pooled.onnx");
    writeManifest(dir2, "model-pooled.onnx", "splade_vector", "\"sparse\": {}");
    e = expectThrows(ModelPackageException.class, () -> load(root2));
    assertTrue(e.getMessage(), e.getMessage().contains("[batch, vocabulary] but 'sparse.pooling' is max"));
  }

  public void testBadSparseSectionsAreRefusedNamingTheKey() throws IOException {
    Path root = createTempDir();
    Path dir = copyFixture(root, "model.onnx");
    Map<String, String> cases = new TreeMap<>();
    cases.put("\"sparse\": {\"activation\": \"softplus\"}", "'sparse.activation'");
    cases.put("\"sparse\": {\"documentTopK\": -1}", "'sparse.documentTopK'");
    cases.put("\"sparse\": {\"queryMinWeight\": \"high\"}", "'sparse.queryMinWeight'");
    cases.put("\"sparse\": {\"topk\": 5}", "unknown key 'sparse.topk'");
    cases.put("\"sparse\": {\"pooling\": \"none\", \"maskSpecialTokens\": true}", "'sparse.maskSpecialTokens'");
    cases.put("\"sparse\": {\"queryEncoder\": \"token-weights\"}", "'sparse.queryTokenWeightsFile'");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      writeManifest(dir, "model.onnx", "logits", c.getKey());
      ModelPackageException e =
          expectThrows(ModelPackageException.class, () -> ModelPackage.resolve("pkg", ModelRoots.of(List.of(root))));
      assertTrue(c.getKey() + ": " + e.getMessage(), e.getMessage().contains(c.getValue()));
    }
  }

  public void testTokenWeightTableIsChecksummedAndValidated() throws IOException {
    Path root = createTempDir();
    Path dir = copyFixture(root, "model.onnx");
    Files.writeString(dir.resolve("weights.json"), "{\"sparse\": 1.5, \"retrieval\": -2}");
    writeManifest(dir, "model.onnx", "logits",
        "\"sparse\": {\"queryEncoder\": \"token-weights\", \"queryTokenWeightsFile\": \"weights.json\", \"queryTokenWeightsSha256\": \""
            + ModelPackage.sha256(Files.readAllBytes(dir.resolve("weights.json"))) + "\"}");
    ModelPackageException e = expectThrows(ModelPackageException.class, () -> load(root));
    assertTrue(e.getMessage(), e.getMessage().contains("token 'retrieval' has weight -2"));

    writeManifest(dir, "model.onnx", "logits",
        "\"sparse\": {\"queryEncoder\": \"token-weights\", \"queryTokenWeightsFile\": \"weights.json\", \"queryTokenWeightsSha256\": \""
            + "0".repeat(64) + "\"}");
    e = expectThrows(ModelPackageException.class, () -> load(root));
    assertTrue(e.getMessage(), e.getMessage().contains("refusing to load it"));
  }

  // ---- helpers

  private static ServedModel load(Path root) {
    return new ServedModel(LoadedModel.load(ModelPackage.resolve("pkg", ModelRoots.of(List.of(root))), null), SchedulerConfig.DEFAULTS);
  }

  private static Path copyFixture(Path root, String modelFile) throws IOException {
    Path dir = Files.createDirectories(root.resolve("pkg"));
    Path fixture = ParityFixtures.root().resolve("tiny-splade");
    Files.copy(fixture.resolve(modelFile), dir.resolve(modelFile));
    Files.copy(fixture.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    return dir;
  }

  private static void writeManifest(Path dir, String modelFile, String output, String sparseSection) throws IOException {
    String json =
        "{\"name\": \"test-sparse\", \"kind\": \"sparse\", \"engine\": \"onnx\", \"modelFile\": \"" + modelFile + "\", "
            + "\"sha256\": \"" + ModelPackage.sha256(Files.readAllBytes(dir.resolve(modelFile))) + "\", "
            + "\"tokenizerFile\": \"tokenizer.json\", "
            + "\"tokenizerSha256\": \"" + ModelPackage.sha256(Files.readAllBytes(dir.resolve("tokenizer.json"))) + "\", "
            + "\"maxLength\": 32, \"inputs\": [\"input_ids\", \"attention_mask\", \"token_type_ids\"], "
            + "\"output\": \"" + output + "\", " + sparseSection + ", \"device\": \"cpu\"}";
    Utils.fromJSONString(json); // the test's own JSON must be valid
    Files.writeString(dir.resolve(ModelPackage.MANIFEST_FILE), json);
  }

  /** A reference map (vocabulary id as a string &rarr; weight) by id. */
  @SuppressWarnings("unchecked")
  private static Map<Integer, Float> expected(Map<String, Object> text, String key) {
    Map<Integer, Float> out = new HashMap<>();
    ((Map<String, Object>) text.get(key)).forEach((id, w) -> out.put(Integer.parseInt(id), ((Number) w).floatValue()));
    return out;
  }

  /** The {@code k} heaviest entries above {@code minWeight} (ties by id). */
  private static Map<Integer, Float> topK(Map<Integer, Float> vector, int k, float minWeight) {
    List<Map.Entry<Integer, Float>> entries = new ArrayList<>(vector.entrySet());
    entries.removeIf(e -> e.getValue() <= minWeight);
    entries.sort(Map.Entry.<Integer, Float>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
    Map<Integer, Float> out = new HashMap<>();
    for (Map.Entry<Integer, Float> e : entries.subList(0, Math.min(k, entries.size()))) {
      out.put(e.getKey(), e.getValue());
    }
    return out;
  }

  /** Compares as dense vectors over the vocabulary: a missing entry is 0. */
  private static void assertVector(String what, Map<Integer, Float> expected, Map<String, Float> actual) {
    TokenVocabulary vocabulary = models.get("neural-model.json").model.vocabulary();
    Map<Integer, Float> byId = new HashMap<>();
    actual.forEach((term, w) -> {
      int id = vocabulary.id(term);
      assertTrue(what + ": unknown term " + term, id >= 0);
      byId.put(id, w);
    });
    for (int id = 0; id < vocabulary.size(); id++) {
      float e = expected.getOrDefault(id, 0f);
      float a = byId.getOrDefault(id, 0f);
      if (Math.abs(e - a) > TOLERANCE) {
        fail(what + ": term " + vocabulary.token(id) + " (id " + id + ") expected " + e + " got " + a);
      }
    }
    assertEquals(what + ": number of terms", expected.size(), actual.size());
  }

  private static void assertHeaviestFirst(Map<String, Float> vector) {
    float previous = Float.MAX_VALUE;
    for (float w : vector.values()) {
      assertTrue(w > 0 && w <= previous);
      previous = w;
    }
  }
}
