package org.neuralsolr.model;

import java.util.Locale;

/** The device a manifest or solrconfig.xml asks for. */
public enum DeviceRequest {
  AUTO,
  CPU,
  GPU;

  public static DeviceRequest parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown device '" + value + "' (expected auto, cpu or gpu)", e);
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
