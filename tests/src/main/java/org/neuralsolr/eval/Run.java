package org.neuralsolr.eval;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a system retrieved: for each query, documents with scores. The TREC run file form is one
 * line per document, {@code qid Q0 docid rank score tag}.
 *
 * <p>A query's doc ids must be distinct: trec_eval 9.x refuses to evaluate a run with a repeated
 * (query, doc) pair ("duplicate docs", exit 4), so a run with one has no trec_eval value and a
 * repeat is a bug upstream (a document returned twice, say by two shards) to be fixed, not hidden.
 * A query with no retrieved document cannot be written in TREC form and is simply absent.
 */
public final class Run {
  private final Map<String, List<ScoredDoc>> docsByQuery;

  private Run(Map<String, List<ScoredDoc>> docsByQuery) {
    this.docsByQuery = docsByQuery;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Ids of the queries with at least one retrieved document, in the order first added. */
  public Set<String> queryIds() {
    return Collections.unmodifiableSet(docsByQuery.keySet());
  }

  /** A query's documents in trec_eval's rank order; empty if the query retrieved nothing. */
  public List<ScoredDoc> ranked(String queryId) {
    return TrecOrder.rank(docs(queryId), TrecOrder.TREC_EVAL);
  }

  /** A query's documents in the order they were added. */
  List<ScoredDoc> docs(String queryId) {
    return docsByQuery.getOrDefault(queryId, List.of());
  }

  /**
   * Writes the run in TREC form, each query's lines in trec_eval's rank order with ranks from 1, so
   * that tools that trust the rank column agree with trec_eval too. Scores are written with every
   * digit needed to read back the same double, so no tie is made or broken by the file.
   */
  public void writeTrec(Path file, String tag) throws IOException {
    TrecFormat.checkId(tag, "run tag");
    try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (String queryId : docsByQuery.keySet()) {
        int rank = 0;
        for (ScoredDoc doc : ranked(queryId)) {
          out.write(queryId);
          out.write(" Q0 ");
          out.write(doc.docId());
          out.write(' ');
          out.write(Integer.toString(++rank));
          out.write(' ');
          out.write(Double.toString(doc.score()));
          out.write(' ');
          out.write(tag);
          out.write('\n');
        }
      }
    }
  }

  /**
   * Reads a TREC run file (UTF-8). As in trec_eval, the iteration and rank columns are ignored, the
   * score alone orders, blank lines are skipped and fields after the tag are ignored.
   */
  public static Run readTrec(Path file) throws IOException {
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
        if (fields.size() < 6) {
          throw new IOException(
              file + ":" + lineNumber + ": expected 'qid Q0 docid rank score tag', got: " + line);
        }
        double score;
        try {
          score = Double.parseDouble(fields.get(4));
        } catch (NumberFormatException e) {
          throw new IOException(file + ":" + lineNumber + ": score is not a number: " + line, e);
        }
        try {
          builder.add(fields.get(0), fields.get(2), score);
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ":" + lineNumber + ": " + e.getMessage(), e);
        }
      }
    }
    return builder.build();
  }

  /** Collects a run query by query; not thread-safe. */
  public static final class Builder {
    private final Map<String, List<ScoredDoc>> docsByQuery = new LinkedHashMap<>();
    private final Map<String, Set<String>> idsByQuery = new LinkedHashMap<>();

    private Builder() {}

    public Builder add(String queryId, String docId, double score) {
      TrecFormat.checkId(queryId, "query id");
      ScoredDoc doc = new ScoredDoc(docId, score);
      if (!idsByQuery.computeIfAbsent(queryId, q -> new HashSet<>()).add(docId)) {
        throw new IllegalArgumentException(
            "doc " + docId + " retrieved twice for query " + queryId
                + "; trec_eval refuses runs with duplicate docs");
      }
      docsByQuery.computeIfAbsent(queryId, q -> new ArrayList<>()).add(doc);
      return this;
    }

    public Run build() {
      Map<String, List<ScoredDoc>> copy = new LinkedHashMap<>();
      docsByQuery.forEach((q, docs) -> copy.put(q, List.copyOf(docs)));
      return new Run(copy);
    }
  }
}
