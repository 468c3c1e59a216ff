package org.neuralsolr.model;

import java.io.ByteArrayInputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.Utils;

/**
 * Token string → id from a Hugging Face {@code tokenizer.json}: the model's vocabulary (WordPiece
 * and BPE keep a map, Unigram a list of [piece, score]) plus the added tokens. ColBERT conventions
 * name tokens ({@code [MASK]}, markers, the punctuation skip-list), and DJL's tokenizer cannot
 * look a token up by its string.
 */
final class Vocabulary {
  private Vocabulary() {}

  @SuppressWarnings("unchecked")
  static Map<String, Long> read(byte[] tokenizerJson, String location) {
    Object parsed;
    try {
      parsed = Utils.fromJSON(new ByteArrayInputStream(tokenizerJson));
    } catch (RuntimeException e) {
      throw new ModelPackageException("tokenizer of " + location + " is not valid JSON: " + e.getMessage(), e);
    }
    Map<String, Long> ids = new HashMap<>();
    if (!(parsed instanceof Map)) {
      return ids;
    }
    Map<String, Object> json = (Map<String, Object>) parsed;
    Object model = json.get("model");
    Object vocab = model instanceof Map ? ((Map<String, Object>) model).get("vocab") : null;
    if (vocab instanceof Map) {
      for (Map.Entry<String, Object> e : ((Map<String, Object>) vocab).entrySet()) {
        if (e.getValue() instanceof Number) {
          ids.put(e.getKey(), ((Number) e.getValue()).longValue());
        }
      }
    } else if (vocab instanceof List) {
      long id = 0;
      for (Object entry : (List<Object>) vocab) {
        if (entry instanceof List && !((List<Object>) entry).isEmpty()) {
          ids.put(String.valueOf(((List<Object>) entry).get(0)), id);
        }
        id++;
      }
    }
    Object added = json.get("added_tokens");
    if (added instanceof List) {
      for (Object token : (List<Object>) added) {
        if (token instanceof Map) {
          Object content = ((Map<String, Object>) token).get("content");
          Object id = ((Map<String, Object>) token).get("id");
          if (content instanceof String && id instanceof Number) {
            ids.put((String) content, ((Number) id).longValue());
          }
        }
      }
    }
    return ids;
  }
}
