package org.neuralsolr.update;

import java.util.ArrayList;
import java.util.List;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.StrUtils;

/**
 * One neural field the processor fills: {@code <lst name="field">} with the target field's {@code
 * name}, the {@code model} that encodes it, the {@code source} fields whose values are joined (with
 * single spaces, in the listed order) into the text to encode, and whether a document without any
 * source text is an error ({@code required=true}: HTTP 400 naming the document) or is indexed
 * without the field ({@code required=false}, the default: real collections have empty documents).
 * A dense model's field may name one of the manifest's document {@code instruction} templates.
 */
final class NeuralFieldMapping {
  final String field;
  final String model;
  final List<String> sources;
  final boolean required;
  /** The document instruction template to encode with, or null for the manifest's default. */
  final String instruction;
  /**
   * How the source text is cut into passages, each indexed as a child document carrying the
   * field, or null to index one vector on the document itself; see docs/long-documents.md.
   */
  final PassageSplitter passages;
  /**
   * For token vectors: a field that keeps each vector's character span ({@link TokenSpans}), so
   * that the neural highlighter need not tokenise the text again; null: none kept.
   */
  final String spans;

  private NeuralFieldMapping(
      String field, String model, List<String> sources, boolean required, String instruction, PassageSplitter passages, String spans) {
    this.field = field;
    this.model = model;
    this.sources = sources;
    this.required = required;
    this.instruction = instruction;
    this.passages = passages;
    this.spans = spans;
  }

  static NeuralFieldMapping fromNamedList(NamedList<?> args) {
    String field = requireString(args, "name");
    String model = requireString(args, "model");
    Object sourceArg = args.get("source");
    List<String> sources = new ArrayList<>();
    if (sourceArg instanceof List) {
      for (Object o : (List<?>) sourceArg) {
        sources.add(o.toString().trim());
      }
    } else if (sourceArg != null) {
      for (String s : StrUtils.splitSmart(sourceArg.toString(), ',')) {
        if (!s.isBlank()) {
          sources.add(s.trim());
        }
      }
    }
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("field '" + field + "' needs a 'source' (comma-separated source fields)");
    }
    if (sources.contains(field)) {
      throw new IllegalArgumentException("field '" + field + "' cannot be its own source");
    }
    Object required = args.get("required");
    Object instruction = args.get("instruction");
    Object passages = args.get("passages");
    Object spans = args.get("spans");
    if (spans != null && spans.toString().isBlank()) {
      spans = null; // a property left empty: none kept
    }
    if (spans != null && spans.toString().trim().equals(field)) {
      throw new IllegalArgumentException("field '" + field + "': 'spans' must name another field");
    }
    if (passages != null && !(passages instanceof NamedList)) {
      throw new IllegalArgumentException("field '" + field + "': 'passages' must be a <lst>");
    }
    return new NeuralFieldMapping(
        field, model, List.copyOf(sources), required != null && Boolean.parseBoolean(required.toString()),
        instruction == null ? null : instruction.toString().trim(),
        passages == null ? null : PassageSplitter.fromNamedList(field, (NamedList<?>) passages),
        spans == null ? null : spans.toString().trim());
  }

  private static String requireString(NamedList<?> args, String key) {
    Object v = args.get(key);
    if (v == null || v.toString().isBlank()) {
      throw new IllegalArgumentException("each <lst name=\"field\"> needs <str name=\"" + key + "\">");
    }
    return v.toString().trim();
  }
}
