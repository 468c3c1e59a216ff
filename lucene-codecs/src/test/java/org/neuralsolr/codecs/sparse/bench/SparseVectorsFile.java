package org.neuralsolr.codecs.sparse.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads sparse vectors from a JSONL file: one JSON object a line, {@code {"id": "d1", "weights":
 * {"term": 0.53, "other": 1.2}}}. {@code id} may be a string or a number; other members are
 * ignored; blank lines are skipped. The same format serves documents and queries.
 *
 * <p>A minimal JSON reader, because {@code lucene-codecs} depends on nothing but Lucene.
 */
final class SparseVectorsFile {

  /** One vector of the file. */
  static final class Entry {
    final String id;
    final Map<String, Float> weights;

    Entry(String id, Map<String, Float> weights) {
      this.id = id;
      this.weights = weights;
    }
  }

  private SparseVectorsFile() {}

  static List<Entry> read(Path path) throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
      String line;
      int lineNumber = 0;
      while ((line = in.readLine()) != null) {
        lineNumber++;
        if (line.isBlank()) {
          continue;
        }
        try {
          Object value = new Parser(line).parseTop();
          if (!(value instanceof Map)) {
            throw new IllegalArgumentException("not a JSON object");
          }
          Map<?, ?> object = (Map<?, ?>) value;
          Object id = object.get("id");
          Object weights = object.get("weights");
          if (!(weights instanceof Map)) {
            throw new IllegalArgumentException("missing \"weights\" object");
          }
          Map<String, Float> vector = new LinkedHashMap<>();
          for (Map.Entry<?, ?> e : ((Map<?, ?>) weights).entrySet()) {
            if (!(e.getValue() instanceof Double)) {
              throw new IllegalArgumentException("weight of '" + e.getKey() + "' is not a number");
            }
            vector.put((String) e.getKey(), ((Double) e.getValue()).floatValue());
          }
          entries.add(new Entry(id == null ? Integer.toString(entries.size()) : idString(id), vector));
        } catch (RuntimeException e) {
          throw new IOException(path + ":" + lineNumber + ": " + e.getMessage(), e);
        }
      }
    }
    return entries;
  }

  private static String idString(Object id) {
    if (id instanceof Double && ((Double) id) == Math.rint((Double) id)) {
      return Long.toString(((Double) id).longValue());
    }
    return id.toString();
  }

  /** Recursive descent over one line; numbers become Double, objects LinkedHashMap. */
  private static final class Parser {
    private final String s;
    private int pos;

    Parser(String s) {
      this.s = s;
    }

    Object parseTop() {
      Object v = value();
      skipWhitespace();
      if (pos != s.length()) {
        throw error("trailing characters");
      }
      return v;
    }

    private RuntimeException error(String message) {
      return new IllegalArgumentException(message + " at column " + (pos + 1));
    }

    private void skipWhitespace() {
      while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
        pos++;
      }
    }

    private void expect(char c) {
      skipWhitespace();
      if (pos >= s.length() || s.charAt(pos) != c) {
        throw error("expected '" + c + "'");
      }
      pos++;
    }

    private Object value() {
      skipWhitespace();
      if (pos >= s.length()) {
        throw error("unexpected end");
      }
      char c = s.charAt(pos);
      switch (c) {
        case '{':
          return object();
        case '[':
          return array();
        case '"':
          return string();
        case 't':
          return literal("true", Boolean.TRUE);
        case 'f':
          return literal("false", Boolean.FALSE);
        case 'n':
          return literal("null", null);
        default:
          return number();
      }
    }

    private Object literal(String word, Object value) {
      if (s.startsWith(word, pos) == false) {
        throw error("invalid literal");
      }
      pos += word.length();
      return value;
    }

    private Map<String, Object> object() {
      expect('{');
      Map<String, Object> map = new LinkedHashMap<>();
      skipWhitespace();
      if (pos < s.length() && s.charAt(pos) == '}') {
        pos++;
        return map;
      }
      while (true) {
        skipWhitespace();
        String key = string();
        expect(':');
        map.put(key, value());
        skipWhitespace();
        if (pos < s.length() && s.charAt(pos) == ',') {
          pos++;
          continue;
        }
        expect('}');
        return map;
      }
    }

    private List<Object> array() {
      expect('[');
      List<Object> list = new ArrayList<>();
      skipWhitespace();
      if (pos < s.length() && s.charAt(pos) == ']') {
        pos++;
        return list;
      }
      while (true) {
        list.add(value());
        skipWhitespace();
        if (pos < s.length() && s.charAt(pos) == ',') {
          pos++;
          continue;
        }
        expect(']');
        return list;
      }
    }

    private String string() {
      if (pos >= s.length() || s.charAt(pos) != '"') {
        throw error("expected a string");
      }
      pos++;
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (pos >= s.length()) {
          throw error("unterminated string");
        }
        char c = s.charAt(pos++);
        if (c == '"') {
          return sb.toString();
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(pos++);
        switch (e) {
          case 'n':
            sb.append('\n');
            break;
          case 't':
            sb.append('\t');
            break;
          case 'r':
            sb.append('\r');
            break;
          case 'b':
            sb.append('\b');
            break;
          case 'f':
            sb.append('\f');
            break;
          case 'u':
            sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            pos += 4;
            break;
          default:
            sb.append(e); // \" \\ \/
        }
      }
    }

    private Double number() {
      int start = pos;
      while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
      if (start == pos) {
        throw error("unexpected character '" + s.charAt(pos) + "'");
      }
      return Double.parseDouble(s.substring(start, pos));
    }
  }
}
