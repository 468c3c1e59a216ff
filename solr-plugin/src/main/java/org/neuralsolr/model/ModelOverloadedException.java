package org.neuralsolr.model;

/**
 * A model's queue stayed full for longer than the configured wait: the caller should back off
 * (Solr answers HTTP 503).
 */
public class ModelOverloadedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelOverloadedException(String message) {
    super(message);
  }
}
