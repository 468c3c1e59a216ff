package org.neuralsolr.admin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.ByteVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Terms;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.ContentStreamBase;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.core.SolrCore;
import org.apache.solr.handler.RequestHandlerBase;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.response.RawResponseWriter;
import org.apache.solr.response.SolrQueryResponse;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.FieldType;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.security.AuthorizationContext;
import org.apache.solr.security.PermissionNameProvider;
import org.apache.solr.util.RefCounted;
import org.neuralsolr.model.DeviceRequest;
import org.neuralsolr.model.ModelPackageException;
import org.neuralsolr.model.ModelStats;
import org.neuralsolr.model.NeuralModelRegistry;
import org.neuralsolr.model.ServedModel;
import org.neuralsolr.schema.MultiVectorField;
import org.neuralsolr.schema.SparseVectorFieldType;
import org.neuralsolr.schema.UntrainedFields;

/**
 * The plugin's admin page and model API, registered in solrconfig.xml at {@code /neural} (the page),
 * {@code /neural/models} and {@code /neural/fields} (JSON). Solr v1 handler paths are exact, so one
 * class is registered under each path and tells them apart by the request's path (or {@code
 * view=page|models|fields}).
 *
 * <ul>
 *   <li>{@code GET /neural/models}: the core's models with state, engine, device, package and live counters.
 *   <li>{@code POST /neural/models?action=load&name=N&package=P[&device=cpu]}, {@code action=reload&name=N},
 *       {@code action=unload&name=N}: runtime changes of this core until it reloads.
 *   <li>{@code GET /neural/fields}: each neural field with its type, documents, sizes, codebook state.
 *   <li>{@code GET /neural/codebook}, {@code POST /neural/codebook?action=train&field=F}: the
 *       SolrCloud collection's ColBERT codebook per field ({@link CollectionCodebookApi}).
 * </ul>
 *
 * Reads need Solr's {@code read} permission, writes {@code config-edit} (see docs/admin-page.md).
 */
public class NeuralAdminHandler extends RequestHandlerBase implements PermissionNameProvider {
  static final String PAGE_RESOURCE = "org/neuralsolr/admin/neural-page.html";
  private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final List<String> WRITE_ACTIONS = List.of("load", "reload", "unload");

  @Override
  public Name getPermissionName(AuthorizationContext ctx) {
    String action = ctx.getParams() == null ? null : ctx.getParams().get("action");
    if (action != null || "POST".equalsIgnoreCase(ctx.getHttpMethod())) {
      return Name.CONFIG_EDIT_PERM;
    }
    return Name.READ_PERM;
  }

  @Override
  public void handleRequestBody(SolrQueryRequest req, SolrQueryResponse rsp) throws Exception {
    String view = view(req);
    switch (view) {
      case "page":
        page(req, rsp);
        return;
      case "models":
        String action = req.getParams().get("action");
        if (action != null) {
          modelAction(req, rsp, action);
        }
        rsp.add("models", models(req.getCore()));
        return;
      case "fields":
        if (CollectionFields.distributed(req)) {
          CollectionFields.handle(req, rsp);
        } else {
          rsp.add("core", req.getCore().getName());
          rsp.add("fields", fields(req));
        }
        return;
      case "codebook":
        CollectionCodebookApi.handle(req, rsp);
        return;
      default:
        throw new SolrException(
            ErrorCode.BAD_REQUEST, "param 'view' must be one of page, models, fields, codebook; got '" + view + "'");
    }
  }

  private static String view(SolrQueryRequest req) {
    String view = req.getParams().get("view");
    if (view != null) {
      return view;
    }
    Object path = req.getContext().get("path");
    String p = path == null ? "" : path.toString();
    if (p.endsWith("/models")) {
      return "models";
    }
    if (p.endsWith("/fields")) {
      return "fields";
    }
    if (p.endsWith("/codebook")) {
      return "codebook";
    }
    return "page";
  }

  private static void page(SolrQueryRequest req, SolrQueryResponse rsp) throws IOException {
    byte[] html;
    try (InputStream in = NeuralAdminHandler.class.getClassLoader().getResourceAsStream(PAGE_RESOURCE)) {
      if (in == null) {
        throw new SolrException(ErrorCode.SERVER_ERROR, "the plugin jar lacks " + PAGE_RESOURCE);
      }
      html = in.readAllBytes();
    }
    ContentStreamBase.ByteArrayStream stream = new ContentStreamBase.ByteArrayStream(html, "neural-page.html");
    stream.setContentType("text/html; charset=UTF-8");
    ModifiableSolrParams params = new ModifiableSolrParams(req.getParams());
    params.set(CommonParams.WT, "raw");
    req.setParams(params);
    rsp.add(RawResponseWriter.CONTENT, stream);
  }

  private static void modelAction(SolrQueryRequest req, SolrQueryResponse rsp, String action) {
    SolrParams params = req.getParams();
    if (!WRITE_ACTIONS.contains(action)) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'action' must be one of " + WRITE_ACTIONS + "; got '" + action + "'");
    }
    Object method = req.getHttpMethod();
    if (method != null && !"POST".equalsIgnoreCase(method.toString())) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "action=" + action + " changes the models: send it with POST");
    }
    String name = params.get("name");
    if (name == null || !MODEL_NAME.matcher(name).matches()) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "param 'name' must be 1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit; got "
              + (name == null ? "none" : "'" + name + "'"));
    }
    SolrCore core = req.getCore();
    NeuralModelRegistry registry = NeuralModelRegistry.of(core);
    // on SolrCloud the receiving core keeps the change for the collection and passes it on to the
    // collection's other replicas (distrib=false), as a distributed update would
    boolean coordinator = !CollectionModels.isShardRequest(req);
    // a collection-wide load gets an id that each replica keeps with the model, so that only its own
    // undo can unload it past the usage check (see CollectionModels#undoLoad)
    String loadId = null;
    if (action.equals("load") && CollectionModels.inCloud(core)) {
      loadId = coordinator ? UUID.randomUUID().toString() : params.get(CollectionModels.LOAD_ID_PARAM);
    }
    try {
      switch (action) {
        case "load":
          String pkg = params.get("package");
          if (pkg == null || pkg.isBlank()) {
            throw new SolrException(ErrorCode.BAD_REQUEST, "param 'package' is required for action=load: builtin:NAME or a path under the model roots " + registry.roots().paths());
          }
          String device = params.get("device");
          registry.load(name, pkg, device == null ? null : DeviceRequest.parse(device), coordinator, loadId);
          break;
        case "reload":
          registry.reload(name);
          break;
        default:
          if (!registry.failedToLoad().containsKey(name)) {
            registry.model(name); // 400 for an unknown name
          }
          List<String> users = CollectionModels.isUndo(req, registry, name) ? List.of() : ModelReferences.of(core, name);
          if (!users.isEmpty()) {
            throw new SolrException(
                ErrorCode.CONFLICT,
                "model '" + name + "' is used by " + String.join(", ", users) + " of core '" + core.getName() + "'; change solrconfig.xml first");
          }
          registry.unload(name, coordinator);
      }
    } catch (ModelPackageException | IllegalArgumentException | IllegalStateException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "action=" + action + " of model '" + name + "': " + e.getMessage(), e);
    }
    rsp.add("action", action);
    rsp.add("name", name);
    if (coordinator && CollectionModels.inCloud(core)) {
      ModifiableSolrParams forwarded = new ModifiableSolrParams(params);
      if (loadId != null) {
        forwarded.set(CollectionModels.LOAD_ID_PARAM, loadId);
      }
      CollectionModels.FanOut fanOut = CollectionModels.forward(core, forwarded);
      if (!fanOut.failed.isEmpty()) {
        failedOnReplicas(core, registry, action, name, loadId, fanOut, rsp);
      }
      rsp.add("replicas", fanOut.replicas);
    }
    rsp.add("status", "ok");
  }

  /**
   * A change that failed on some replica of the collection: 500 naming each, as Solr answers for a
   * node that fails a distributed request (the input was valid: this core made the change). A load
   * is undone on every replica and in the configset, so no replica keeps a model the others lack; a
   * reload leaves the failed replicas serving their previous copy, an unload leaves the model on the
   * failed replicas until their cores load again (the configset no longer keeps it).
   */
  private static void failedOnReplicas(
      SolrCore core,
      NeuralModelRegistry registry,
      String action,
      String name,
      String loadId,
      CollectionModels.FanOut fanOut,
      SolrQueryResponse rsp) {
    int failed = fanOut.failed.size();
    String outcome;
    if (action.equals("load")) {
      CollectionModels.undoLoad(core, name, loadId, fanOut);
      registry.unload(name, true);
      outcome =
          fanOut.failed.size() == failed
              ? "; the load was undone: no replica of the collection keeps model '" + name + "'"
              : "; the load was undone except where marked (undo): those replicas serve the model until their cores load again";
    } else if (action.equals("reload")) {
      outcome = "; those replicas still serve their previous copy, the others the reloaded one";
    } else {
      outcome = "; those replicas still serve the model until their cores load again (the collection no longer keeps it)";
    }
    StringBuilder why = new StringBuilder();
    fanOut.failed.forEach((replica, reason) -> why.append(why.length() == 0 ? "" : "; ").append(replica).append(": ").append(reason));
    rsp.add("replicas", fanOut.replicas);
    throw new SolrException(
        ErrorCode.SERVER_ERROR,
        "action=" + action + " of model '" + name + "' failed on " + failed + " replica(s) of collection '"
            + core.getCoreDescriptor().getCollectionName() + "': " + why + outcome);
  }

  static SimpleOrderedMap<Object> models(SolrCore core) {
    NeuralModelRegistry registry = NeuralModelRegistry.of(core);
    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    for (Map.Entry<String, ServedModel> e : registry.models().entrySet()) {
      ServedModel m = e.getValue();
      ModelStats s = m.stats();
      SimpleOrderedMap<Object> o = new SimpleOrderedMap<>();
      o.add("state", "loaded");
      o.add("kind", m.manifest().kind.toString());
      o.add("engine", m.engine());
      o.add("device", m.device());
      o.add("deviceReason", m.deviceReason());
      o.add("loadTimeMs", m.loadMillis());
      o.add("packageReference", registry.packageReference(e.getKey()));
      o.add("package", m.location());
      o.add("sha256", m.manifest().sha256);
      o.add("tokenizerSha256", m.manifest().tokenizerSha256);
      o.add("usedBy", ModelReferences.of(core, e.getKey()));
      o.add("loadedBy", registry.loadedThroughApi(e.getKey()) ? "admin API (" + registry.persistedAt() + ")" : "solrconfig.xml");
      SimpleOrderedMap<Object> c = new SimpleOrderedMap<>();
      c.add("textsEncoded", s.texts());
      c.add("batches", s.batches());
      c.add("meanBatchSize", s.meanBatchSize());
      c.add("paddingEfficiency", s.paddingEfficiency());
      c.add("queueDepth", m.queueDepth());
      c.add("rejectedTexts", s.rejected());
      c.add("failedBatches", s.failedBatches());
      c.add("encodeTimeMs", s.encodeMillis());
      o.add("counters", c);
      out.add(e.getKey(), o);
    }
    for (Map.Entry<String, String> e : registry.failedToLoad().entrySet()) {
      SimpleOrderedMap<Object> o = new SimpleOrderedMap<>();
      o.add("state", "failed to load again: " + e.getValue());
      o.add("loadedBy", "admin API (" + registry.persistedAt() + ")");
      out.add(e.getKey(), o);
    }
    for (String name : registry.declaredWithoutPackage()) {
      SimpleOrderedMap<Object> o = new SimpleOrderedMap<>();
      o.add("state", "declared without a package (not loaded)");
      out.add(name, o);
    }
    return out;
  }

  static SimpleOrderedMap<Object> fields(SolrQueryRequest req) throws IOException {
    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    RefCounted<SolrIndexSearcher> ref = req.getCore().getSearcher();
    try {
      SolrIndexSearcher searcher = ref.get();
      Map<String, UntrainedFields.Count> untrained = UntrainedFields.of(searcher.getIndexReader());
      for (SchemaField f : req.getSchema().getFields().values()) {
        FieldType t = f.getType();
        SimpleOrderedMap<Object> o = new SimpleOrderedMap<>();
        if (t instanceof DenseVectorField) {
          DenseVectorField d = (DenseVectorField) t;
          boolean bytes = d.getVectorEncoding() == org.apache.lucene.index.VectorEncoding.BYTE;
          o.add("kind", "dense");
          o.add("type", t.getTypeName());
          o.add("dimension", d.getDimension());
          o.add("similarity", d.getSimilarityFunction().toString().toLowerCase(Locale.ROOT));
          o.add("documents", denseDocs(searcher, f.getName()));
          o.add("bytesPerVector", d.getDimension() * (bytes ? 1 : Float.BYTES));
        } else if (t instanceof SparseVectorFieldType) {
          long docs = 0;
          long postings = 0;
          for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            Terms terms = leaf.reader().terms(f.getName());
            if (terms != null) {
              docs += terms.getDocCount();
              postings += terms.getSumDocFreq();
            }
          }
          o.add("kind", "sparse");
          o.add("type", t.getTypeName());
          o.add("maxTerms", ((SparseVectorFieldType) t).maxTerms());
          o.add("documents", docs);
          o.add("postings", postings);
          o.add("meanTermsPerDocument", docs == 0 ? 0 : (double) postings / docs);
        } else if (t instanceof MultiVectorField) {
          MultiVectorField mv = (MultiVectorField) t;
          o.add("kind", "multivector");
          o.add("type", t.getTypeName());
          o.add("dimension", mv.getDimension());
          o.add("nbits", mv.getNbits());
          o.add("documents", docValuesDocs(searcher, f.getName()));
          // a compressed token vector: its residual (nbits per dimension) plus a centroid id
          o.add("residualBytesPerTokenVector", mv.getNbits() == 0 ? mv.getDimension() * Float.BYTES : mv.getDimension() * mv.getNbits() / 8);
          UntrainedFields.Count u = untrained.getOrDefault(f.getName(), UntrainedFields.Count.NONE);
          SimpleOrderedMap<Object> cb = new SimpleOrderedMap<>();
          cb.add("trainingThreshold", mv.getTrainingThreshold());
          cb.add("untrainedSegments", u.segments());
          cb.add("untrainedTokenVectors", u.tokenVectors());
          cb.add("state", codebookState(mv, u.tokenVectors(), collectionCodebooks(req) != null, f.getName()));
          cb.add("configuredCentroids", mv.getCentroids() == 0 ? "auto (2^floor(log2(16 sqrt(n))))" : mv.getCentroids());
          cb.add("trainingSample",
              mv.getTrainingSample() == 0 ? org.neuralsolr.codecs.multivector.MultiVectorField.DEFAULT_TRAINING_SAMPLE : mv.getTrainingSample());
          cb.add("codebooks", codebooks(searcher, f.getName()));
          org.neuralsolr.schema.CollectionCodebooks collection = collectionCodebooks(req);
          if (collection != null) {
            cb.add("collection", CollectionCodebookApi.fieldStatus(req.getCore(), collection, f.getName()));
          }
          o.add("codebook", cb);
        } else {
          continue;
        }
        out.add(f.getName(), o);
      }
    } finally {
      ref.decref();
    }
    return out;
  }

  /** The codebook state as the page shows it, from the token vectors still stored as float32. */
  static String codebookState(MultiVectorField mv, long untrainedTokenVectors, boolean collectionScope, String field) {
    if (mv.getNbits() == 0) {
      return "not compressed (nbits 0)";
    }
    if (untrainedTokenVectors == 0) {
      return "trained";
    }
    return (collectionScope
            ? "waiting for the collection's codebook (POST /neural/codebook?action=train&field=" + field + ", "
            : "waiting for trainingThreshold (")
        + untrainedTokenVectors + " token vectors stored as float32)";
  }

  static org.neuralsolr.schema.CollectionCodebooks collectionCodebooks(SolrQueryRequest req) {
    org.neuralsolr.schema.NeuralCodecFactory factory = org.neuralsolr.schema.NeuralCodecFactory.of(req.getCore());
    return factory == null ? null : factory.collectionCodebooks();
  }

  private static long denseDocs(SolrIndexSearcher searcher, String field) throws IOException {
    long n = 0;
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      LeafReader r = leaf.reader();
      FieldInfo fi = r.getFieldInfos().fieldInfo(field);
      if (fi == null || fi.getVectorDimension() == 0) {
        continue;
      }
      if (fi.getVectorEncoding() == org.apache.lucene.index.VectorEncoding.BYTE) {
        ByteVectorValues v = r.getByteVectorValues(field);
        n += v == null ? 0 : v.size();
      } else {
        FloatVectorValues v = r.getFloatVectorValues(field);
        n += v == null ? 0 : v.size();
      }
    }
    return n;
  }

  /**
   * The distinct codebooks the field's segments encode with (more than one until merges or a
   * shared codebook unify them): id, centroids K, nbits, the segments and documents using it, and
   * when the oldest of those segments was written (a codebook is trained as its first segment is).
   */
  private static List<Object> codebooks(SolrIndexSearcher searcher, String field) throws IOException {
    Map<String, SimpleOrderedMap<Object>> byId = new java.util.LinkedHashMap<>();
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      org.neuralsolr.codecs.multivector.MultiVectorValues values = org.neuralsolr.codecs.multivector.MultiVectorValues.get(leaf.reader(), field);
      if (values == null) {
        continue;
      }
      String written = segmentTimestamp(leaf.reader());
      List<org.neuralsolr.codecs.multivector.ResidualCodebook> segmentCodebooks = values.codebooks();
      long[] docsPerCodebook = new long[segmentCodebooks.size()];
      if (docsPerCodebook.length == 1) {
        docsPerCodebook[0] = values.docCount();
      } else {
        // a merge of segments trained apart keeps each one's codebook: count per document
        for (int d = values.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = values.nextDoc()) {
          int ord = values.codebookOrd();
          if (ord >= 0 && ord < docsPerCodebook.length) {
            docsPerCodebook[ord]++;
          }
        }
      }
      for (int ord = 0; ord < segmentCodebooks.size(); ord++) {
        org.neuralsolr.codecs.multivector.ResidualCodebook c = segmentCodebooks.get(ord);
        String id = org.apache.lucene.util.StringHelper.idToString(c.id());
        SimpleOrderedMap<Object> o = byId.get(id);
        if (o == null) {
          o = new SimpleOrderedMap<>();
          o.add("id", id);
          o.add("centroids", c.numCentroids());
          o.add("nbits", c.nbits());
          o.add("segments", 0);
          o.add("documents", 0L);
          o.add("oldestSegmentWritten", written);
          byId.put(id, o);
        }
        o.setVal(o.indexOf("segments", 0), (Integer) o.get("segments") + 1);
        o.setVal(o.indexOf("documents", 0), (Long) o.get("documents") + docsPerCodebook[ord]);
        String oldest = (String) o.get("oldestSegmentWritten");
        if (written != null && (oldest == null || written.compareTo(oldest) < 0)) {
          o.setVal(o.indexOf("oldestSegmentWritten", 0), written);
        }
      }
    }
    return new ArrayList<>(byId.values());
  }

  /** The segment's write time (ISO-8601, from Lucene's diagnostics), or null when not known. */
  private static String segmentTimestamp(LeafReader reader) {
    LeafReader r = org.apache.lucene.index.FilterLeafReader.unwrap(reader);
    if (r instanceof org.apache.lucene.index.SegmentReader) {
      String millis = ((org.apache.lucene.index.SegmentReader) r).getSegmentInfo().info.getDiagnostics().get("timestamp");
      if (millis != null) {
        try {
          return java.time.Instant.ofEpochMilli(Long.parseLong(millis)).toString();
        } catch (NumberFormatException e) {
          return null;
        }
      }
    }
    return null;
  }

  private static long docValuesDocs(SolrIndexSearcher searcher, String field) throws IOException {
    long n = 0;
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      FieldInfo fi = leaf.reader().getFieldInfos().fieldInfo(field);
      if (fi == null) {
        continue;
      }
      DocIdSetIterator it = DocValues.getBinary(leaf.reader(), field);
      while (it.nextDoc() != DocIdSetIterator.NO_MORE_DOCS) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String getDescription() {
    return "Neural Solr admin page and model API: models, fields, playground";
  }

  @Override
  public Category getCategory() {
    return Category.ADMIN;
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
