package org.neuralsolr.eval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Streams the top-level objects of a JSON Lines file, keeping only the named scalar fields as text.
 * Everything else (BEIR's {@code metadata}, say) is skipped without being built, so memory stays
 * flat however large the file. Jackson's streaming parser handles escapes, surrogate pairs, a BOM
 * and objects that span lines.
 */
final class JsonLinesReader implements Closeable {
  private static final JsonFactory FACTORY = JsonFactory.builder().build();

  private final Path file;
  private final JsonParser parser;

  JsonLinesReader(Path file) throws IOException {
    this.file = file;
    this.parser = FACTORY.createParser(file.toFile());
  }

  /**
   * The wanted fields of the next object, by name; a field that is absent, null, an array or an
   * object is left out; a number keeps its literal text (some BEIR sets have numeric ids).
   * Returns null at the end of the file.
   */
  Map<String, String> next(Set<String> wanted) throws IOException {
    JsonToken token = parser.nextToken();
    if (token == null) {
      return null;
    }
    if (token != JsonToken.START_OBJECT) {
      throw new IOException(file + ": expected a JSON object at " + where());
    }
    Map<String, String> fields = new HashMap<>();
    while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      if (wanted.contains(name) && value.isScalarValue() && value != JsonToken.VALUE_NULL) {
        fields.put(name, parser.getText());
      } else {
        parser.skipChildren();
      }
    }
    if (token != JsonToken.END_OBJECT) {
      throw new IOException(file + ": malformed object at " + where());
    }
    return fields;
  }

  String where() {
    return "line " + parser.currentLocation().getLineNr();
  }

  Path file() {
    return file;
  }

  @Override
  public void close() throws IOException {
    parser.close();
  }
}
