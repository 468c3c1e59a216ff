package org.neuralsolr.model;

import java.io.Closeable;
import java.util.HashMap;
import java.util.Map;

/**
 * The models loaded in this node, shared by its cores and reference-counted: two cores (or a core
 * and its reload) that name the same package, device and scheduler limits share one copy in
 * memory and one batch queue. Lives in the CoreContainer's object cache.
 */
public final class SharedModelStore implements Closeable {
  /** Key under which the store is kept in {@code CoreContainer.getObjectCache()}. */
  public static final String OBJECT_CACHE_KEY = SharedModelStore.class.getName();

  private static final class Entry {
    final ServedModel model;
    int references;

    Entry(ServedModel model) {
      this.model = model;
    }
  }

  private final Map<String, Entry> models = new HashMap<>();

  /** Loads the package, or returns the copy already loaded, and counts one more reference. */
  public synchronized ServedModel acquire(ModelPackage pkg, DeviceRequest device, SchedulerConfig config) {
    String key = pkg.identity() + "|" + device + "|" + config;
    Entry entry = models.get(key);
    if (entry == null) {
      entry = new Entry(new ServedModel(LoadedModel.load(pkg, device), config));
      models.put(key, entry);
    }
    entry.references++;
    return entry.model;
  }

  /**
   * Loads {@code pkg} afresh in place of {@code old} for one user: later {@link #acquire} calls get
   * the fresh copy; other cores that hold {@code old} keep it until they release it. If loading
   * fails, nothing changes.
   */
  public synchronized ServedModel reload(ServedModel old, ModelPackage pkg, DeviceRequest device, SchedulerConfig config) {
    ServedModel fresh = new ServedModel(LoadedModel.load(pkg, device), config);
    // detach the old copy from its key so that acquire no longer hands it out; its other users
    // still find it by identity when they release it
    detach(e -> e.model == old);
    release(old);
    String key = pkg.identity() + "|" + device + "|" + config;
    detach(e -> models.get(key) == e);
    Entry entry = new Entry(fresh);
    entry.references = 1;
    models.put(key, entry);
    return fresh;
  }

  private void detach(java.util.function.Predicate<Entry> which) {
    for (String k : new java.util.ArrayList<>(models.keySet())) {
      Entry e = models.get(k);
      if (!k.contains("|replaced@") && which.test(e)) {
        models.remove(k);
        models.put(k + "|replaced@" + System.identityHashCode(e), e);
      }
    }
  }

  /** Drops one reference; the last one closes the model. */
  public synchronized void release(ServedModel model) {
    models.entrySet().removeIf(
        e -> {
          if (e.getValue().model != model) {
            return false;
          }
          if (--e.getValue().references > 0) {
            return false;
          }
          model.close();
          return true;
        });
  }

  public synchronized int loadedModels() {
    return models.size();
  }

  @Override
  public synchronized void close() {
    for (Entry e : models.values()) {
      e.model.close();
    }
    models.clear();
  }
}
