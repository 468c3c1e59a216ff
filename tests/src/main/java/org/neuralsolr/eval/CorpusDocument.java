package org.neuralsolr.eval;

/** A document of a BEIR corpus; a missing title or text is the empty string. */
public record CorpusDocument(String id, String title, String text) {}
