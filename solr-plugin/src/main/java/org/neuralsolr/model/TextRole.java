package org.neuralsolr.model;

/** Whether a text is encoded as a query or as a document: they get different prefixes. */
public enum TextRole {
  QUERY,
  DOCUMENT;

  String prefix(ModelManifest manifest) {
    return this == QUERY ? manifest.queryPrefix : manifest.documentPrefix;
  }
}
