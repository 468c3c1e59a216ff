package org.neuralsolr.model;

/** A model package that cannot be used: bad manifest, checksum mismatch, path outside the roots. */
public class ModelPackageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelPackageException(String message) {
    super(message);
  }

  public ModelPackageException(String message, Throwable cause) {
    super(message, cause);
  }
}
