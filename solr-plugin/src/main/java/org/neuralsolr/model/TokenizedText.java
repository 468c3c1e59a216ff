package org.neuralsolr.model;

/** One input's token ids, truncated to the model's maximum length, special tokens included. */
final class TokenizedText {
  final long[] ids;
  final long[] typeIds;
  /** Attention mask, or null when every token is attended to (the usual case). */
  final long[] attentionMask;
  /** Which tokens the tokenizer's post-processor added ([CLS], [SEP]...), or null if unknown. */
  final boolean[] special;

  TokenizedText(long[] ids, long[] typeIds) {
    this(ids, typeIds, null, null);
  }

  TokenizedText(long[] ids, long[] typeIds, long[] attentionMask, boolean[] special) {
    this.ids = ids;
    this.typeIds = typeIds;
    this.attentionMask = attentionMask;
    this.special = special;
  }

  int length() {
    return ids.length;
  }
}
