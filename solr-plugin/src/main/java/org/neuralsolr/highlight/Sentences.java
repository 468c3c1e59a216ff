package org.neuralsolr.highlight;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The sentences a neural highlighter ranks. A single-valued field's stored text is split by the
 * JDK's {@link BreakIterator#getSentenceInstance(Locale) sentence BreakIterator} for {@link
 * Locale#ROOT} (Unicode UAX #29 sentence boundaries: a break after {@code .!?} followed by white
 * space and an upper-case letter, and at paragraph separators; abbreviations such as "e.g." followed
 * by a lower-case word do not break); white space around a sentence is not part of it. Each value of
 * a multi-valued field is one sentence, unsplit, so a schema that keeps its own sentence split (a
 * multi-valued stored field) is highlighted by that split; or such a field may give the split of a
 * single-valued text field ({@link #located}).
 */
public final class Sentences {
  /** One sentence: its position among the document's sentences and its character span. */
  public record Sentence(int index, int value, int start, int end, String text) {}

  private Sentences() {}

  /** The sentences of one field's stored values, in document order. */
  public static List<Sentence> of(List<String> values, boolean multiValued) {
    List<Sentence> sentences = new ArrayList<>();
    for (int v = 0; v < values.size(); v++) {
      String text = values.get(v);
      if (multiValued) {
        int start = firstNonSpace(text, 0, text.length());
        int end = lastNonSpace(text, start, text.length());
        if (start < end) {
          sentences.add(new Sentence(sentences.size(), v, start, end, text.substring(start, end)));
        }
        continue;
      }
      BreakIterator it = BreakIterator.getSentenceInstance(Locale.ROOT);
      it.setText(text);
      int from = it.first();
      for (int to = it.next(); to != BreakIterator.DONE; from = to, to = it.next()) {
        int start = firstNonSpace(text, from, to);
        int end = lastNonSpace(text, start, to);
        if (start < end) {
          sentences.add(new Sentence(sentences.size(), v, start, end, text.substring(start, end)));
        }
      }
    }
    return sentences;
  }

  /**
   * The sentences of a single-valued field's text as another field lists them ({@code
   * hl.neural.sentences}): each listed sentence, stripped, is looked for in the text after the
   * previous one, and keeps its position in the list as its index; one not found there is left out.
   */
  static List<Sentence> located(String text, List<String> listed) {
    List<Sentence> sentences = new ArrayList<>();
    int from = 0;
    for (int i = 0; i < listed.size(); i++) {
      String sentence = listed.get(i).strip();
      int at = sentence.isEmpty() ? -1 : text.indexOf(sentence, from);
      if (at >= 0) {
        sentences.add(new Sentence(i, 0, at, at + sentence.length(), sentence));
        from = at + sentence.length();
      }
    }
    return sentences;
  }

  private static int firstNonSpace(String s, int from, int to) {
    while (from < to && Character.isWhitespace(s.charAt(from))) {
      from++;
    }
    return from;
  }

  private static int lastNonSpace(String s, int from, int to) {
    while (to > from && Character.isWhitespace(s.charAt(to - 1))) {
      to--;
    }
    return to;
  }
}
