package org.neuralsolr.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A named way of indexing and querying a BEIR dataset through Solr's HTTP API: the core properties
 * and update chain used to build the index, and the request parameters of one query. Its settings
 * have defaults that {@code --param key=value} overrides; the settings in {@link #indexKeys} decide
 * which index a run needs, so runs that differ only in query settings share an index. A pipeline may
 * prepare what its cores need first (a model package derived from a built-in one) and add
 * precomputed sparse weights to the documents it sends.
 */
final class Pipeline {
  final String name;
  /**
   * The index family: pipelines with the same family and index settings share one index (a
   * re-ranking pipeline reuses the index of the pipeline whose fields it reads). Its name by default.
   */
  final String index;
  final String description;
  final Map<String, String> defaults;
  final Set<String> indexKeys;
  final Function<Map<String, String>, Map<String, String>> coreProperties;
  final String updateChain;
  final BiFunction<Map<String, String>, String, Map<String, String>> queryParams;
  final Preparation preparation;

  /** Sparse weights a pipeline computes for a document itself, sent as the {@code sparse} field. */
  @FunctionalInterface
  interface SparseDocuments {
    /** The document's weights; empty: the document gets no sparse field. */
    Map<String, Float> weights(CorpusDocument document) throws IOException;
  }

  /**
   * What a pipeline needs beyond the configset: derived model packages, precomputed weights, and
   * Schema API commands (JSON, or null) applied to a new core before anything is indexed.
   */
  record Prepared(Map<String, String> coreProperties, SparseDocuments sparseDocuments, String schemaCommands) {
    static final Prepared NOTHING = new Prepared(Map.of(), null, null);

    Prepared(Map<String, String> coreProperties, SparseDocuments sparseDocuments) {
      this(coreProperties, sparseDocuments, null);
    }
  }

  /** Runs before the run's core is created; may write under {@code root/.eval}. */
  @FunctionalInterface
  interface Preparation {
    Prepared prepare(Path root, BeirDataset dataset, Map<String, String> settings) throws IOException;
  }

  Pipeline(
      String name,
      String description,
      Map<String, String> defaults,
      Set<String> indexKeys,
      Function<Map<String, String>, Map<String, String>> coreProperties,
      String updateChain,
      BiFunction<Map<String, String>, String, Map<String, String>> queryParams) {
    this(name, name, description, defaults, indexKeys, coreProperties, updateChain, queryParams, (root, dataset, settings) -> Prepared.NOTHING);
  }

  Pipeline(
      String name,
      String index,
      String description,
      Map<String, String> defaults,
      Set<String> indexKeys,
      Function<Map<String, String>, Map<String, String>> coreProperties,
      String updateChain,
      BiFunction<Map<String, String>, String, Map<String, String>> queryParams) {
    this(name, index, description, defaults, indexKeys, coreProperties, updateChain, queryParams, (root, dataset, settings) -> Prepared.NOTHING);
  }

  Pipeline(
      String name,
      String index,
      String description,
      Map<String, String> defaults,
      Set<String> indexKeys,
      Function<Map<String, String>, Map<String, String>> coreProperties,
      String updateChain,
      BiFunction<Map<String, String>, String, Map<String, String>> queryParams,
      Preparation preparation) {
    this.name = name;
    this.index = index;
    this.description = description;
    this.defaults = Map.copyOf(defaults);
    this.indexKeys = Set.copyOf(indexKeys);
    this.coreProperties = coreProperties;
    this.updateChain = updateChain;
    this.queryParams = queryParams;
    this.preparation = preparation;
  }

  /** The defaults with {@code overrides} applied; an unknown key is refused, naming the known ones. */
  Map<String, String> settings(Map<String, String> overrides) {
    Map<String, String> settings = new LinkedHashMap<>(new java.util.TreeMap<>(defaults));
    for (Map.Entry<String, String> o : overrides.entrySet()) {
      if (!defaults.containsKey(o.getKey())) {
        throw new IllegalArgumentException(
            "pipeline '" + name + "' has no setting '" + o.getKey() + "'; its settings are " + new TreeSet<>(defaults.keySet()));
      }
      settings.put(o.getKey(), o.getValue());
    }
    return settings;
  }

  /** The settings that decide the index, in a stable order. */
  Map<String, String> indexSettings(Map<String, String> settings) {
    Map<String, String> index = new java.util.TreeMap<>();
    for (String k : indexKeys) {
      index.put(k, settings.get(k));
    }
    return index;
  }

  static int topK(Map<String, String> settings) {
    int k;
    try {
      k = Integer.parseInt(settings.get("topK"));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("topK must be a whole number, got '" + settings.get("topK") + "'");
    }
    if (k < 100) {
      throw new IllegalArgumentException("topK must be at least 100 (Recall@100 is reported), got " + k);
    }
    return k;
  }

  static List<String> names() {
    return List.copyOf(Pipelines.ALL.keySet());
  }
}
