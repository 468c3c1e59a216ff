package org.neuralsolr.eval;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackage;
import org.neuralsolr.model.ModelRoots;
import org.neuralsolr.model.SchedulerConfig;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.model.SharedModelStore;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.schema.SparseWeightsFormat;
import org.neuralsolr.update.SourceText;

/**
 * The sparse vectors of a corpus under {@link ProxySpladePackage}, encoded once by the plugin's own
 * {@code SparseEncoder} (outside Solr: a pass over SciFact costs most of an hour of CPU) and kept in
 * {@code .eval/sparse/<dataset>-<model>-top256.jsonl}, one {@code {"id": ..., "weights": {...}}}
 * a line, heaviest term first. Documents are encoded exactly as the {@code sparse} update chain
 * encodes them (title and text, stripped, joined by a space; a document without text gets no
 * vector). The file keeps the 256 heaviest terms; a smaller top k is a prefix of it. An interrupted
 * pass resumes where it stopped.
 */
public final class ProxyVectors {
  static final int CACHED_TOP_K = 256;
  private static final int CHUNK = 64;

  private ProxyVectors() {}

  /** Where derived model packages live: a model root of the eval tool's and the bench's Solr. */
  public static Path modelsDir(Path root) {
    return root.resolve(".eval/models");
  }

  /** Each document's vector (corpus order), pruned to its {@code topK} heaviest terms. */
  public static Map<String, Map<String, Float>> documents(Path root, BeirDataset dataset, int topK) throws IOException {
    if (topK < 1 || topK > CACHED_TOP_K) {
      throw new IllegalArgumentException("documentTopK must be in [1, " + CACHED_TOP_K + "], got " + topK);
    }
    Path file = cacheFile(root, dataset);
    if (!Files.exists(file)) {
      encodeCorpus(root, dataset, file);
    }
    return read(file, topK);
  }

  /**
   * The documents encoded so far, without encoding any: the whole cache, or the complete lines of
   * an encoding pass still under way (its {@code .partial} file), or none.
   */
  public static Map<String, Map<String, Float>> encodedSoFar(Path root, BeirDataset dataset, int topK) throws IOException {
    Path file = cacheFile(root, dataset);
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    return Files.exists(file) ? read(file, topK) : Files.exists(partial) ? read(partial, topK) : new LinkedHashMap<>();
  }

  private static Path cacheFile(Path root, BeirDataset dataset) {
    String datasetName = dataset.directory().toAbsolutePath().normalize().getFileName().toString();
    return root.resolve(".eval/sparse/" + datasetName + "-" + ProxySpladePackage.NAME + "-top" + CACHED_TOP_K + ".jsonl");
  }

  private static Map<String, Map<String, Float>> read(Path file, int topK) throws IOException {
    Map<String, Map<String, Float>> vectors = new LinkedHashMap<>();
    Map<String, String> interned = new HashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      Map<String, Object> o;
      try {
        @SuppressWarnings("unchecked")
        Map<String, Object> parsed = (Map<String, Object>) Utils.fromJSONString(line);
        o = parsed;
      } catch (RuntimeException e) {
        break; // the last line of a pass still writing
      }
      Map<String, Float> all = SparseWeightsFormat.parse(o.get("weights"));
      Map<String, Float> top = new LinkedHashMap<>(Math.min(all.size(), topK) * 2);
      for (Map.Entry<String, Float> e : all.entrySet()) {
        if (top.size() == topK) {
          break;
        }
        top.put(interned.computeIfAbsent(e.getKey(), k -> k), e.getValue());
      }
      vectors.put((String) o.get("id"), top);
    }
    return vectors;
  }

  /** Query vectors (the manifest's {@code queryTopK}) of {@code queries}, id to text. */
  public static Map<String, Map<String, Float>> queries(Path root, Map<String, String> queries, int queryTopK) throws IOException {
    String ref = ProxySpladePackage.ensure(modelsDir(root), CACHED_TOP_K, queryTopK);
    try (SharedModelStore store = new SharedModelStore()) {
      ServedModel model = load(store, root, ref);
      List<String> ids = new ArrayList<>(queries.keySet());
      List<String> texts = new ArrayList<>(queries.values());
      List<Map<String, Float>> encoded = model.sparseEncoder().encode(texts, TextRole.QUERY);
      Map<String, Map<String, Float>> out = new LinkedHashMap<>();
      for (int i = 0; i < ids.size(); i++) {
        out.put(ids.get(i), encoded.get(i));
      }
      return out;
    }
  }

  private static ServedModel load(SharedModelStore store, Path root, String ref) {
    ModelPackage pkg = ModelPackage.resolve(ref, ModelRoots.of(List.of(modelsDir(root))));
    // the SPLADE output of a full batch is [32, 512, 30522] floats: bound the padded tokens
    return store.acquire(pkg, DeviceRequest.parse("auto"), new SchedulerConfig(32, 2048, 0, 4096, 3_600_000));
  }

  private static void encodeCorpus(Path root, BeirDataset dataset, Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    Set<String> done = new HashSet<>();
    if (Files.exists(partial)) {
      List<String> lines = Files.readAllLines(partial, StandardCharsets.UTF_8);
      List<String> complete = new ArrayList<>();
      for (String line : lines) {
        try {
          @SuppressWarnings("unchecked")
          Map<String, Object> o = (Map<String, Object>) Utils.fromJSONString(line);
          done.add((String) o.get("id"));
          complete.add(line);
        } catch (RuntimeException e) {
          break; // a line cut by the interruption
        }
      }
      Files.write(partial, complete, StandardCharsets.UTF_8);
      System.err.println("resuming " + partial + " after " + done.size() + " documents");
    }
    List<CorpusDocument> corpus = new ArrayList<>();
    try (BeirCorpusReader reader = dataset.openCorpus()) {
      CorpusDocument d;
      while ((d = reader.next()) != null) {
        corpus.add(d);
      }
    }
    String ref = ProxySpladePackage.ensure(modelsDir(root), CACHED_TOP_K, 0);
    ProgressBar bar = new ProgressBar("encoding " + dataset.directory().getFileName() + " with " + ProxySpladePackage.NAME, corpus.size(), System.err);
    try (SharedModelStore store = new SharedModelStore();
        BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      ServedModel model = load(store, root, ref);
      List<CorpusDocument> chunk = new ArrayList<>();
      for (int i = 0; i <= corpus.size(); i++) {
        if (i < corpus.size() && !done.contains(corpus.get(i).id())) {
          chunk.add(corpus.get(i));
        }
        if (chunk.size() == CHUNK || (i == corpus.size() && !chunk.isEmpty())) {
          List<String> texts = new ArrayList<>();
          for (CorpusDocument d : chunk) {
            if (!SourceText.isEmpty(sourceText(d))) {
              texts.add(sourceText(d));
            }
          }
          List<Map<String, Float>> vectors = texts.isEmpty() ? List.of() : model.sparseEncoder().encode(texts, TextRole.DOCUMENT);
          int next = 0;
          for (CorpusDocument d : chunk) {
            // as the update processor: a document without text gets no vector (empty weights: no field)
            Map<String, Float> weights = SourceText.isEmpty(sourceText(d)) ? Map.of() : vectors.get(next++);
            out.write("{\"id\":" + Utils.toJSONString(d.id()) + ",\"weights\":" + SparseWeightsFormat.toJson(weights) + "}\n");
          }
          out.flush();
          done.addAll(chunk.stream().map(CorpusDocument::id).toList());
          chunk.clear();
        }
        bar.update(done.size());
      }
    }
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING);
  }

  /** What the update processor encodes for source fields title,text: stripped values joined by a space. */
  static String sourceText(CorpusDocument d) {
    String title = d.title().strip();
    String text = d.text().strip();
    return title.isEmpty() ? text : text.isEmpty() ? title : title + " " + text;
  }
}
