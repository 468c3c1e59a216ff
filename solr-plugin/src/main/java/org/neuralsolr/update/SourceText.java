package org.neuralsolr.update;

/**
 * What counts as text to encode. BERT-family tokenizers drop control characters (U+0000, ESC...)
 * and format characters (zero-width spaces and joiners, bidi marks, the BOM) before they split
 * text, so a source made only of those and white space would be encoded from the special tokens
 * alone: every such document would get the same meaningless vector. It has no text.
 */
public final class SourceText {
  private SourceText() {}

  /** Whether {@code text} holds nothing but white space, control and format characters. */
  public static boolean isEmpty(CharSequence text) {
    return text.codePoints().allMatch(SourceText::isNotText);
  }

  private static boolean isNotText(int codePoint) {
    int type = Character.getType(codePoint);
    return Character.isWhitespace(codePoint)
        || Character.isSpaceChar(codePoint)
        || type == Character.CONTROL
        || type == Character.FORMAT;
  }
}
