package org.neuralsolr.model;

/** One input's token ids, truncated to the model's maximum length, special tokens included. */
final class TokenizedText {
  final long[] ids;
  final long[] typeIds;

  TokenizedText(long[] ids, long[] typeIds) {
    this.ids = ids;
    this.typeIds = typeIds;
  }

  int length() {
    return ids.length;
  }
}
