package org.neuralsolr.admin;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.util.Bits;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.cloud.ZkController;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.response.SolrQueryResponse;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.update.CommitUpdateCommand;
import org.apache.solr.util.RefCounted;
import org.neuralsolr.codecs.multivector.MultiVectorValues;
import org.neuralsolr.codecs.multivector.ResidualCodebook;
import org.neuralsolr.codecs.multivector.TrainingMergePolicy;
import org.neuralsolr.schema.CollectionCodebooks;
import org.neuralsolr.schema.MultiVectorField;
import org.neuralsolr.schema.NeuralCodecFactory;

/**
 * {@code /neural/codebook}: the collection's ColBERT codebook per multi-vector field (see {@link
 * CollectionCodebooks} and docs/colbert.md).
 *
 * <ul>
 *   <li>{@code GET}: per multi-vector field, the codebook stored for the collection and the one this
 *       core has installed.
 *   <li>{@code POST action=train&field=F[&seed=S][&optimize=true]}: the coordinator asks one active
 *       replica per shard for its token vector count, then for a sample in proportion to it
 *       ({@code trainingSample} in all), trains one codebook (k-means seeded by {@code seed}),
 *       stores it in ZooKeeper, and has every active replica install it and, with {@code
 *       optimize}, re-encode its segments (a local optimize).
 *   <li>{@code POST action=count|sample|install&field=F}: the per-core steps of {@code train}.
 * </ul>
 */
final class CollectionCodebookApi {
  static final List<String> ACTIONS = List.of("train", "install", "count", "sample");
  /** Most token vectors one shard sends for training (2^24, i.e. 1.5 GB of 96-d float32 at most). */
  static final int MAX_SAMPLE = 1 << 24;
  private static final long DEFAULT_SEED = 17L;

  private CollectionCodebookApi() {}

  static void handle(SolrQueryRequest req, SolrQueryResponse rsp) throws Exception {
    SolrParams params = req.getParams();
    String action = params.get("action");
    if (action == null) {
      rsp.add("codebooks", status(req.getCore()));
      return;
    }
    if (!ACTIONS.contains(action)) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'action' must be one of " + ACTIONS + "; got '" + action + "'");
    }
    Object method = req.getHttpMethod();
    if (method != null && !"POST".equalsIgnoreCase(method.toString())) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "action=" + action + " changes the collection's codebooks or reads their training data: send it with POST");
    }
    SolrCore core = req.getCore();
    MultiVectorField type = multiVectorField(core, params.get("field"), action);
    String field = params.get("field");
    // every param is checked before anything happens
    long seed = longParam(params, "seed");
    boolean optimize = boolParam(params, "optimize");
    int size = "sample".equals(action) ? intParam(params, "size", 1, MAX_SAMPLE, -1) : 0;
    CollectionCodebooks codebooks = collectionCodebooks(core, action);
    switch (action) {
      case "count":
        rsp.add("tokenVectors", countTokens(core, field));
        return;
      case "sample":
        rsp.add("dimension", type.getDimension());
        rsp.add("vectors", sample(core, field, type.getDimension(), size, seed));
        return;
      case "install":
        rsp.add("core", core.getName());
        rsp.add("id", install(req, core, codebooks, field, optimize));
        return;
      default:
        rsp.add("train", train(req, core, codebooks, field, type, seed, optimize));
    }
  }

  /** The field's codebook as stored for the collection and as installed in this core. */
  private static SimpleOrderedMap<Object> status(SolrCore core) throws Exception {
    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    NeuralCodecFactory factory = NeuralCodecFactory.of(core);
    CollectionCodebooks codebooks = factory == null ? null : factory.collectionCodebooks();
    for (SchemaField f : core.getLatestSchema().getFields().values()) {
      if (!(f.getType() instanceof MultiVectorField)) {
        continue;
      }
      SimpleOrderedMap<Object> o;
      if (codebooks == null) {
        o = new SimpleOrderedMap<>();
        o.add("scope", "core");
      } else {
        o = fieldStatus(core, codebooks, f.getName());
      }
      out.add(f.getName(), o);
    }
    return out;
  }

  /** The field's collection codebook: as stored in ZooKeeper (K, sample, when) and as installed here. */
  static SimpleOrderedMap<Object> fieldStatus(SolrCore core, CollectionCodebooks codebooks, String field) {
    SimpleOrderedMap<Object> o = new SimpleOrderedMap<>();
    o.add("scope", "collection");
    o.add("collection", codebooks.collection());
    Map<String, Object> current;
    try {
      current = CollectionCodebooks.current(zk(core).getZkClient(), codebooks.collection(), field);
    } catch (Exception e) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "reading the collection codebook of '" + field + "' from ZooKeeper: " + e.getMessage(), e);
    }
    o.add("stored", current == null ? null : new TreeMap<>(current));
    o.add("installed", codebooks.installedId(field));
    return o;
  }

  private static SimpleOrderedMap<Object> train(
      SolrQueryRequest req, SolrCore core, CollectionCodebooks codebooks, String field, MultiVectorField type, long seed, boolean optimize)
      throws Exception {
    long start = System.nanoTime();
    ZkController zk = zk(core);
    DocCollection collection = zk.getClusterState().getCollection(codebooks.collection());
    Set<String> live = zk.getZkStateReader().getClusterState().getLiveNodes();
    List<Replica> oneReplicaPerShard = new ArrayList<>();
    for (Slice slice : collection.getActiveSlices()) {
      Replica r = slice.getLeader();
      if (r == null || !r.isActive(live)) {
        throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, "shard " + slice.getName() + " of collection " + collection.getName() + " has no active leader: train the codebook when every shard is up");
      }
      oneReplicaPerShard.add(r);
    }
    long[] counts = new long[oneReplicaPerShard.size()];
    long total = 0;
    for (int s = 0; s < counts.length; s++) {
      counts[s] = ((Number) call(core, oneReplicaPerShard.get(s), params("count", field)).get("tokenVectors")).longValue();
      total += counts[s];
    }
    if (total == 0) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'field': '" + field + "' has no token vectors in collection " + collection.getName() + " to train a codebook on; index documents first");
    }
    int trainingSample = type.getTrainingSample() == 0 ? org.neuralsolr.codecs.multivector.MultiVectorField.DEFAULT_TRAINING_SAMPLE : type.getTrainingSample();
    int sampleSize = (int) Math.min(total, trainingSample);
    int[] perShard = proportional(counts, total, sampleSize);
    int dim = type.getDimension();
    float[][] sample = new float[sampleSize][];
    int at = 0;
    for (int s = 0; s < perShard.length; s++) {
      if (perShard[s] == 0) {
        continue;
      }
      ModifiableSolrParams p = params("sample", field);
      p.set("size", perShard[s]);
      p.set("seed", Long.toString(seed + 31L * s));
      byte[] bytes = (byte[]) call(core, oneReplicaPerShard.get(s), p).get("vectors");
      ByteBuffer floats = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0, n = bytes.length / (dim * Float.BYTES); i < n; i++) {
        float[] v = new float[dim];
        floats.asFloatBuffer().get(i * dim, v, 0, dim);
        sample[at++] = v;
      }
    }
    if (at < sampleSize) {
      sample = java.util.Arrays.copyOf(sample, at); // documents deleted meanwhile
    }
    long sampled = System.nanoTime();
    int centroids = ResidualCodebook.centroidsFor(type.getCentroids(), total);
    ResidualCodebook codebook = ResidualCodebook.train(sample, type.getNbits(), centroids, seed);
    long trained = System.nanoTime();
    Map<String, Object> training = new java.util.LinkedHashMap<>();
    training.put("tokenVectors", total);
    training.put("sample", sample.length);
    training.put("seed", seed);
    Map<String, Object> current = CollectionCodebooks.store(zk.getZkClient(), codebooks.collection(), field, codebook, training);
    long stored = System.nanoTime();

    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    out.add("field", field);
    out.add("collection", collection.getName());
    out.add("zkPath", CollectionCodebooks.fieldPath(collection.getName(), field));
    current.forEach(out::add);
    SimpleOrderedMap<Object> replicas = new SimpleOrderedMap<>();
    for (Replica r : collection.getReplicas()) {
      if (!r.isActive(live)) {
        replicas.add(r.getCoreName(), "not active: installs the codebook when it loads; re-encodes at its next optimize");
        continue;
      }
      ModifiableSolrParams p = params("install", field);
      p.set("optimize", optimize);
      replicas.add(r.getCoreName(), call(core, r, p).get("id"));
    }
    out.add("replicas", replicas);
    out.add("sampleMs", (sampled - start) / 1_000_000);
    out.add("trainMs", (trained - sampled) / 1_000_000);
    out.add("storeMs", (stored - trained) / 1_000_000);
    out.add("installMs", (System.nanoTime() - stored) / 1_000_000);
    return out;
  }

  /** Splits {@code size} over the shards in proportion to their counts (largest remainders). */
  static int[] proportional(long[] counts, long total, int size) {
    int[] out = new int[counts.length];
    double[] remainder = new double[counts.length];
    int given = 0;
    for (int s = 0; s < counts.length; s++) {
      double exact = (double) size * counts[s] / total;
      out[s] = (int) Math.min(counts[s], Math.floor(exact));
      remainder[s] = exact - out[s];
      given += out[s];
    }
    while (given < size) {
      int best = -1;
      for (int s = 0; s < counts.length; s++) {
        if (out[s] < counts[s] && (best < 0 || remainder[s] > remainder[best])) {
          best = s;
        }
      }
      if (best < 0) {
        break;
      }
      out[best]++;
      remainder[best] = -1;
      given++;
    }
    return out;
  }

  /** Installs the stored codebook now and, with {@code optimize}, re-encodes the core's segments. */
  private static String install(SolrQueryRequest req, SolrCore core, CollectionCodebooks codebooks, String field, boolean optimize)
      throws IOException {
    ResidualCodebook codebook = codebooks.reload(field);
    if (codebook == null) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'field': collection " + codebooks.collection() + " has no codebook for '" + field + "'; send action=train first");
    }
    RefCounted<IndexWriter> writer = core.getSolrCoreState().getIndexWriter(core);
    try {
      MergePolicy policy = writer.get().getConfig().getMergePolicy();
      if (policy instanceof TrainingMergePolicy) {
        // an optimize then also rewrites segments encoded with another codebook, even a lone one
        ((TrainingMergePolicy) policy).setRequiredCodebooks(codebooks::installedId);
      }
    } finally {
      writer.decref();
    }
    if (optimize) {
      CommitUpdateCommand cmd = new CommitUpdateCommand(req, true);
      cmd.maxOptimizeSegments = 1;
      cmd.waitSearcher = true;
      cmd.openSearcher = true;
      core.getUpdateHandler().commit(cmd);
    }
    return codebooks.installedId(field);
  }

  private static long countTokens(SolrCore core, String field) throws IOException {
    RefCounted<SolrIndexSearcher> ref = core.getSearcher();
    try {
      return countTokens(ref.get(), field);
    } finally {
      ref.decref();
    }
  }

  private static long countTokens(SolrIndexSearcher searcher, String field) throws IOException {
    long n = 0;
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
        MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
        Bits live = leaf.reader().getLiveDocs();
        for (int d = values == null ? MultiVectorValues.NO_MORE_DOCS : values.nextDoc(); d != MultiVectorValues.NO_MORE_DOCS; d = values.nextDoc()) {
          if (live == null || live.get(d)) {
          n += values.tokenCount();
        }
      }
    }
    return n;
  }

  /**
   * A uniform sample of {@code size} of the core's live token vectors (decoded, as the format
   * returns them: exact where the core keeps them exact), as little-endian float32.
   */
  private static byte[] sample(SolrCore core, String field, int dim, int size, long seed) throws IOException {
    RefCounted<SolrIndexSearcher> ref = core.getSearcher();
    try {
      long total = countTokens(ref.get(), field);
      int n = (int) Math.min(size, total);
      // selection sampling (Knuth's algorithm S): one pass in token order
      Random random = new Random(seed);
      ByteBuffer out = ByteBuffer.allocate(n * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      long token = 0;
      int picked = 0;
      float[] buffer = null;
      for (LeafReaderContext leaf : ref.get().getIndexReader().leaves()) {
        MultiVectorValues values = MultiVectorValues.get(leaf.reader(), field);
        Bits live = leaf.reader().getLiveDocs();
        for (int d = values == null ? MultiVectorValues.NO_MORE_DOCS : values.nextDoc(); d != MultiVectorValues.NO_MORE_DOCS && picked < n; d = values.nextDoc()) {
          if (live != null && !live.get(d)) {
            continue;
          }
          int tokens = values.tokenCount();
          boolean decoded = false;
          for (int t = 0; t < tokens && picked < n; t++, token++) {
            if ((total - token) * random.nextDouble() < n - picked) {
              if (!decoded) {
                buffer = values.vectors(buffer);
                decoded = true;
              }
              for (int j = 0; j < dim; j++) {
                out.putFloat(buffer[t * dim + j]);
              }
              picked++;
            }
          }
        }
      }
      return java.util.Arrays.copyOf(out.array(), picked * dim * Float.BYTES);
    } finally {
      ref.decref();
    }
  }

  private static NamedList<Object> call(SolrCore core, Replica replica, SolrParams params) throws Exception {
    GenericSolrRequest request = new GenericSolrRequest(SolrRequest.METHOD.POST, "/neural/codebook", params).setRequiresCollection(true);
    return core.getCoreContainer().getDefaultHttpSolrClient().requestWithBaseUrl(replica.getBaseUrl(), replica.getCoreName(), request).getResponse();
  }

  private static ModifiableSolrParams params(String action, String field) {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("action", action);
    p.set("field", field);
    p.set("distrib", false);
    p.set("wt", "javabin");
    return p;
  }

  private static MultiVectorField multiVectorField(SolrCore core, String field, String action) {
    List<String> multiVector = new ArrayList<>();
    for (SchemaField f : core.getLatestSchema().getFields().values()) {
      if (f.getType() instanceof MultiVectorField) {
        multiVector.add(f.getName());
      }
    }
    if (field == null || field.isBlank()) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'field' is required for action=" + action + ": one of the MultiVectorField fields " + multiVector);
    }
    SchemaField f = core.getLatestSchema().getFieldOrNull(field);
    if (f == null) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'field': no field '" + field + "' in the schema; MultiVectorField fields: " + multiVector);
    }
    if (!(f.getType() instanceof MultiVectorField)) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param 'field': '" + field + "' is not a MultiVectorField (its type is " + f.getType().getTypeName() + "); MultiVectorField fields: " + multiVector);
    }
    return (MultiVectorField) f.getType();
  }

  private static CollectionCodebooks collectionCodebooks(SolrCore core, String action) {
    NeuralCodecFactory factory = NeuralCodecFactory.of(core);
    CollectionCodebooks codebooks = factory == null ? null : factory.collectionCodebooks();
    if (codebooks == null) {
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "action=" + action + " needs a SolrCloud collection whose codecFactory is " + NeuralCodecFactory.class.getName()
              + " with codebooks=collection; core '" + core.getName() + "' trains its own codebooks (docs/colbert.md)");
    }
    return codebooks;
  }

  private static ZkController zk(SolrCore core) {
    return core.getCoreContainer().getZkController();
  }

  private static int intParam(SolrParams params, String name, int min, int max, int dflt) {
    String v = params.get(name);
    if (v == null && dflt >= min) {
      return dflt;
    }
    try {
      int i = Integer.parseInt(v == null ? "" : v.trim());
      if (i >= min && i <= max) {
        return i;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' must be an integer in [" + min + ", " + max + "]; got " + (v == null ? "none" : "'" + v + "'"));
  }

  private static boolean boolParam(SolrParams params, String name) {
    String v = params.get(name);
    if (v == null || v.equals("true")) {
      return true;
    }
    if (v.equals("false")) {
      return false;
    }
    throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' must be true or false; got '" + v + "'");
  }

  private static long longParam(SolrParams params, String name) {
    String v = params.get(name);
    if (v == null) {
      return DEFAULT_SEED;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, "param '" + name + "' must be an integer (a 64-bit k-means seed); got '" + v + "'");
    }
  }
}
