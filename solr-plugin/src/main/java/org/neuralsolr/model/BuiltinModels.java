package org.neuralsolr.model;

import java.util.List;

/**
 * Names of the packages shipped with the plugin. Their manifests are resources under {@code
 * org/neuralsolr/model/builtin/}; their weights come from the {@code langchain4j-embeddings-*}
 * carrier jars, which hold nothing else we use.
 */
public final class BuiltinModels {
  public static final List<String> NAMES =
      List.of(
          "bge-small-en-v1.5",
          "bge-small-en-v1.5-int8",
          "e5-small-v2",
          "e5-small-v2-int8",
          "all-minilm-l6-v2",
          "all-minilm-l6-v2-int8");

  private BuiltinModels() {}
}
