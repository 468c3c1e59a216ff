package org.neuralsolr.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The baseline "raw engine" for cross-encoders: the Hugging Face tokenizer's pair encoding
 * (longest-first truncation) and ONNX Runtime's own Java API on the same .onnx file, the logit in
 * plain Java. No Solr, no DJL NDArrays, no scheduler.
 */
final class RawCrossEncoder implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final OrtSession session;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();

  /** @param dir a cross-encoder package directory holding {@code model.onnx} and {@code tokenizer.json} */
  RawCrossEncoder(Path dir, int maxLength) throws IOException, OrtException {
    tokenizer =
        HuggingFaceTokenizer.newInstance(
            dir.resolve("tokenizer.json"),
            Map.of("addSpecialTokens", "true", "truncation", "true", "padding", "false", "maxLength", Integer.toString(maxLength)));
    session = env.createSession(Files.readAllBytes(dir.resolve("model.onnx")), new OrtSession.SessionOptions());
  }

  /** The logit of every (query, document) pair, in batches of {@code batchSize}, in order or sorted by length. */
  float[] score(String query, List<String> documents, int batchSize, boolean sortByLength) throws OrtException {
    List<Encoding> pairs = new ArrayList<>(documents.size());
    for (String d : documents) {
      pairs.add(tokenizer.encode(query, d));
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < pairs.size(); i++) {
      order.add(i);
    }
    if (sortByLength) {
      order.sort(Comparator.comparingInt((Integer i) -> pairs.get(i).getIds().length).reversed());
    }
    float[] out = new float[documents.size()];
    for (int from = 0; from < order.size(); from += batchSize) {
      List<Integer> batch = order.subList(from, Math.min(order.size(), from + batchSize));
      int width = 0;
      for (int i : batch) {
        width = Math.max(width, pairs.get(i).getIds().length);
      }
      long[] ids = new long[batch.size() * width];
      long[] mask = new long[batch.size() * width];
      long[] types = new long[batch.size() * width];
      for (int r = 0; r < batch.size(); r++) {
        Encoding e = pairs.get(batch.get(r));
        long[] row = e.getIds();
        System.arraycopy(row, 0, ids, r * width, row.length);
        System.arraycopy(e.getTypeIds(), 0, types, r * width, row.length);
        for (int c = 0; c < row.length; c++) {
          mask[r * width + c] = 1;
        }
      }
      long[] shape = {batch.size(), width};
      try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
          OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
          OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
          OrtSession.Result result = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
        float[][] logits = (float[][]) result.get(0).getValue();
        for (int r = 0; r < batch.size(); r++) {
          out[batch.get(r)] = logits[r][0];
        }
      }
    }
    return out;
  }

  @Override
  public void close() throws OrtException {
    session.close();
    tokenizer.close();
  }
}
