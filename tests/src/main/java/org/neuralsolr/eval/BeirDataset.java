package org.neuralsolr.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A dataset in BEIR's layout: {@code corpus.jsonl}, {@code queries.jsonl} and
 * {@code qrels/<split>.tsv} in one directory.
 */
public final class BeirDataset {
  private static final Set<String> QUERY_FIELDS = Set.of("_id", "text");

  private final Path directory;

  private BeirDataset(Path directory) {
    this.directory = directory;
  }

  public static BeirDataset at(Path directory) throws IOException {
    for (String name : new String[] {"corpus.jsonl", "queries.jsonl", "qrels"}) {
      if (!Files.exists(directory.resolve(name))) {
        throw new IOException(directory + " is not a BEIR dataset: " + name + " is missing");
      }
    }
    return new BeirDataset(directory);
  }

  public Path directory() {
    return directory;
  }

  /** The judgments of one split, e.g. {@code "test"}. */
  public Qrels qrels(String split) throws IOException {
    return Qrels.readBeirTsv(directory.resolve("qrels").resolve(split + ".tsv"));
  }

  /** All queries of the dataset (every split), id to text, in file order. */
  public Map<String, String> queries() throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    try (JsonLinesReader lines = new JsonLinesReader(directory.resolve("queries.jsonl"))) {
      Map<String, String> fields;
      while ((fields = lines.next(QUERY_FIELDS)) != null) {
        String id = fields.get("_id");
        if (id == null || id.isEmpty()) {
          throw new IOException(lines.file() + ": query without _id before " + lines.where());
        }
        if (queries.putIfAbsent(id, fields.getOrDefault("text", "")) != null) {
          throw new IOException(lines.file() + ": query " + id + " appears twice");
        }
      }
    }
    return Collections.unmodifiableMap(queries);
  }

  /** Opens the corpus for one streaming pass; close it when done. */
  public BeirCorpusReader openCorpus() throws IOException {
    return new BeirCorpusReader(directory.resolve("corpus.jsonl"));
  }
}
