package org.neuralsolr.eval;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * A SPLADE-like sparse model package derived from bge-small-en-v1.5 without training: real SPLADE
 * weights cannot be obtained here, but an expansion-heavy term distribution over real text can.
 *
 * <p>The built-in model's ONNX graph (from its Maven carrier jar) gets nodes appended that project
 * every last hidden state onto the transposed word-piece embedding matrix (an initializer of the
 * same graph, {@code embeddings.word_embeddings.weight} [30522, 384]), take the maximum over the
 * text's positions (attention mask 1; [CLS] and [SEP] included, as SPLADE does) and apply log(1 +
 * ReLU): a pooled {@code sparse_weights} output [batch, 30522]. That is SPLADE's head without its
 * transform layer and bias, on a model never trained for it: the "training-free projection" proxy.
 * The manifest says {@code pooling: none, activation: none}, keeps the heaviest {@code
 * documentTopK} terms per document and {@code queryTopK} per query, and drops the special tokens'
 * own columns ({@code skipSpecialTokenTerms}), which would otherwise be in every vector.
 *
 * <p>This is also how a real SPLADE checkpoint can be exported pooled: the same nodes after its
 * MLM head's logits (docs/model-package.md).
 */
final class ProxySpladePackage {
  static final String NAME = "bge-small-en-v1.5-proxy-splade";
  private static final String CARRIER_MODEL = "bge-small-en-v1.5.onnx";
  private static final String CARRIER_TOKENIZER = "bge-small-en-v1.5-tokenizer.json";
  /** The built-in manifest's sha256 of the carrier's model: the graph this derivation expects. */
  private static final String CARRIER_SHA256 = "828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35";
  private static final String EMBEDDINGS = "embeddings.word_embeddings.weight";
  static final String OUTPUT = "sparse_weights";

  private ProxySpladePackage() {}

  /**
   * Writes the package into {@code modelsDir/NAME} unless it is there, and a manifest for the
   * pruning settings.
   *
   * @return the manifest's path relative to {@code modelsDir}: the package reference under that root
   */
  static String ensure(Path modelsDir, int documentTopK, int queryTopK) throws IOException {
    Path dir = Files.createDirectories(modelsDir.resolve(NAME));
    Path model = dir.resolve("model.onnx");
    Path tokenizer = dir.resolve("tokenizer.json");
    if (!Files.exists(model) || !Files.exists(tokenizer)) {
      byte[] carrier = resource(CARRIER_MODEL);
      if (!sha256(carrier).equals(CARRIER_SHA256)) {
        throw new IllegalStateException(CARRIER_MODEL + " on the class path is not the graph this derivation was written for");
      }
      Path tmp = dir.resolve("model.onnx.tmp");
      Files.write(tmp, derive(carrier));
      Files.move(tmp, model, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.write(tokenizer, resource(CARRIER_TOKENIZER));
    }
    String manifestName = String.format(Locale.ROOT, "neural-model-d%d-q%d.json", documentTopK, queryTopK);
    String manifest =
        "{\n"
            + "  \"name\": \"" + NAME + "\",\n"
            + "  \"kind\": \"sparse\",\n"
            + "  \"engine\": \"onnx\",\n"
            + "  \"modelFile\": \"model.onnx\",\n"
            + "  \"sha256\": \"" + sha256(Files.readAllBytes(model)) + "\",\n"
            + "  \"tokenizerFile\": \"tokenizer.json\",\n"
            + "  \"tokenizerSha256\": \"" + sha256(Files.readAllBytes(tokenizer)) + "\",\n"
            + "  \"maxLength\": 512,\n"
            + "  \"inputs\": [\"input_ids\", \"attention_mask\", \"token_type_ids\"],\n"
            + "  \"output\": \"" + OUTPUT + "\",\n"
            + "  \"sparse\": {\n"
            + "    \"pooling\": \"none\",\n"
            + "    \"activation\": \"none\",\n"
            + "    \"skipSpecialTokenTerms\": true,\n"
            + "    \"documentTopK\": " + documentTopK + ",\n"
            + "    \"queryTopK\": " + queryTopK + "\n"
            + "  },\n"
            + "  \"device\": \"auto\",\n"
            + "  \"source\": \"derived from BAAI/bge-small-en-v1.5 (MIT, ONNX export by Xenova): last hidden states"
            + " projected onto the word-piece embeddings, max over positions, log(1 + ReLU); not a trained SPLADE model\"\n"
            + "}\n";
    Files.writeString(dir.resolve(manifestName), manifest);
    return NAME + "/" + manifestName;
  }

  /** The carrier graph with the projection, pooling and activation appended. */
  static byte[] derive(byte[] carrier) {
    OnnxModelFile file = new OnnxModelFile(carrier);
    OnnxModelFile.Initializer embeddings =
        file.initializers().stream()
            .filter(i -> i.name().equals(EMBEDDINGS))
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no initializer " + EMBEDDINGS + " in " + CARRIER_MODEL));
    if (embeddings.dims().length != 2 || embeddings.dataType() != OnnxModelFile.FLOAT) {
      throw new IllegalStateException(EMBEDDINGS + " is not a float matrix");
    }
    if (!file.outputs().contains("last_hidden_state")) {
      throw new IllegalStateException(CARRIER_MODEL + " has no output last_hidden_state");
    }
    long vocabulary = embeddings.dims()[0];
    // opset 11 (the carrier's): Unsqueeze and ReduceMax take axes as attributes
    List<byte[]> nodes =
        List.of(
            OnnxModelFile.node("proxy_one", "Constant", List.of(), List.of("proxy_one"), OnnxModelFile.floatScalarAttribute("value", 1f)),
            OnnxModelFile.node("proxy_big", "Constant", List.of(), List.of("proxy_big"), OnnxModelFile.floatScalarAttribute("value", 1e4f)),
            // padding positions get -1e4 added so that they never win the maximum
            OnnxModelFile.node("proxy_mask", "Cast", List.of("attention_mask"), List.of("proxy_mask"), OnnxModelFile.intAttribute("to", OnnxModelFile.FLOAT)),
            OnnxModelFile.node("proxy_mask_minus_one", "Sub", List.of("proxy_mask", "proxy_one"), List.of("proxy_mask_minus_one")),
            OnnxModelFile.node("proxy_bias", "Mul", List.of("proxy_mask_minus_one", "proxy_big"), List.of("proxy_bias")),
            OnnxModelFile.node("proxy_bias3", "Unsqueeze", List.of("proxy_bias"), List.of("proxy_bias3"), OnnxModelFile.intsAttribute("axes", 2)),
            OnnxModelFile.node("proxy_embeddings_t", "Transpose", List.of(EMBEDDINGS), List.of("proxy_embeddings_t"), OnnxModelFile.intsAttribute("perm", 1, 0)),
            OnnxModelFile.node("proxy_logits", "MatMul", List.of("last_hidden_state", "proxy_embeddings_t"), List.of("proxy_logits")),
            OnnxModelFile.node("proxy_masked", "Add", List.of("proxy_logits", "proxy_bias3"), List.of("proxy_masked")),
            OnnxModelFile.node("proxy_max", "ReduceMax", List.of("proxy_masked"), List.of("proxy_max"),
                OnnxModelFile.intsAttribute("axes", 1), OnnxModelFile.intAttribute("keepdims", 0)),
            // log(1 + relu(max)) = max over positions of log(1 + relu(logit)): both are monotone
            OnnxModelFile.node("proxy_relu", "Relu", List.of("proxy_max"), List.of("proxy_relu")),
            OnnxModelFile.node("proxy_plus_one", "Add", List.of("proxy_relu", "proxy_one"), List.of("proxy_plus_one")),
            OnnxModelFile.node(OUTPUT, "Log", List.of("proxy_plus_one"), List.of(OUTPUT)));
    return file.withAppended(nodes, List.of(OnnxModelFile.floatOutput(OUTPUT, "batch_size", vocabulary)));
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = ProxySpladePackage.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException(name + " is not on the class path (the bge-small-en-v1.5 carrier jar)");
      }
      return in.readAllBytes();
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
