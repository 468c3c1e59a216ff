package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * Closing a model while it works: a forward pass or tokenizer call in flight finishes before the
 * native session and tokenizer are freed, and later calls are refused with "closed". Freeing them
 * under a running pass crashed the evaluation tool's JVM at shutdown (SIGSEGV in libonnxruntime on
 * a bulk worker that outlived the scheduler's wait).
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class LoadedModelCloseTest extends SolrTestCase {

  public void testCloseWaitsForTheWorkInFlightAndRefusesLaterCalls() throws Exception {
    LoadedModel model = ParityFixtures.load("tiny-llama-embed", "neural-model-long.json");
    // a few thousand tokens: each pass takes long enough that close() lands inside one
    TokenizedText tokens = model.tokenize("the quick brown fox jumps over the lazy dog ".repeat(100));
    AtomicInteger completed = new AtomicInteger();
    AtomicReference<Throwable> ended = new AtomicReference<>();
    Thread worker =
        new Thread(
            () -> {
              try {
                while (true) {
                  model.forward(List.of(tokens, tokens));
                  model.tokenize("a query while the core shuts down");
                  completed.incrementAndGet();
                }
              } catch (Throwable t) {
                ended.set(t);
              }
            },
            "forward-loop");
    worker.start();
    while (completed.get() < 1 && worker.isAlive()) {
      Thread.sleep(1);
    }
    model.close();
    int atClose = completed.get();
    worker.join(60_000);
    assertFalse("the worker stopped", worker.isAlive());
    Throwable t = ended.get();
    assertTrue(String.valueOf(t), t instanceof IllegalStateException && String.valueOf(t.getMessage()).contains("is closed"));
    // the pass in flight when close() was called finished before close() returned; none started after
    assertTrue("passes " + completed.get() + " after close, " + atClose + " at close", completed.get() <= atClose);
    expectThrows(IllegalStateException.class, () -> model.tokenize("after close"));
    expectThrows(IllegalStateException.class, () -> model.forward(List.of(tokens)));
    model.close(); // twice is harmless
  }
}
