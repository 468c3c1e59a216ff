package org.neuralsolr.eval;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Streams a BEIR {@code corpus.jsonl} ({@code {"_id", "title", "text", ...}}) one document at a
 * time, so corpora of millions of documents never sit in memory.
 */
public final class BeirCorpusReader implements Closeable {
  private static final Set<String> FIELDS = Set.of("_id", "title", "text");

  private final JsonLinesReader lines;

  BeirCorpusReader(Path corpusJsonl) throws IOException {
    this.lines = new JsonLinesReader(corpusJsonl);
  }

  /** The next document, or null after the last one. */
  public CorpusDocument next() throws IOException {
    Map<String, String> fields = lines.next(FIELDS);
    if (fields == null) {
      return null;
    }
    String id = fields.get("_id");
    if (id == null || id.isEmpty()) {
      throw new IOException(lines.file() + ": document without _id before " + lines.where());
    }
    return new CorpusDocument(id, fields.getOrDefault("title", ""), fields.getOrDefault("text", ""));
  }

  @Override
  public void close() throws IOException {
    lines.close();
  }
}
