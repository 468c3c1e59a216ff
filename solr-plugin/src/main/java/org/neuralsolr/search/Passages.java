package org.neuralsolr.search;

import java.util.ArrayList;
import java.util.List;

/**
 * How a cross-encoder sees a long document: windows of {@code words} whitespace-separated words,
 * each starting {@code stride} words after the previous one, at most {@code maxPassages} of them
 * (Dai and Callan, "Deeper Text Understanding for IR with Contextual Neural Language Modeling",
 * SIGIR 2019: 150-word windows, stride 75). A document scores as its first passage (FirstP) or its
 * best one (MaxP); each passage is still truncated to the model's maximum length with the query.
 */
final class Passages {
  enum Aggregation {
    FIRST,
    MAX
  }

  final Aggregation aggregation;
  final int words;
  final int stride;
  final int maxPassages;

  Passages(Aggregation aggregation, int words, int stride, int maxPassages) {
    this.aggregation = aggregation;
    this.words = words;
    this.stride = stride;
    this.maxPassages = aggregation == Aggregation.FIRST ? 1 : maxPassages;
  }

  /**
   * The passages of {@code text}: one when it has at most {@code words} words (the text as it is),
   * otherwise windows until one reaches the last word or {@code maxPassages} are made.
   */
  List<String> split(String text) {
    String[] tokens = text.trim().split("\\s+");
    if (tokens.length <= words) {
      return List.of(text);
    }
    List<String> passages = new ArrayList<>();
    for (int start = 0; passages.size() < maxPassages; start += stride) {
      int end = Math.min(tokens.length, start + words);
      passages.add(String.join(" ", java.util.Arrays.asList(tokens).subList(start, end)));
      if (end == tokens.length) {
        break;
      }
    }
    return passages;
  }

  @Override
  public String toString() {
    if (aggregation == Aggregation.FIRST) {
      return words == Integer.MAX_VALUE ? "whole text (FirstP, cut to the model's maxLength)" : "first passage (FirstP) of " + words + " words";
    }
    return "best passage (MaxP) of " + words + " words, stride " + stride + ", at most " + maxPassages;
  }
}
