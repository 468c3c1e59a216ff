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
