package org.neuralsolr.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The baseline "raw engine": what a program without the plugin would do to encode texts with the
 * same model — the Hugging Face tokenizer, ONNX Runtime's own Java API on the same .onnx file,
 * CLS pooling and L2 normalisation in plain Java. No Solr, no DJL NDArrays, no scheduler.
 */
final class RawEncoder implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final OrtSession session;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();

  /** @param resource the carrier jar's file name without extension, e.g. {@code bge-small-en-v1.5} */
  RawEncoder(String resource, int maxLength) throws IOException, OrtException {
    ClassLoader cl = RawEncoder.class.getClassLoader();
    try (InputStream tok = cl.getResourceAsStream(resource + "-tokenizer.json");
        InputStream model = cl.getResourceAsStream(resource + ".onnx")) {
      tokenizer =
          HuggingFaceTokenizer.newInstance(
              tok,
              Map.of("addSpecialTokens", "true", "truncation", "true", "padding", "false", "maxLength", Integer.toString(maxLength)));
      session = env.createSession(model.readAllBytes(), new OrtSession.SessionOptions());
    }
  }

  /** Encodes in batches of {@code batchSize}, in the given order or sorted by length first. */
  List<float[]> encode(List<String> texts, int batchSize, boolean sortByLength) throws OrtException {
    List<long[]> ids = new ArrayList<>(texts.size());
    for (String t : texts) {
      Encoding e = tokenizer.encode(t);
      ids.add(e.getIds());
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      order.add(i);
    }
    if (sortByLength) {
      order.sort(Comparator.comparingInt((Integer i) -> ids.get(i).length).reversed());
    }
    float[][] out = new float[texts.size()][];
    for (int from = 0; from < order.size(); from += batchSize) {
      List<Integer> batch = order.subList(from, Math.min(order.size(), from + batchSize));
      int width = 0;
      for (int i : batch) {
        width = Math.max(width, ids.get(i).length);
      }
      long[] inputIds = new long[batch.size() * width];
      long[] mask = new long[batch.size() * width];
      long[] types = new long[batch.size() * width];
      for (int r = 0; r < batch.size(); r++) {
        long[] row = ids.get(batch.get(r));
        System.arraycopy(row, 0, inputIds, r * width, row.length);
        for (int c = 0; c < row.length; c++) {
          mask[r * width + c] = 1;
        }
      }
      long[] shape = {batch.size(), width};
      try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape);
          OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
          OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
          OrtSession.Result result = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
        float[][][] hidden = (float[][][]) result.get(0).getValue();
        for (int r = 0; r < batch.size(); r++) {
          float[] cls = hidden[r][0].clone();
          double norm = 0;
          for (float x : cls) {
            norm += x * x;
          }
          float inv = (float) (1 / Math.sqrt(norm));
          for (int d = 0; d < cls.length; d++) {
            cls[d] *= inv;
          }
          out[batch.get(r)] = cls;
        }
      }
    }
    return List.of(out);
  }

  /**
   * bge-small's last hidden states of each text, one batch of {@code batchSize} at a time, without
   * [CLS] and [SEP], each row L2-normalised: the "token states" late-interaction representation.
   */
  List<float[][]> tokenStates(List<String> texts, int batchSize) throws OrtException {
    List<float[][]> out = new ArrayList<>(texts.size());
    for (int from = 0; from < texts.size(); from += batchSize) {
      List<String> batch = texts.subList(from, Math.min(texts.size(), from + batchSize));
      List<long[]> ids = new ArrayList<>();
      int width = 0;
      for (String t : batch) {
        long[] row = tokenizer.encode(t).getIds();
        ids.add(row);
        width = Math.max(width, row.length);
      }
      long[] inputIds = new long[batch.size() * width];
      long[] mask = new long[batch.size() * width];
      long[] types = new long[batch.size() * width];
      for (int r = 0; r < batch.size(); r++) {
        System.arraycopy(ids.get(r), 0, inputIds, r * width, ids.get(r).length);
        Arrays.fill(mask, r * width, r * width + ids.get(r).length, 1);
      }
      long[] shape = {batch.size(), width};
      try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape);
          OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
          OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
          OrtSession.Result result = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
        float[][][] hidden = (float[][][]) result.get(0).getValue();
        for (int r = 0; r < batch.size(); r++) {
          int n = ids.get(r).length - 2; // drop [CLS] and [SEP]
          float[][] rows = new float[Math.max(1, n)][];
          for (int t = 0; t < rows.length; t++) {
            float[] v = hidden[r][Math.min(t + 1, ids.get(r).length - 1)].clone();
            double norm = 0;
            for (float x : v) {
              norm += x * x;
            }
            float inv = (float) (1 / Math.sqrt(norm));
            for (int d = 0; d < v.length; d++) {
              v[d] *= inv;
            }
            rows[t] = v;
          }
          out.add(rows);
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
