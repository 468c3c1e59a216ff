package org.neuralsolr.model;

import java.util.concurrent.Callable;

/**
 * The process-wide settings DJL needs before its first use, and the class loader it must see.
 *
 * <p>DJL finds engines and native libraries through the thread's context class loader. Solr runs
 * requests on threads whose context loader is the web application's, which cannot see a module's
 * jars, so every first touch of DJL runs with this plugin's class loader as context loader.
 */
final class DjlRuntime {
  private static boolean configured;

  private DjlRuntime() {}

  /**
   * Nothing may be downloaded at run time: offline mode stops DJL from fetching engines and
   * models, and from its "call home" telemetry. PyTorch must not be pulled in behind ONNX Runtime's
   * back as its "alternative engine"; we do pooling in Java and never need it.
   */
  static synchronized void configure() {
    if (configured) {
      return;
    }
    System.setProperty("ai.djl.offline", "true");
    setIfAbsent("OPT_OUT_TRACKING", "true");
    setIfAbsent("ai.djl.onnx.disable_alternative", "true");
    configured = true;
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null && System.getenv(key) == null) {
      System.setProperty(key, value);
    }
  }

  /** Runs {@code work} with this plugin's class loader as the thread's context class loader. */
  static <T> T withPluginClassLoader(Callable<T> work) throws Exception {
    configure();
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(DjlRuntime.class.getClassLoader());
    try {
      return work.call();
    } finally {
      thread.setContextClassLoader(previous);
    }
  }
}
