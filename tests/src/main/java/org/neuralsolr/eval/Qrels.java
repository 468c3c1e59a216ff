package org.neuralsolr.eval;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Relevance judgments: for each query, doc id to relevance level. Levels of 1 and above are
 * relevant and are the gains of nDCG; 0 and negative levels are judged non-relevant (trec_eval's
 * default {@code -l 1}). A query appears here when it has at least one judgment of any level, and
 * that (not having a relevant document) is what makes trec_eval evaluate it.
 *
 * <p>A repeated (query, doc) pair is refused: trec_eval stops on it ("duplicate docs") where BEIR's
 * loader silently keeps the last one.
 */
public final class Qrels {
  private final Map<String, Map<String, Integer>> levelsByQuery;

  private Qrels(Map<String, Map<String, Integer>> levelsByQuery) {
    this.levelsByQuery = levelsByQuery;
  }

  /** Judgments given as query id to (doc id to level). */
  public static Qrels copyOf(Map<String, ? extends Map<String, Integer>> levelsByQuery) {
    Builder builder = new Builder();
    levelsByQuery.forEach((q, levels) -> levels.forEach((d, level) -> builder.add(q, d, level)));
    return builder.build();
  }

  /**
   * Reads BEIR's {@code qrels/<split>.tsv}: tab-separated {@code query-id corpus-id score} with
   * an integer score. The first line is BEIR's header and is skipped when its score column is not an
   * integer (BEIR's own loader skips the first line unconditionally).
   */
  public static Qrels readBeirTsv(Path file) throws IOException {
    Builder builder = new Builder();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int lineNumber = 0;
      while ((line = in.readLine()) != null) {
        lineNumber++;
        if (lineNumber == 1 && !line.isEmpty() && line.charAt(0) == '\uFEFF') {
          line = line.substring(1);
        }
        if (line.isBlank()) {
          continue;
        }
        String[] fields = line.split("\t", -1);
        if (fields.length != 3) {
          throw new IOException(
              file + ":" + lineNumber + ": expected 'query-id<TAB>corpus-id<TAB>score', got: " + line);
        }
        Integer level = parseLevel(fields[2]);
        if (level == null) {
          if (lineNumber == 1) {
            continue;
          }
          throw new IOException(file + ":" + lineNumber + ": score is not an integer: " + line);
        }
        add(builder, file, lineNumber, fields[0].strip(), fields[1].strip(), level);
      }
    }
    return builder.build();
  }

  /** Reads a TREC qrels file: {@code qid iter docid level}, whitespace-separated. */
  public static Qrels readTrec(Path file) throws IOException {
    Builder builder = new Builder();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int lineNumber = 0;
      while ((line = in.readLine()) != null) {
        lineNumber++;
        List<String> fields = TrecFormat.fields(line);
        if (fields.isEmpty()) {
          continue;
        }
        Integer level = fields.size() == 4 ? parseLevel(fields.get(3)) : null;
        if (level == null) {
          throw new IOException(
              file + ":" + lineNumber + ": expected 'qid iter docid level', got: " + line);
        }
        add(builder, file, lineNumber, fields.get(0), fields.get(2), level);
      }
    }
    return builder.build();
  }

  private static void add(
      Builder builder, Path file, int lineNumber, String queryId, String docId, int level)
      throws IOException {
    try {
      builder.add(queryId, docId, level);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ":" + lineNumber + ": " + e.getMessage(), e);
    }
  }

  private static Integer parseLevel(String text) {
    try {
      return Integer.valueOf(text.strip());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Writes TREC qrels ({@code qid 0 docid level}), the form trec_eval reads. */
  public void writeTrec(Path file) throws IOException {
    try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Map.Entry<String, Map<String, Integer>> query : levelsByQuery.entrySet()) {
        for (Map.Entry<String, Integer> judgment : query.getValue().entrySet()) {
          out.write(query.getKey() + " 0 " + judgment.getKey() + " " + judgment.getValue() + "\n");
        }
      }
    }
  }

  /** Ids of the queries with at least one judgment, in file order. */
  public Set<String> queryIds() {
    return Collections.unmodifiableSet(levelsByQuery.keySet());
  }

  /** A query's judgments, doc id to level; empty if the query has none. */
  public Map<String, Integer> judgments(String queryId) {
    return levelsByQuery.getOrDefault(queryId, Map.of());
  }

  /** Number of (query, doc) judgments. */
  public int size() {
    return levelsByQuery.values().stream().mapToInt(Map::size).sum();
  }

  static final class Builder {
    private final Map<String, Map<String, Integer>> levelsByQuery = new LinkedHashMap<>();

    Builder add(String queryId, String docId, int level) {
      TrecFormat.checkId(queryId, "query id");
      TrecFormat.checkId(docId, "doc id");
      Integer previous =
          levelsByQuery.computeIfAbsent(queryId, q -> new LinkedHashMap<>()).putIfAbsent(docId, level);
      if (previous != null) {
        throw new IllegalArgumentException(
            "doc " + docId + " judged twice for query " + queryId + "; trec_eval refuses such qrels");
      }
      return this;
    }

    Qrels build() {
      Map<String, Map<String, Integer>> copy = new LinkedHashMap<>();
      levelsByQuery.forEach((q, levels) -> copy.put(q, Collections.unmodifiableMap(new LinkedHashMap<>(levels))));
      return new Qrels(copy);
    }
  }
}
