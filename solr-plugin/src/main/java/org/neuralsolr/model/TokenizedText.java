package org.neuralsolr.model;

/** One input's token ids, truncated to the model's maximum length, special tokens included. */
final class TokenizedText {
  final long[] ids;
  final long[] typeIds;
  /** Attention mask, or null when every token is attended to (the usual case). */
  final long[] attentionMask;
  /** 1 where the tokenizer's post-processor added a special token ([CLS], [SEP]), else 0. */
  final long[] specialTokensMask;

  TokenizedText(long[] ids, long[] typeIds) {
    this(ids, typeIds, null, new long[ids.length]);
  }

  TokenizedText(long[] ids, long[] typeIds, long[] attentionMask, long[] specialTokensMask) {
    this.ids = ids;
    this.typeIds = typeIds;
    this.attentionMask = attentionMask;
    this.specialTokensMask = specialTokensMask;
  }

  int length() {
    return ids.length;
  }
}
