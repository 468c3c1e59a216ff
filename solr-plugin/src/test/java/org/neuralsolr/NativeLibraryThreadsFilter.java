package org.neuralsolr;

import com.carrotsearch.randomizedtesting.ThreadFilter;

/**
 * Threads the native-library glue starts once per JVM and never stops (JNA's cleaner, used by DJL's
 * tokenizer binding): not leaks of the code under test.
 */
public class NativeLibraryThreadsFilter implements ThreadFilter {
  @Override
  public boolean reject(Thread t) {
    return "JNA Cleaner".equals(t.getName());
  }
}
