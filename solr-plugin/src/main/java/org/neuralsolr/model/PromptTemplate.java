package org.neuralsolr.model;

/**
 * A causal LM's query-likelihood prompt such as {@code "Passage: {document}\nQuestion: {query}"}:
 * exactly one {@code {document}}, then exactly one {@code {query}}, which ends it, so that the query
 * tokens are the last tokens of the input and nothing after them needs scoring.
 */
public final class PromptTemplate {
  static final String DOCUMENT = "{document}";
  static final String QUERY = "{query}";

  /** Text before the document. */
  final String beforeDocument;
  /** Text between the document and the query. */
  final String beforeQuery;
  private final String text;

  private PromptTemplate(String text, String beforeDocument, String beforeQuery) {
    this.text = text;
    this.beforeDocument = beforeDocument;
    this.beforeQuery = beforeQuery;
  }

  /**
   * Parses a template.
   *
   * @throws IllegalArgumentException naming what is wrong with it
   */
  public static PromptTemplate parse(String text) {
    int doc = text.indexOf(DOCUMENT);
    int query = text.indexOf(QUERY);
    if (doc < 0 || text.indexOf(DOCUMENT, doc + 1) >= 0) {
      throw new IllegalArgumentException("a prompt template needs exactly one " + DOCUMENT);
    }
    if (query < 0 || text.indexOf(QUERY, query + 1) >= 0) {
      throw new IllegalArgumentException("a prompt template needs exactly one " + QUERY);
    }
    if (query < doc) {
      throw new IllegalArgumentException("in a prompt template " + DOCUMENT + " must come before " + QUERY);
    }
    if (query + QUERY.length() != text.length()) {
      throw new IllegalArgumentException("a prompt template must end with " + QUERY + " (the scored tokens are the last ones)");
    }
    return new PromptTemplate(text, text.substring(0, doc), text.substring(doc + DOCUMENT.length(), query));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PromptTemplate && ((PromptTemplate) o).text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public String toString() {
    return text;
  }
}
