package org.neuralsolr.eval;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.LuceneTestCase.SuppressFileSystems;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackage;
import org.neuralsolr.model.ModelRoots;
import org.neuralsolr.model.SchedulerConfig;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.SharedModelStore;
import org.neuralsolr.model.TextRole;

/**
 * The sparse-proxy model package: its derived graph, run through the plugin's sparse encoder in a
 * padded batch, gives the vectors computed here from the carrier's own outputs: ONNX Runtime's
 * last hidden states of bge-small-en-v1.5 times the word-piece embedding matrix read from the same
 * file, max over each text's positions, log(1 + ReLU), special tokens' columns left out, top k.
 */
@SuppressFileSystems("*")
@ThreadLeakFilters(defaultFilters = true, filters = {NativeLibraryThreadsFilter.class})
public class ProxySpladePackageTest extends LuceneTestCase {
  private static final List<String> TEXTS =
      List.of("Vitamin D deficiency raises the risk of fractures.", "Gene expression in stem cells.");

  public void testDerivedGraphMatchesTheProjectionComputedFromTheCarrier() throws Exception {
    Path models = createTempDir();
    String ref = ProxySpladePackage.ensure(models, 20, 8);
    try (SharedModelStore store = new SharedModelStore()) {
      // DJL first: it creates ONNX Runtime's environment with its own thread pool
      ServedModel model =
          store.acquire(ModelPackage.resolve(ref, ModelRoots.of(List.of(models))), DeviceRequest.parse("cpu"), SchedulerConfig.DEFAULTS);
      Map<String, Map<String, Float>> expected = reference(20);
      List<Map<String, Float>> batched = model.sparseEncoder().encode(TEXTS, TextRole.DOCUMENT); // one padded batch
      for (int i = 0; i < TEXTS.size(); i++) {
        Map<String, Float> want = expected.get(TEXTS.get(i));
        Map<String, Float> got = batched.get(i);
        assertEquals(TEXTS.get(i) + ": " + got, new ArrayList<>(want.keySet()), new ArrayList<>(got.keySet()));
        for (String term : want.keySet()) {
          assertEquals(term, want.get(term), got.get(term), 1e-4f);
        }
      }
      // queries keep their 8 heaviest terms, the same ones
      Map<String, Float> query = model.sparseEncoder().encodeQuery(TEXTS.get(0));
      assertEquals(new ArrayList<>(expected.get(TEXTS.get(0)).keySet()).subList(0, 8), new ArrayList<>(query.keySet()));
    }
  }

  /** The projection computed in Java from the carrier's outputs and initializer. */
  private static Map<String, Map<String, Float>> reference(int topK) throws Exception {
    byte[] carrier;
    byte[] tokenizerJson;
    ClassLoader cl = ProxySpladePackageTest.class.getClassLoader();
    try (InputStream m = cl.getResourceAsStream("bge-small-en-v1.5.onnx");
        InputStream t = cl.getResourceAsStream("bge-small-en-v1.5-tokenizer.json")) {
      carrier = m.readAllBytes();
      tokenizerJson = t.readAllBytes();
    }
    float[] embeddings = new OnnxModelFile(carrier).floatInitializer("embeddings.word_embeddings.weight");
    int hidden = 384;
    int vocabulary = embeddings.length / hidden;
    @SuppressWarnings("unchecked")
    Map<String, Object> vocab =
        (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) org.apache.solr.common.util.Utils.fromJSON(tokenizerJson)).get("model")).get("vocab");
    String[] tokens = new String[vocabulary];
    vocab.forEach((token, id) -> tokens[((Number) id).intValue()] = token);
    java.util.Set<String> special = java.util.Set.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
    Map<String, Map<String, Float>> out = new LinkedHashMap<>();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (HuggingFaceTokenizer tokenizer =
            HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(tokenizerJson), Map.of("addSpecialTokens", "true"));
        OrtSession session = env.createSession(carrier, new OrtSession.SessionOptions())) {
      for (String text : TEXTS) {
        Encoding e = tokenizer.encode(text);
        long[] ids = e.getIds();
        long[] shape = {1, ids.length};
        float[][] states;
        try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
            OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(ones(ids.length)), shape);
            OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape);
            OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
          states = ((float[][][]) r.get("last_hidden_state").get().getValue())[0];
        }
        float[] weights = new float[vocabulary];
        for (int v = 0; v < vocabulary; v++) {
          double max = Double.NEGATIVE_INFINITY;
          for (float[] h : states) {
            double dot = 0;
            for (int d = 0; d < hidden; d++) {
              dot += h[d] * embeddings[v * hidden + d];
            }
            max = Math.max(max, dot);
          }
          weights[v] = (float) Math.log1p(Math.max(0, max));
        }
        List<Integer> order = new ArrayList<>();
        for (int v = 0; v < vocabulary; v++) {
          if (weights[v] > 0 && !special.contains(tokens[v])) {
            order.add(v);
          }
        }
        order.sort((x, y) -> weights[x] != weights[y] ? Float.compare(weights[y], weights[x]) : x - y);
        Map<String, Float> vector = new LinkedHashMap<>();
        for (int v : order.subList(0, topK)) {
          vector.put(tokens[v], weights[v]);
        }
        out.put(text, vector);
      }
    }
    return out;
  }

  private static long[] ones(int n) {
    long[] a = new long[n];
    java.util.Arrays.fill(a, 1);
    return a;
  }
}
