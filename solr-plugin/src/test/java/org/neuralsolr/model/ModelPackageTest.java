package org.neuralsolr.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.apache.lucene.tests.util.LuceneTestCase.SuppressFileSystems;

/** Manifests are validated, checksums enforced, and nothing outside the model roots is read. */
@SuppressFileSystems("*") // symbolic links and real paths need the real file system
@ThreadLeakFilters(defaultFilters = true, filters = {NativeLibraryThreadsFilter.class})
public class ModelPackageTest extends LuceneTestCase {
  private Path roots;
  private Path outside;

  @Override
  public void setUp() throws Exception {
    super.setUp();
    Path base = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "model-package-test");
    roots = Files.createDirectories(base.resolve("models"));
    outside = Files.createDirectories(base.resolve("elsewhere"));
  }

  /** Copies the tiny-bert fixture into {@code dir} and returns the manifest text. */
  private String copyFixture(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path fixture = ParityFixtures.root().resolve("tiny-bert");
    for (String f : List.of("model.onnx", "tokenizer.json", "neural-model.json")) {
      Files.copy(fixture.resolve(f), dir.resolve(f));
    }
    return Files.readString(dir.resolve("neural-model.json"));
  }

  public void testPackageUnderARootLoads() throws Exception {
    copyFixture(roots.resolve("tiny"));
    ModelPackage pkg = ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots)));
    assertEquals("tiny-bert", pkg.manifest.name);
    assertEquals(ModelKind.DENSE, pkg.manifest.kind);
    assertEquals(24, pkg.manifest.dimension);
    assertTrue(pkg.readModel().length > 0);
  }

  public void testPackageOutsideTheRootsIsRefused() throws Exception {
    copyFixture(outside.resolve("tiny"));
    ModelRoots r = ModelRoots.of(List.of(roots));
    ModelPackageException e = expectThrows(ModelPackageException.class, () -> ModelPackage.resolve(outside.resolve("tiny").toString(), r));
    assertTrue(e.getMessage(), e.getMessage().contains("outside the configured model roots"));
    e = expectThrows(ModelPackageException.class, () -> ModelPackage.resolve("../elsewhere/tiny", r));
    assertTrue(e.getMessage(), e.getMessage().contains("outside the configured model roots"));
  }

  public void testSymbolicLinkOutOfTheRootsIsRefused() throws Exception {
    copyFixture(outside.resolve("tiny"));
    Files.createSymbolicLink(roots.resolve("link"), outside.resolve("tiny"));
    ModelPackageException e =
        expectThrows(ModelPackageException.class, () -> ModelPackage.resolve("link", ModelRoots.of(List.of(roots))));
    assertTrue(e.getMessage(), e.getMessage().contains("outside the configured model roots"));
  }

  public void testManifestNamingAFileOutsideTheRootsIsRefused() throws Exception {
    String manifest = copyFixture(roots.resolve("tiny"));
    Files.copy(roots.resolve("tiny/model.onnx"), outside.resolve("model.onnx"));
    Files.writeString(roots.resolve("tiny/neural-model.json"), manifest.replace("\"model.onnx\"", "\"../../elsewhere/model.onnx\""));
    ModelPackage pkg = ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots)));
    ModelPackageException e = expectThrows(ModelPackageException.class, pkg::readModel);
    assertTrue(e.getMessage(), e.getMessage().contains("outside the configured model roots"));
  }

  public void testChecksumMismatchIsRefused() throws Exception {
    copyFixture(roots.resolve("tiny"));
    byte[] bytes = Files.readAllBytes(roots.resolve("tiny/model.onnx"));
    bytes[bytes.length / 2] ^= 1;
    Files.write(roots.resolve("tiny/model.onnx"), bytes);
    ModelPackage pkg = ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots)));
    ModelPackageException e = expectThrows(ModelPackageException.class, pkg::readModel);
    assertTrue(e.getMessage(), e.getMessage().contains("refusing to load it"));
  }

  public void testBadManifestsNameTheProblem() throws Exception {
    String manifest = copyFixture(roots.resolve("tiny"));
    assertManifestError(manifest.replace("\"kind\": \"dense\"", "\"kind\": \"dancing\""), "unknown kind 'dancing'");
    assertManifestError(manifest.replace("\"pooling\": \"cls\"", "\"pooling\": \"max\""), "unknown pooling 'max'");
    assertManifestError(manifest.replace("\"engine\": \"onnx\"", "\"engine\": \"tensorflow\""), "unknown engine");
    assertManifestError(manifest.replace("\"maxLength\": 32", "\"maxLength\": 0"), "'maxLength' must be in");
    assertManifestError(
        manifest.replace("\"maxLength\": 32", "\"maxLength\": 65, \"maxPositions\": 64"),
        "'maxLength' 65 is above the model's own limit 'maxPositions' 64; set 'maxLength' to at most 64");
    assertManifestError(manifest.replace("\"maxLength\": 32", "\"maxLength\": 32, \"maxPositions\": 1"), "'maxPositions' must be in");
    assertManifestError(manifest.replace("\"dimension\": 24,", ""), "'dimension' must be an integer");
    assertManifestError(manifest.replace("\"name\"", "\"nmae\""), "unknown key 'nmae'");
    assertManifestError(manifest.replace("\"input_ids\", ", "\"tokens\", "), "'inputs' holds 'tokens'");
    assertManifestError("[1, 2]", "is not a JSON object");
  }

  public void testBadDecoderSettingsNameTheProblem() throws Exception {
    String manifest = copyFixture(roots.resolve("tiny"));
    String pooling = "\"pooling\": \"cls\"";
    assertManifestError(manifest.replace(pooling, pooling + ", \"paddingSide\": \"middle\""), "unknown paddingSide 'middle'");
    assertManifestError(
        manifest.replace(pooling, pooling + ", \"paddingSide\": \"left\"").replace("\"attention_mask\", ", ""),
        "'paddingSide' left needs 'attention_mask'");
    assertManifestError(manifest.replace(pooling, pooling + ", \"eosToken\": \"\""), "'eosToken' must be a non-empty string");
    String instructions = pooling + ", \"instructions\": ";
    assertManifestError(
        manifest.replace(pooling, instructions + "{\"passage\": {\"templates\": {\"a\": \"{text}\"}}}"),
        "'instructions' holds 'passage'; expected query and/or document");
    assertManifestError(
        manifest.replace(pooling, instructions + "{\"query\": {\"templates\": {\"a\": \"no placeholder\"}}}"),
        "'instructions.query.templates.a' needs exactly one {text}");
    assertManifestError(
        manifest.replace(pooling, instructions + "{\"query\": {\"default\": \"b\", \"templates\": {\"a\": \"A: {text}\"}}}"),
        "'instructions.query.default' is 'b', not one of [a]");
    assertManifestError(
        manifest
            .replace(pooling, instructions + "{\"document\": {\"default\": \"a\", \"templates\": {\"a\": \"A: {text}\"}}}")
            .replace("\"documentPrefix\": \"\"", "\"documentPrefix\": \"passage: \""),
        "'instructions.document.default' and 'documentPrefix' are both set");
  }

  public void testInstructionsAndPrefixesShapeTheText() throws Exception {
    String manifest = copyFixture(roots.resolve("tiny"));
    manifest =
        manifest
            .replace("\"queryPrefix\": \"\"", "\"queryPrefix\": \"query: \"")
            .replace(
                "\"pooling\": \"cls\"",
                "\"pooling\": \"cls\", \"instructions\": {\"query\": {\"templates\": {\"web\": \"Q: {text} ?\"}},"
                    + " \"document\": {\"default\": \"t\", \"templates\": {\"t\": \"Title: {text}\"}}}");
    Files.write(roots.resolve("tiny/neural-model.json"), manifest.getBytes(StandardCharsets.UTF_8));
    Instructions i = ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots))).manifest.instructions;
    assertEquals("query: x", i.apply(TextRole.QUERY, null, "x")); // no default: the prefix stays
    assertEquals("Q: x ?", i.apply(TextRole.QUERY, "web", "x"));
    assertEquals("Title: x", i.apply(TextRole.DOCUMENT, null, "x"));
    UnknownInstructionException e = expectThrows(UnknownInstructionException.class, () -> i.apply(TextRole.QUERY, "t", "x"));
    assertTrue(e.getMessage(), e.getMessage().contains("unknown instruction 't' for queries; known: web"));
  }

  public void testLeftPaddedPositionsCountFromTheFirstRealToken() {
    List<TokenizedText> batch =
        List.of(new TokenizedText(new long[] {7, 8, 9}, new long[3]), new TokenizedText(new long[] {7}, new long[1]));
    int[] left = {0, 2};
    assertArrayEquals(new long[] {7, 8, 9, 0, 0, 7}, LoadedModel.inputValues("input_ids", batch, 3, left));
    assertArrayEquals(new long[] {1, 1, 1, 0, 0, 1}, LoadedModel.inputValues("attention_mask", batch, 3, left));
    assertArrayEquals(new long[] {0, 1, 2, 0, 0, 0}, LoadedModel.inputValues("position_ids", batch, 3, left));
    assertArrayEquals(new long[] {7, 8, 9, 7, 0, 0}, LoadedModel.inputValues("input_ids", batch, 3, new int[2]));
    assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0}, LoadedModel.inputValues("attention_mask", batch, 3, new int[2]));
  }

  private void assertManifestError(String manifest, String expected) throws IOException {
    Files.write(roots.resolve("tiny/neural-model.json"), manifest.getBytes(StandardCharsets.UTF_8));
    ModelPackageException e =
        expectThrows(ModelPackageException.class, () -> ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots))));
    assertTrue(e.getMessage(), e.getMessage().contains(expected));
  }

  public void testUnknownBuiltinListsTheBuiltins() {
    ModelPackageException e =
        expectThrows(ModelPackageException.class, () -> ModelPackage.resolve("builtin:gpt-5", ModelRoots.of(List.of())));
    assertTrue(e.getMessage(), e.getMessage().contains("bge-small-en-v1.5"));
  }

  public void testEveryBuiltinManifestIsValid() {
    for (String name : BuiltinModels.NAMES) {
      ModelPackage pkg = ModelPackage.resolve("builtin:" + name, ModelRoots.of(List.of()));
      assertEquals(name, pkg.manifest.name);
      assertEquals(384, pkg.manifest.dimension);
    }
  }

  public void testOutputWidthIsCheckedAtLoad() throws Exception {
    String manifest = copyFixture(roots.resolve("tiny"));
    Files.writeString(roots.resolve("tiny/neural-model.json"), manifest.replace("\"dimension\": 24", "\"dimension\": 25"));
    ModelPackage pkg = ModelPackage.resolve("tiny", ModelRoots.of(List.of(roots)));
    ModelPackageException e = expectThrows(ModelPackageException.class, () -> LoadedModel.load(pkg, null));
    assertTrue(e.getMessage(), e.getMessage().contains("has width 24 but the manifest says dimension 25"));
  }
}
