package org.neuralsolr.model;

import java.util.Locale;

/**
 * Where a batch's padding goes. Encoders are trained and exported with one side: most with right
 * padding, some decoder embedders with left padding (so that every row's last real token sits in
 * the last column). {@link LoadedModel#forward} pads as the manifest says and records where each
 * row's real tokens start, so that the encoders never need to know.
 */
enum PaddingSide {
  RIGHT,
  LEFT;

  static PaddingSide fromManifest(String value) {
    switch (value.toLowerCase(Locale.ROOT)) {
      case "right":
        return RIGHT;
      case "left":
        return LEFT;
      default:
        throw new IllegalArgumentException("unknown paddingSide '" + value + "' (expected left or right)");
    }
  }
}
