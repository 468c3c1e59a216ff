package org.neuralsolr.model;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.core.PluginBag;
import org.apache.solr.core.SolrCore;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.handler.component.SearchComponent;
import org.apache.solr.handler.component.ShardRequest;
import org.apache.solr.metrics.SolrMetricManager;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.rest.ManagedResourceStorage;
import org.apache.solr.util.plugin.SolrCoreAware;
import org.neuralsolr.search.QueryVectorHandoff;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models a core may use, configured in solrconfig.xml:
 *
 * <pre>{@code
 * <searchComponent name="neuralModels" class="org.neuralsolr.model.NeuralModelRegistry">
 *   <str name="modelRoots">${neural.model.roots:models}</str>   <!-- comma-separated; relative to Solr home -->
 *   <lst name="scheduler"><int name="maxBatchSize">32</int></lst> <!-- defaults for every model -->
 *   <lst name="models">
 *     <lst name="bge-small">
 *       <str name="package">builtin:bge-small-en-v1.5</str>      <!-- or a directory under a root -->
 *       <str name="device">auto</str>                            <!-- optional: auto|cpu|gpu -->
 *     </lst>
 *   </lst>
 * </searchComponent>
 * }</pre>
 *
 * It is a search component so that it is a core-level, config-driven, {@link SolrCoreAware} plugin
 * that Solr lists with its statistics, and so that, listed in a search handler's {@code
 * last-components}, it hands the coordinator's query vectors to the shards of a distributed search. Models are loaded when the core
 * loads (a broken package fails the core with a message naming it) and are shared with the other
 * cores of the node through {@link SharedModelStore}. A model whose package is empty is declared
 * but not loaded, so that a configset can offer an optional model that a property enables (the
 * example configset's sparse model); queries and ingest that use it get HTTP 400.
 */
public class NeuralModelRegistry extends SearchComponent implements SolrCoreAware {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  private static final class ModelConfig {
    final String name;
    final String packageRef;
    final DeviceRequest device;
    final SchedulerConfig scheduler;
    /** The collection-wide load (SolrCloud) that loaded it through the admin API, or null (see {@link #loadedIn}). */
    final String loadId;

    ModelConfig(String name, String packageRef, DeviceRequest device, SchedulerConfig scheduler) {
      this(name, packageRef, device, scheduler, null);
    }

    ModelConfig(String name, String packageRef, DeviceRequest device, SchedulerConfig scheduler, String loadId) {
      this.name = name;
      this.packageRef = packageRef;
      this.device = device;
      this.scheduler = scheduler;
      this.loadId = loadId;
    }
  }

  private List<String> rootSpecs = List.of();
  private final List<ModelConfig> configs = new ArrayList<>();
  /**
   * Copy-on-write: queries read it without a lock while the admin API loads, reloads or unloads
   * (see {@link #load}, {@link #reload}, {@link #unload}), which replace the whole map.
   */
  private volatile Map<String, ServedModel> models = new LinkedHashMap<>();
  /** Per loaded model, how it was loaded: what {@link #reload} loads again. */
  private final Map<String, ModelConfig> loadedFrom = new LinkedHashMap<>();
  private SchedulerConfig schedulerDefaults = SchedulerConfig.DEFAULTS;
  /**
   * Models solrconfig.xml declares with an empty package: known names, nothing loaded unless the
   * admin API loads a package under that name (which an unload undoes, so the set is not changed).
   */
  private final Set<String> withoutPackage = new LinkedHashSet<>();
  private SharedModelStore store;
  private ModelRoots roots;
  /**
   * The models loaded through the admin API, kept as Solr keeps managed resources (modules/ltr's
   * model store does the same): a JSON file in the configset, in ZooKeeper on SolrCloud and in the
   * conf directory standalone, one per collection (or core), read again when the core loads.
   */
  private ManagedResourceStorage persisted;
  private String persistedId;
  /** Of {@link #models}, those the admin API loaded (and {@link #persisted} lists). */
  private final Set<String> apiLoaded = new LinkedHashSet<>();
  /** Persisted models that did not load when the core loaded: why (the core serves the others). */
  private final Map<String, String> failedToLoad = new LinkedHashMap<>();

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    Object rootsArg = args.get("modelRoots");
    if (rootsArg instanceof List) {
      List<String> specs = new ArrayList<>();
      for (Object o : (List<?>) rootsArg) {
        specs.addAll(StrUtils.splitSmart(o.toString(), ','));
      }
      rootSpecs = specs;
    } else if (rootsArg != null) {
      rootSpecs = StrUtils.splitSmart(rootsArg.toString(), ',');
    }
    SchedulerConfig defaults;
    try {
      defaults = SchedulerConfig.fromNamedList((NamedList<?>) args.get("scheduler"), SchedulerConfig.DEFAULTS);
    } catch (IllegalArgumentException e) {
      throw configError("scheduler: " + e.getMessage());
    }
    schedulerDefaults = defaults;
    NamedList<?> modelList = (NamedList<?>) args.get("models");
    if (modelList == null) {
      return;
    }
    for (int i = 0; i < modelList.size(); i++) {
      String name = modelList.getName(i);
      Object value = modelList.getVal(i);
      try {
        if (value instanceof String && ((String) value).isBlank()) {
          withoutPackage.add(name);
        } else if (value instanceof String) {
          configs.add(new ModelConfig(name, (String) value, null, defaults));
        } else if (value instanceof NamedList) {
          NamedList<?> m = (NamedList<?>) value;
          Object pkg = m.get("package");
          if (pkg == null) {
            throw configError("model '" + name + "' needs <str name=\"package\">");
          }
          if (pkg.toString().isBlank()) {
            // lets a configset declare an optional model whose package a property may name
            withoutPackage.add(name);
            continue;
          }
          Object device = m.get("device");
          configs.add(
              new ModelConfig(
                  name,
                  pkg.toString(),
                  device == null ? null : DeviceRequest.parse(device.toString()),
                  SchedulerConfig.fromNamedList((NamedList<?>) m.get("scheduler"), defaults)));
        } else {
          throw configError("model '" + name + "' must be a <str> package or a <lst>");
        }
      } catch (IllegalArgumentException e) {
        throw configError("model '" + name + "': " + e.getMessage());
      }
    }
  }

  /** The stored resource is {@code _neural_models_<collection or core>.json} (JsonStorage's naming). */
  static final String PERSISTED_PREFIX = "/neural/models/";

  private static SolrException configError(String message) {
    return new SolrException(ErrorCode.SERVER_ERROR, "neural model registry: " + message);
  }

  @Override
  public void inform(SolrCore core) {
    Path solrHome = Path.of(core.getCoreContainer().getSolrHome());
    List<Path> rootPaths = new ArrayList<>();
    for (String spec : rootSpecs) {
      if (!spec.isBlank()) {
        rootPaths.add(solrHome.resolve(spec.trim()));
      }
    }
    roots = ModelRoots.of(rootPaths);
    store =
        core.getCoreContainer()
            .getObjectCache()
            .computeIfAbsent(SharedModelStore.OBJECT_CACHE_KEY, SharedModelStore.class, k -> new SharedModelStore());
    core.addCloseHook(
        new org.apache.solr.core.CloseHook() {
          @Override
          public void postClose(SolrCore c) {
            releaseAll();
          }
        });
    try {
      Map<String, ServedModel> loaded = new LinkedHashMap<>();
      for (ModelConfig config : configs) {
        ModelPackage pkg = ModelPackage.resolve(config.packageRef, roots);
        loaded.put(config.name, store.acquire(pkg, config.device, config.scheduler));
        loadedFrom.put(config.name, config);
        models = loaded;
      }
    } catch (RuntimeException e) {
      releaseAll();
      throw new SolrException(ErrorCode.SERVER_ERROR, "neural model registry: " + e.getMessage(), e);
    }
    loadPersisted(core);
    log.info(
        "neural model registry of core {}: models {} (loaded through the admin API: {}; failed to load again: {}),"
            + " declared without a package (not loaded) {}, roots {}",
        core.getName(), models.keySet(), apiLoaded, failedToLoad.keySet(), declaredWithoutPackage(), roots.paths());
    core.registerInfoBean(getName(), this);
  }

  /**
   * Loads the models the admin API loaded before this core (re)loaded, checksums verified as at
   * start. One that fails (its package changed or was removed) is reported by {@link
   * #failedToLoad} and the admin API instead of failing the core: solrconfig.xml's models, which
   * the core's plugins use, are loaded, and the failure is the API's to resolve (unload or load).
   */
  @SuppressWarnings("unchecked")
  private synchronized void loadPersisted(SolrCore core) {
    String scope = core.getCoreDescriptor().getCloudDescriptor() == null ? core.getName() : core.getCoreDescriptor().getCollectionName();
    persistedId = PERSISTED_PREFIX + scope;
    Object saved;
    try {
      persisted =
          new ManagedResourceStorage.JsonStorage(
              ManagedResourceStorage.newStorageIO(scope, core.getResourceLoader(), new NamedList<>()), core.getResourceLoader());
      saved = persisted.getStorageIO().exists(persisted.getStoredResourceId(persistedId)) ? persisted.load(persistedId) : null;
    } catch (IOException | RuntimeException e) {
      log.error("neural model registry of core {}: cannot read the models loaded through the admin API ({})", core.getName(), persistedId, e);
      failedToLoad.put("(" + persistedId + ")", "cannot read: " + e.getMessage());
      return;
    }
    if (!(saved instanceof Map)) {
      return;
    }
    Map<String, ServedModel> next = new LinkedHashMap<>(models);
    for (Map.Entry<String, Object> e : ((Map<String, Object>) saved).entrySet()) {
      String name = e.getKey();
      Map<String, Object> m = e.getValue() instanceof Map ? (Map<String, Object>) e.getValue() : Map.of();
      if (next.containsKey(name)) {
        log.warn("neural model registry of core {}: model '{}' is configured in solrconfig.xml; its admin API entry is ignored", core.getName(), name);
        continue;
      }
      try {
        Object pkg = m.get("package");
        Object device = m.get("device");
        ModelConfig config =
            new ModelConfig(name, pkg == null ? null : pkg.toString(), device == null ? null : DeviceRequest.parse(device.toString()), schedulerDefaults);
        if (config.packageRef == null) {
          throw new ModelPackageException("no package in " + persisted.getStoredResourceId(persistedId));
        }
        next.put(name, store.acquire(ModelPackage.resolve(config.packageRef, roots), config.device, config.scheduler));
        loadedFrom.put(name, config);
        apiLoaded.add(name);
      } catch (RuntimeException ex) {
        log.error("neural model registry of core {}: model '{}' loaded through the admin API did not load again", core.getName(), name, ex);
        failedToLoad.put(name, ex.getMessage());
      }
    }
    models = next;
  }

  /** Writes the admin API's models; none left removes the file. */
  private void savePersisted() {
    if (persisted == null) {
      return;
    }
    try {
      if (apiLoaded.isEmpty()) {
        persisted.delete(persistedId);
        return;
      }
      Map<String, Object> out = new LinkedHashMap<>();
      for (String name : apiLoaded) {
        ModelConfig c = loadedFrom.get(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("package", c.packageRef);
        if (c.device != null) {
          m.put("device", c.device.toString());
        }
        out.put(name, m);
      }
      persisted.store(persistedId, out);
    } catch (IOException e) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "cannot write " + persisted.getStoredResourceId(persistedId) + " (" + persisted.getStorageIO().getInfo() + "): " + e.getMessage(), e);
    }
  }

  private synchronized void releaseAll() {
    for (ServedModel m : models.values()) {
      store.release(m);
    }
    models = new LinkedHashMap<>();
    loadedFrom.clear();
  }

  /**
   * Loads the package {@code packageRef} (under the model roots, checksums verified as at start) as
   * the model {@code name} of this core, until the core reloads (solrconfig.xml is not changed).
   *
   * @param loadId the id of the collection-wide load this is part of (SolrCloud), or null
   * @throws ModelPackageException if the package is missing, outside the roots or fails its checks
   * @throws IllegalStateException if the name is taken
   */
  public synchronized ServedModel load(String name, String packageRef, DeviceRequest device, boolean persist, String loadId) {
    if (models.containsKey(name)) {
      throw new IllegalStateException("model '" + name + "' is already loaded; use action=reload or another name");
    }
    ModelConfig config = new ModelConfig(name, packageRef, device, schedulerDefaults, loadId);
    ServedModel m = store.acquire(ModelPackage.resolve(packageRef, roots), device, schedulerDefaults);
    Map<String, ServedModel> next = new LinkedHashMap<>(models);
    next.put(name, m);
    loadedFrom.put(name, config);
    apiLoaded.add(name);
    failedToLoad.remove(name);
    models = next;
    registerGauges(name);
    if (persist) {
      try {
        savePersisted();
      } catch (RuntimeException e) {
        unload(name, false); // not kept: not loaded
        throw e;
      }
    }
    return m;
  }

  /**
   * Reads the model's package again (checksums verified) into a fresh copy and swaps it in; the old
   * copy stays in use until it is loaded successfully, so a failed reload leaves it serving.
   */
  public synchronized ServedModel reload(String name) {
    ServedModel old = model(name);
    ModelConfig config = loadedFrom.get(name);
    ModelPackage pkg = ModelPackage.resolve(config.packageRef, roots);
    ServedModel fresh = store.reload(old, pkg, config.device, config.scheduler);
    Map<String, ServedModel> next = new LinkedHashMap<>(models);
    next.put(name, fresh);
    models = next;
    return fresh;
  }

  /**
   * Removes the model from this core; the node closes it once no core uses it. With {@code
   * persist}, the model is no longer loaded when the core loads again (an entry that failed to
   * load again is dropped).
   */
  public synchronized void unload(String name, boolean persist) {
    if (failedToLoad.remove(name) != null && !models.containsKey(name)) {
      if (persist) {
        savePersisted();
      }
      return;
    }
    ServedModel old = model(name);
    Map<String, ServedModel> next = new LinkedHashMap<>(models);
    next.remove(name);
    loadedFrom.remove(name);
    boolean wasApiLoaded = apiLoaded.remove(name);
    models = next;
    removeGauges(name);
    store.release(old);
    if (persist && wasApiLoaded) {
      savePersisted();
    }
  }

  /**
   * True if model {@code name} is loaded on this core by the collection-wide load {@code loadId}:
   * only that load's undo may then unload it without the usage check, since unloading restores
   * what the core served before it (a model solrconfig.xml declares without a package is "used"
   * by its plugins whether or not it is loaded). Ids are random and not persisted: after a core
   * reload no undo matches.
   */
  public synchronized boolean loadedIn(String name, String loadId) {
    ModelConfig config = loadedFrom.get(name);
    return loadId != null && config != null && loadId.equals(config.loadId);
  }

  /** The persisted models that did not load when the core loaded, with why. */
  public synchronized Map<String, String> failedToLoad() {
    return new LinkedHashMap<>(failedToLoad);
  }

  /** True for a model the admin API loaded (kept across core reloads), false for solrconfig.xml's. */
  public synchronized boolean loadedThroughApi(String name) {
    return apiLoaded.contains(name);
  }

  /** Where the admin API's models are kept, e.g. {@code /configs/neural/_neural_models_c.json}. */
  public String persistedAt() {
    return persisted == null ? null : persisted.getStorageIO().getInfo() + " " + persisted.getStoredResourceId(persistedId);
  }

  /** The package reference the model was loaded from (solrconfig.xml or the admin API). */
  public synchronized String packageReference(String name) {
    ModelConfig c = loadedFrom.get(name);
    return c == null ? null : c.packageRef;
  }

  /** Models declared in solrconfig.xml with an empty package and not loaded (by the admin API). */
  public synchronized Set<String> declaredWithoutPackage() {
    Set<String> out = new LinkedHashSet<>(withoutPackage);
    out.removeAll(models.keySet());
    return out;
  }

  /** The registry of {@code core}. */
  public static NeuralModelRegistry of(SolrCore core) {
    PluginBag<SearchComponent> components = core.getSearchComponents();
    for (String name : components.keySet()) {
      SearchComponent c = components.get(name);
      if (c instanceof NeuralModelRegistry) {
        return (NeuralModelRegistry) c;
      }
    }
    throw new SolrException(
        ErrorCode.BAD_REQUEST,
        "core '" + core.getName() + "' has no neural model registry (a <searchComponent class=\""
            + NeuralModelRegistry.class.getName() + "\"> in solrconfig.xml)");
  }

  /** The configured model called {@code name}. */
  public ServedModel model(String name) {
    ServedModel m = models.get(name);
    if (m == null && withoutPackage.contains(name)) { // declared without one and not loaded
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "model '" + name + "' is declared without a package, so it is not loaded; name its package in solrconfig.xml"
              + " (the configset's property for it, e.g. neural.sparse.package)");
    }
    if (m == null) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST, "unknown model '" + name + "'; configured models are " + models.keySet());
    }
    return m;
  }

  /** The dense encoder of the model called {@code name}, which must be a dense model. */
  public DenseEncoder denseEncoder(String name) {
    ServedModel m = model(name);
    if (m.denseEncoder() == null) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "model '" + name + "' is a " + m.manifest().kind + " model, not a dense model");
    }
    return m.denseEncoder();
  }

  /** The sparse encoder of the model called {@code name}, which must be a sparse model. */
  public SparseEncoder sparseEncoder(String name) {
    ServedModel m = model(name);
    if (m.sparseEncoder() == null) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "model '" + name + "' is a " + m.manifest().kind + " model, not a sparse model");
    }
    return m.sparseEncoder();
  }

  /**
   * True for a model solrconfig.xml declares with an empty package: a configset may declare an
   * optional model that a property enables; using it is an error, configuring for it is not.
   */
  public boolean isDeclaredWithoutPackage(String name) {
    return withoutPackage.contains(name) && !models.containsKey(name);
  }

  public Map<String, ServedModel> models() {
    return Collections.unmodifiableMap(models);
  }

  public ModelRoots roots() {
    return roots;
  }

  @Override
  public void initializeMetrics(SolrMetricsContext parentContext, String scope) {
    super.initializeMetrics(parentContext, scope);
    metricsScope = scope;
    solrMetricsContext.gauge(() -> models.size(), true, "models", getCategory().toString(), scope);
    for (String name : models.keySet()) {
      registerGauges(name);
    }
  }

  private String metricsScope;

  /** Per model gauge: what it reads from the model. */
  private static final Map<String, java.util.function.Function<ServedModel, Object>> GAUGES = new LinkedHashMap<>();

  static {
    GAUGES.put("textsEncoded", m -> m.stats().texts());
    GAUGES.put("batches", m -> m.stats().batches());
    GAUGES.put("meanBatchSize", m -> m.stats().meanBatchSize());
    GAUGES.put("tokens", m -> m.stats().tokens());
    GAUGES.put("paddingEfficiency", m -> m.stats().paddingEfficiency());
    GAUGES.put("peakBatchTokens", m -> m.stats().peakBatchTokens());
    GAUGES.put("encodeTimeMs", m -> m.stats().encodeMillis());
    GAUGES.put("queueDepth", m -> m.queueDepth());
    GAUGES.put("rejectedTexts", m -> m.stats().rejected());
    GAUGES.put("failedBatches", m -> m.stats().failedBatches());
    GAUGES.put("engine", m -> m.engine());
    GAUGES.put("device", m -> m.device());
    GAUGES.put("deviceReason", m -> m.deviceReason());
    GAUGES.put("kind", m -> m.manifest().kind.toString());
    GAUGES.put("loadTimeMs", m -> m.loadMillis());
    GAUGES.put("package", m -> m.location());
  }

  /**
   * The model's gauges ({@code OTHER.neuralModels.NAME.textsEncoded}, ...), for solrconfig.xml's
   * models at start and the admin API's as they load. Each reads the model now under the name,
   * so that they follow a reload.
   */
  private void registerGauges(String name) {
    if (solrMetricsContext == null) {
      return; // before initializeMetrics, which registers every model loaded by then
    }
    String[] path = {getCategory().toString(), metricsScope, name};
    for (Map.Entry<String, java.util.function.Function<ServedModel, Object>> g : GAUGES.entrySet()) {
      java.util.function.Function<ServedModel, Object> read = g.getValue();
      solrMetricsContext.gauge(
          () -> {
            ServedModel m = models.get(name);
            return m == null ? null : read.apply(m);
          },
          true, g.getKey(), path);
    }
  }

  private void removeGauges(String name) {
    if (solrMetricsContext == null) {
      return;
    }
    for (String g : GAUGES.keySet()) {
      solrMetricsContext.getMetricRegistry().remove(SolrMetricManager.mkName(g, getCategory().toString(), metricsScope, name));
    }
  }

  /**
   * In a distributed search the coordinator's query parsers encoded the query texts; hand the
   * vectors to the shards so that they do not encode them again (see {@link QueryVectorHandoff}).
   * Add this component to a search handler's {@code last-components} to enable it.
   */
  @Override
  public void modifyRequest(ResponseBuilder rb, SearchComponent who, ShardRequest sreq) {
    QueryVectorHandoff.copyToShardRequest(rb.req, sreq);
  }

  @Override
  public void prepare(ResponseBuilder rb) {}

  @Override
  public void process(ResponseBuilder rb) {}

  @Override
  public String getDescription() {
    return "Neural Solr model registry: the encoders this core may use, with their engines, devices and batching counters";
  }

  @Override
  public Category getCategory() {
    return Category.OTHER;
  }
}
