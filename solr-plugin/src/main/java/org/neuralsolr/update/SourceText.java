package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;

/**
 * What counts as text to encode. BERT-family tokenizers drop control characters (U+0000, ESC...)
 * and format characters (zero-width spaces and joiners, bidi marks, the BOM) before they split
 * text, so a source made only of those and white space would be encoded from the special tokens
 * alone: every such document would get the same meaningless vector. It has no text.
 */
public final class SourceText {
  private SourceText() {}

  /** Where one source value lies in the joined text: {@code length} chars from {@code start}, from {@code valueStart} in the value. */
  public record Piece(String field, int value, int start, int valueStart, int length) {}

  /** The text a document's source fields give the model, and where each value lies in it. */
  public record Joined(String text, List<Piece> pieces) {}

  /**
   * The values of the source fields, in the given order, each stripped of surrounding white space,
   * the empty ones left out, joined by single spaces: the text the update processor encodes.
   */
  public static Joined join(List<String> fields, Function<String, Collection<?>> values) {
    StringBuilder text = new StringBuilder();
    List<Piece> pieces = new ArrayList<>();
    for (String field : fields) {
      Collection<?> vs = values.apply(field);
      if (vs == null) {
        continue;
      }
      int index = 0;
      for (Object v : vs) {
        String raw = v == null ? "" : v.toString();
        String s = raw.strip();
        if (!s.isEmpty()) {
          if (text.length() > 0) {
            text.append(' ');
          }
          pieces.add(new Piece(field, index, text.length(), raw.indexOf(s), s.length()));
          text.append(s);
        }
        index++;
      }
    }
    return new Joined(text.toString(), pieces);
  }

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
