package org.neuralsolr.model;

/**
 * Whether a text is encoded as a query or as a document: they get different prefixes or
 * instruction templates ({@link Instructions}).
 */
public enum TextRole {
  QUERY,
  DOCUMENT;
}
