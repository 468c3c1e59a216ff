package org.neuralsolr.model;

import java.util.Set;

/**
 * A request named an instruction template the model's manifest does not have. The message lists
 * the known names; callers answer HTTP 400 naming their {@code instruction} parameter.
 */
public final class UnknownInstructionException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  UnknownInstructionException(TextRole role, String name, Set<String> known) {
    super(
        "unknown instruction '" + name + "' for " + (role == TextRole.QUERY ? "queries" : "documents")
            + (known.isEmpty() ? "; the model has no instruction templates for them" : "; known: " + String.join(", ", known)));
  }
}
