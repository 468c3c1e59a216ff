package org.neuralsolr.model;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a model's input text looks like for each {@link TextRole}: the manifest's fixed {@code
 * queryPrefix} / {@code documentPrefix}, or a named instruction template from its {@code
 * instructions} section, such as {@code "Instruct: Given a web search query, retrieve relevant
 * passages\nQuery: {text}"}. LLM embedders are trained with a task instruction in front of the
 * query (and sometimes the document); one model serves several tasks, so a request picks the
 * template by name and the manifest names a default.
 *
 * <pre>
 * "instructions": {
 *   "query":    {"default": "web", "templates": {"web": "Instruct: ...\nQuery: {text}", "plain": "{text}"}},
 *   "document": {"templates": {"title": "Title: {text}"}}
 * }
 * </pre>
 *
 * A role without a default keeps its prefix when no instruction is named; a role with a default
 * must not also have a prefix (which of the two applies would be a guess).
 */
final class Instructions {
  static final String TEXT = "{text}";

  /** One template, split at its {@code {text}}. */
  private static final class Template {
    final String before;
    final String after;

    Template(String before, String after) {
      this.before = before;
      this.after = after;
    }

    String apply(String text) {
      return before + text + after;
    }
  }

  private final Map<TextRole, Map<String, Template>> templates = new EnumMap<>(TextRole.class);
  private final Map<TextRole, Template> defaults = new EnumMap<>(TextRole.class);

  /**
   * @param section the manifest's {@code instructions} object, or null
   * @throws IllegalArgumentException naming what is wrong with it
   */
  static Instructions parse(Object section, String queryPrefix, String documentPrefix) {
    Instructions out = new Instructions();
    out.defaults.put(TextRole.QUERY, new Template(queryPrefix, ""));
    out.defaults.put(TextRole.DOCUMENT, new Template(documentPrefix, ""));
    for (TextRole role : TextRole.values()) {
      out.templates.put(role, Collections.emptyMap());
    }
    if (section == null) {
      return out;
    }
    if (!(section instanceof Map)) {
      throw new IllegalArgumentException("'instructions' must be an object with 'query' and/or 'document'");
    }
    for (Map.Entry<?, ?> e : ((Map<?, ?>) section).entrySet()) {
      TextRole role = roleOf(String.valueOf(e.getKey()));
      String prefix = role == TextRole.QUERY ? queryPrefix : documentPrefix;
      out.parseRole(role, "instructions." + e.getKey(), e.getValue(), prefix);
    }
    return out;
  }

  private static TextRole roleOf(String key) {
    switch (key) {
      case "query":
        return TextRole.QUERY;
      case "document":
        return TextRole.DOCUMENT;
      default:
        throw new IllegalArgumentException("'instructions' holds '" + key + "'; expected query and/or document");
    }
  }

  private void parseRole(TextRole role, String where, Object value, String prefix) {
    if (!(value instanceof Map)) {
      throw new IllegalArgumentException("'" + where + "' must be an object with 'templates' and optionally 'default'");
    }
    Map<?, ?> json = (Map<?, ?>) value;
    for (Object key : json.keySet()) {
      if (!"templates".equals(key) && !"default".equals(key)) {
        throw new IllegalArgumentException("'" + where + "' holds '" + key + "'; expected templates and default");
      }
    }
    if (!(json.get("templates") instanceof Map) || ((Map<?, ?>) json.get("templates")).isEmpty()) {
      throw new IllegalArgumentException("'" + where + ".templates' must be a non-empty object of name: template");
    }
    Map<String, Template> byName = new LinkedHashMap<>();
    for (Map.Entry<?, ?> t : ((Map<?, ?>) json.get("templates")).entrySet()) {
      String name = String.valueOf(t.getKey());
      if (name.isBlank() || name.indexOf('\u0000') >= 0 || !(t.getValue() instanceof String)) {
        throw new IllegalArgumentException("'" + where + ".templates' must map non-empty names to strings");
      }
      String template = (String) t.getValue();
      int at = template.indexOf(TEXT);
      if (at < 0 || template.indexOf(TEXT, at + 1) >= 0) {
        throw new IllegalArgumentException("'" + where + ".templates." + name + "' needs exactly one " + TEXT);
      }
      byName.put(name, new Template(template.substring(0, at), template.substring(at + TEXT.length())));
    }
    templates.put(role, Collections.unmodifiableMap(byName));
    Object def = json.get("default");
    if (def != null) {
      if (!byName.containsKey(def)) {
        throw new IllegalArgumentException("'" + where + ".default' is '" + def + "', not one of " + byName.keySet());
      }
      if (!prefix.isEmpty()) {
        String prefixKey = role == TextRole.QUERY ? "queryPrefix" : "documentPrefix";
        throw new IllegalArgumentException("'" + where + ".default' and '" + prefixKey + "' are both set; keep one");
      }
      defaults.put(role, byName.get(def));
    }
  }

  /** The instruction names a role knows, in manifest order. */
  Set<String> names(TextRole role) {
    return templates.get(role).keySet();
  }

  /**
   * {@code text} as the model sees it.
   *
   * @param instruction a template name, or null for the role's default (or its prefix)
   * @throws UnknownInstructionException if the role has no template of that name
   */
  String apply(TextRole role, String instruction, String text) {
    Template t = instruction == null ? defaults.get(role) : templates.get(role).get(instruction);
    if (t == null) {
      throw new UnknownInstructionException(role, instruction, names(role));
    }
    return t.apply(text);
  }

  /** Throws {@link UnknownInstructionException} unless {@code instruction} is null or known. */
  void check(TextRole role, String instruction) {
    if (instruction != null && !templates.get(role).containsKey(instruction)) {
      throw new UnknownInstructionException(role, instruction, names(role));
    }
  }
}
