package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.List;
import org.apache.solr.common.util.NamedList;
import org.neuralsolr.highlight.Sentences;
import org.neuralsolr.model.DenseEncoder;

/**
 * Cuts a long source text into passages counted in the model's own tokens, so that a model with a
 * short {@code maxLength} reads all of a document instead of its head ({@code <lst
 * name="passages">} of a field mapping):
 *
 * <ul>
 *   <li>{@code split=sentences}: whole sentences (the highlighter's {@link Sentences} split) packed
 *       greedily while a passage stays within {@code maxTokens}; a sentence longer than that is cut
 *       into windows on its own.
 *   <li>{@code split=window}: windows of {@code maxTokens} tokens, each starting {@code maxTokens -
 *       overlap} tokens after the previous one.
 * </ul>
 *
 * Token spans come from the tokenizer, which reads at most {@code maxLength} tokens of one text, so
 * a long text is tokenised from each passage's start again: a window boundary may differ from a
 * whole-text tokenisation by one sub-word at the cut.
 */
final class PassageSplitter {
  /** One passage: its character span in the source text and its text. */
  record Passage(int start, int end, String text) {}

  enum Split {
    SENTENCES,
    WINDOW
  }

  static final int DEFAULT_MAX_TOKENS = 128;

  final Split split;
  final int maxTokens;
  final int overlap;

  PassageSplitter(Split split, int maxTokens, int overlap) {
    this.split = split;
    this.maxTokens = maxTokens;
    this.overlap = overlap;
  }

  /**
   * The settings of {@code <lst name="passages">}: {@code split} (sentences|window, default
   * sentences), {@code maxTokens} (default 128) and {@code overlap} (window only, default 0).
   *
   * @throws IllegalArgumentException naming the setting and its allowed range
   */
  static PassageSplitter fromNamedList(String field, NamedList<?> args) {
    Object s = args.get("split");
    Split split;
    String name = s == null ? "sentences" : s.toString().trim();
    switch (name) {
      case "sentences" -> split = Split.SENTENCES;
      case "window" -> split = Split.WINDOW;
      default -> throw new IllegalArgumentException(
          "field '" + field + "': passages 'split' must be 'sentences' or 'window', got '" + name + "'");
    }
    int maxTokens = intSetting(field, args, "maxTokens", DEFAULT_MAX_TOKENS);
    int overlap = intSetting(field, args, "overlap", 0);
    if (maxTokens < 1) {
      throw new IllegalArgumentException("field '" + field + "': passages 'maxTokens' must be at least 1, got " + maxTokens);
    }
    if (overlap < 0 || overlap >= maxTokens) {
      throw new IllegalArgumentException(
          "field '" + field + "': passages 'overlap' must be between 0 and maxTokens - 1 (" + (maxTokens - 1) + "), got " + overlap);
    }
    if (overlap > 0 && split != Split.WINDOW) {
      throw new IllegalArgumentException("field '" + field + "': passages 'overlap' needs split=window");
    }
    return new PassageSplitter(split, maxTokens, overlap);
  }

  private static int intSetting(String field, NamedList<?> args, String key, int fallback) {
    Object v = args.get(key);
    if (v == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(v.toString().trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("field '" + field + "': passages '" + key + "' must be an integer, got '" + v + "'");
    }
  }

  /**
   * Checks {@code maxTokens} against the model: a passage must fit in what the model reads, special
   * tokens included (two for BERT-style models; the check keeps that margin).
   */
  void checkModel(String field, String model, DenseEncoder encoder) {
    int room = encoder.maxLength() - 2;
    if (maxTokens > room) {
      throw new IllegalArgumentException(
          "field '" + field + "': passages 'maxTokens' must be at most " + room + " for model '" + model
              + "' (maxLength " + encoder.maxLength() + " less 2 special tokens), got " + maxTokens);
    }
  }

  /** The passages of {@code text} in order; at least one for a text with any token. */
  List<Passage> split(String text, DenseEncoder encoder) {
    List<Passage> out = new ArrayList<>();
    if (split == Split.WINDOW) {
      windows(text, 0, text.length(), encoder, overlap, out);
      return out;
    }
    int start = -1;
    int end = -1;
    int tokens = 0;
    for (Sentences.Sentence s : Sentences.of(List.of(text), false)) {
      int n = encoder.tokenSpans(s.text()).length;
      if (start >= 0 && tokens + n <= maxTokens) {
        end = s.end();
        tokens += n;
        continue;
      }
      if (start >= 0) {
        out.add(new Passage(start, end, text.substring(start, end)));
        start = -1;
      }
      if (n > maxTokens || n >= encoder.maxLength()) {
        windows(text, s.start(), s.end(), encoder, 0, out);
      } else {
        start = s.start();
        end = s.end();
        tokens = n;
      }
    }
    if (start >= 0) {
      out.add(new Passage(start, end, text.substring(start, end)));
    }
    return out;
  }

  /** Windows of {@code maxTokens} tokens over {@code text[from, to)}, {@code overlap} tokens shared. */
  private void windows(String text, int from, int to, DenseEncoder encoder, int overlap, List<Passage> out) {
    int at = from;
    while (at < to) {
      String rest = text.substring(at, to);
      int[][] spans = encoder.tokenSpans(rest);
      int first = -1;
      for (int i = 0; i < spans.length; i++) {
        if (spans[i][0] >= 0) {
          first = i;
          break;
        }
      }
      if (first < 0) {
        return; // nothing left but white space or characters the tokenizer drops
      }
      int last = Math.min(spans.length, first + maxTokens) - 1;
      while (last > first && spans[last][1] < 0) {
        last--;
      }
      int start = at + spans[first][0];
      int end = at + spans[last][1];
      out.add(new Passage(start, end, text.substring(start, end)));
      boolean truncated = spans.length >= encoder.maxLength() - 2;
      if (last == spans.length - 1 && !truncated) {
        return; // the window reached the end of the text
      }
      int next = Math.max(first + 1, last + 1 - overlap);
      int nextStart = next < spans.length && spans[next][0] >= 0 ? at + spans[next][0] : end;
      if (nextStart <= at) {
        nextStart = end; // no progress otherwise
      }
      at = nextStart;
    }
  }
}
