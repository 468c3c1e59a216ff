package org.neuralsolr.model;

import java.io.ByteArrayInputStream;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.solr.common.util.Utils;

/**
 * The token strings of a Hugging Face {@code tokenizer.json}, by id: what a sparse model's output
 * columns stand for. DJL's tokenizer binding maps text to ids but not ids back to tokens, so the
 * vocabulary is read from the file itself: {@code model.vocab} (an object token &rarr; id for
 * WordPiece and BPE, a list of {@code [token, score]} for Unigram, whose ids are the positions)
 * plus {@code added_tokens}, which also say which tokens are special.
 */
final class TokenVocabulary {
  private final String[] tokens;
  private final BitSet special;
  private final Map<String, Integer> ids;

  private TokenVocabulary(String[] tokens, BitSet special) {
    this.tokens = tokens;
    this.special = special;
    this.ids = new HashMap<>(tokens.length * 2);
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] != null) {
        ids.putIfAbsent(tokens[i], i);
      }
    }
  }

  /**
   * Reads the vocabulary of a {@code tokenizer.json}.
   *
   * @throws IllegalArgumentException if the file has no vocabulary this class understands
   */
  @SuppressWarnings("unchecked")
  static TokenVocabulary fromTokenizerJson(byte[] tokenizerJson) {
    Object parsed;
    try {
      parsed = Utils.fromJSON(new ByteArrayInputStream(tokenizerJson));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("tokenizer.json is not JSON: " + e.getMessage(), e);
    }
    if (!(parsed instanceof Map) || !(((Map<String, Object>) parsed).get("model") instanceof Map)) {
      throw new IllegalArgumentException("tokenizer.json has no 'model' object");
    }
    Map<String, Object> json = (Map<String, Object>) parsed;
    Object vocab = ((Map<String, Object>) json.get("model")).get("vocab");
    Map<Integer, String> byId = new HashMap<>();
    if (vocab instanceof Map) {
      for (Map.Entry<String, Object> e : ((Map<String, Object>) vocab).entrySet()) {
        byId.put(id(e.getValue(), e.getKey()), e.getKey());
      }
    } else if (vocab instanceof List) {
      List<Object> list = (List<Object>) vocab;
      for (int i = 0; i < list.size(); i++) {
        Object entry = list.get(i);
        if (!(entry instanceof List) || ((List<Object>) entry).isEmpty()) {
          throw new IllegalArgumentException("tokenizer.json: vocabulary entry " + i + " is not [token, score]");
        }
        byId.put(i, String.valueOf(((List<Object>) entry).get(0)));
      }
    } else {
      throw new IllegalArgumentException("tokenizer.json: 'model.vocab' is neither an object nor a list");
    }
    BitSet special = new BitSet();
    Object added = json.get("added_tokens");
    if (added instanceof List) {
      for (Object o : (List<Object>) added) {
        Map<String, Object> token = (Map<String, Object>) o;
        int id = id(token.get("id"), String.valueOf(token.get("content")));
        byId.put(id, String.valueOf(token.get("content")));
        if (Boolean.TRUE.equals(token.get("special"))) {
          special.set(id);
        }
      }
    }
    if (byId.isEmpty()) {
      throw new IllegalArgumentException("tokenizer.json: the vocabulary is empty");
    }
    int size = byId.keySet().stream().mapToInt(Integer::intValue).max().getAsInt() + 1;
    String[] tokens = new String[size];
    byId.forEach((id, token) -> tokens[id] = token);
    return new TokenVocabulary(tokens, special);
  }

  private static int id(Object value, String token) {
    if (!(value instanceof Number) || ((Number) value).longValue() < 0 || ((Number) value).longValue() > 1 << 24) {
      throw new IllegalArgumentException("tokenizer.json: token '" + token + "' has no valid id: " + value);
    }
    return ((Number) value).intValue();
  }

  /** One past the largest id. */
  int size() {
    return tokens.length;
  }

  /** The token with id {@code id}, or null if no token has it. */
  String token(int id) {
    return id >= 0 && id < tokens.length ? tokens[id] : null;
  }

  /** The id of {@code token}, or -1. */
  int id(String token) {
    Integer id = ids.get(token);
    return id == null ? -1 : id;
  }

  /** True for the tokenizer's special tokens ({@code [CLS]}, {@code [SEP]}, {@code [PAD]}...). */
  boolean isSpecial(int id) {
    return special.get(id);
  }

  /** Ids without a token (holes in the vocabulary), at most {@code max} of them. */
  int[] missingIds(int max) {
    return IntStream.range(0, tokens.length).filter(i -> tokens[i] == null).limit(max).toArray();
  }
}
