package org.neuralsolr.model;

/** One input's token ids, truncated to the model's maximum length, special tokens included. */
final class TokenizedText {
  final long[] ids;
  final long[] typeIds;
  /** 1 where the tokenizer's post-processor added a special token ([CLS], [SEP]), else 0. */
  final long[] specialTokensMask;

  TokenizedText(long[] ids, long[] typeIds) {
    this(ids, typeIds, new long[ids.length]);
  }

  TokenizedText(long[] ids, long[] typeIds, long[] specialTokensMask) {
    this.ids = ids;
    this.typeIds = typeIds;
    this.specialTokensMask = specialTokensMask;
  }

  int length() {
    return ids.length;
  }
}
