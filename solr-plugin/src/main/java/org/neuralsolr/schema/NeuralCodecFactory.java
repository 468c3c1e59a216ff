package org.neuralsolr.schema;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldDocValuesFormat;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.cloud.CloudDescriptor;
import org.apache.solr.core.CloseHook;
import org.apache.solr.core.SchemaCodecFactory;
import org.apache.solr.core.SolrCore;
import org.apache.solr.core.SolrInfoBean;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.util.RefCounted;
import org.neuralsolr.codecs.dense.DenseVectorStats;
import org.neuralsolr.codecs.multivector.CodebookSource;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Solr's {@code SchemaCodecFactory} plus one ColBERT codebook per {@link MultiVectorField} field
 * per core:
 *
 * <pre>{@code
 * <codecFactory class="org.neuralsolr.schema.NeuralCodecFactory"/>
 * }</pre>
 *
 * <p>With the plain {@code SchemaCodecFactory} the {@code NeuralMultiVector} format is looked up
 * by name and has no memory between segments, so every flushed segment trains (and stores) its own
 * centroids and merged segments carry all of them. Here the first flush or merge of a field that
 * trains a codebook (see the field type's {@code trainingThreshold}) shares it: every later flush
 * of the core encodes with it, so merges copy codes verbatim and a merged segment stores one
 * codebook. After a restart the first flush seeds the core's codebooks
 * from the last commit (see {@link CoreCodebooks}), so a restarted core keeps its codebook.
 *
 * <p>In SolrCloud the codebook belongs to the collection instead ({@code <str
 * name="codebooks">collection</str>}, the default): every core of the collection encodes with the
 * one codebook per field stored in ZooKeeper by the {@code /neural/codebook?action=train} action
 * ({@link CollectionCodebooks}), read when the core loads and again whenever it changes; cores never
 * train it themselves and keep token vectors exact until it exists. {@code codebooks=core} keeps
 * the per-core behaviour above in SolrCloud too (each replica then trains its own codebook, and
 * replicas of a shard score compressed vectors slightly differently). Standalone cores always use
 * per-core codebooks.
 *
 * <p>A {@link QuantizedDenseVectorField} is written with Lucene's scalar-quantised HNSW format
 * (int7 or int4, its {@code hnswMaxConnections} and {@code hnswBeamWidth} kept); that format is
 * recorded by its SPI name, so the plain factory reads it back too.
 *
 * <p>Everything else (postings, other doc values, vectors, {@code compressionMode}) is exactly
 * {@code SchemaCodecFactory}'s, and the index it writes is readable by the plain factory: the
 * multi-vector format is recorded by its SPI name as before and reading never needs the codebook
 * source.
 *
 * <p>A field stored as float32 for want of a trained codebook (below its {@code trainingThreshold})
 * does not go unnoticed: each flush or merge that writes such a segment logs a WARN naming the
 * field, its configured nbits, its token vectors against the threshold, and that an optimize trains
 * it; and the factory is the core's info bean {@value #BEAN_NAME} (category INDEX), whose metrics
 * {@code untrainedTokenVectors} and {@code untrainedFields} (per field: segments, token vectors,
 * configured nbits, trainingThreshold) count what the core's current searcher holds untrained. Its
 * metric {@code denseVectors} gives, per vector field, the vector data's bytes per vector
 * (quantised and float32) and the quantisation.
 */
public class NeuralCodecFactory extends SchemaCodecFactory implements SolrInfoBean {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  /** Name of the info bean, and scope of its metrics ({@code INDEX.neural.multiVector.*}). */
  public static final String BEAN_NAME = "neural.multiVector";

  /** Init arg: {@code collection} (default) or {@code core}, see the class comment. */
  public static final String CODEBOOKS_ARG = "codebooks";

  private String scope = "collection";
  private CodebookSource codebooks;
  private CoreCodebooks coreCodebooks; // null when the collection's codebooks are used
  private CollectionCodebooks collectionCodebooks;
  private volatile SolrCore core;
  private Codec codec;
  private SolrMetricsContext metricsContext;

  @Override
  public void init(NamedList<?> args) {
    Object arg = args.remove(CODEBOOKS_ARG);
    if (arg != null) {
      scope = arg.toString().trim();
      if (!scope.equals("collection") && !scope.equals("core")) {
        throw new SolrException(ErrorCode.SERVER_ERROR, "codecFactory arg '" + CODEBOOKS_ARG + "' must be collection or core; got '" + scope + "'");
      }
    }
    super.init(args);
  }

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    this.core = core;
    CloudDescriptor cloud = core.getCoreDescriptor().getCloudDescriptor();
    if ("collection".equals(scope) && core.getCoreContainer().isZooKeeperAware() && cloud != null) {
      collectionCodebooks =
          new CollectionCodebooks(core.getCoreContainer().getZkController().getZkClient(), cloud.getCollectionName());
      codebooks = collectionCodebooks;
      // read the stored codebooks now, before the first flush needs them, and watch for new ones
      for (SchemaField f : core.getLatestSchema().getFields().values()) {
        if (f.getType() instanceof MultiVectorField) {
          collectionCodebooks.codebook(f.getName(), 0, 0);
        }
      }
      CollectionCodebooks closing = collectionCodebooks;
      core.addCloseHook(
          new CloseHook() {
            @Override
            public void preClose(SolrCore c) {
              closing.close();
            }
          });
    } else {
      coreCodebooks = new CoreCodebooks();
      codebooks = coreCodebooks;
    }
    Codec schemaCodec = super.getCodec();
    if (!(schemaCodec instanceof Lucene912Codec)) {
      // per-field routing below calls Lucene912Codec's per-field hooks; a Solr upgrade must revisit it
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "NeuralCodecFactory expects SchemaCodecFactory to build a Lucene912Codec, got " + schemaCodec.getClass().getName());
    }
    codec = new SharedCodebookCodec((Lucene912Codec) schemaCodec);
    core.registerInfoBean(BEAN_NAME, this);
  }

  @Override
  public void initializeMetrics(SolrMetricsContext parentContext, String scope) {
    metricsContext = parentContext.getChildContext(this);
    String category = getCategory().toString();
    metricsContext.gauge(
        () -> untrained().values().stream().mapToLong(UntrainedFields.Count::tokenVectors).sum(),
        true,
        "untrainedTokenVectors",
        category,
        scope);
    metricsContext.gauge(this::untrainedFieldsMetric, true, "untrainedFields", category, scope);
    metricsContext.gauge(this::denseVectorsMetric, true, "denseVectors", category, scope);
  }

  /**
   * Per vector field of the current searcher: its vectors, the bytes per vector of the vector data
   * the graph is searched with (quantised {@code .veq}, or float32 {@code .vec}) and of the float32
   * data, and the quantisation; the graph itself is not counted (see {@link DenseVectorStats}).
   */
  private Map<String, Object> denseVectorsMetric() {
    SolrCore c = core;
    RefCounted<SolrIndexSearcher> searcher = c == null ? null : c.getRegisteredSearcher();
    if (searcher == null) {
      return Map.of();
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    try {
      for (DenseVectorStats.Field f : DenseVectorStats.of(searcher.get().getIndexReader()).values()) {
        Map<String, Object> m = new LinkedHashMap<>();
        SchemaField sf = c.getLatestSchema().getFieldOrNull(f.name());
        m.put(
            "quantization",
            sf != null && sf.getType() instanceof QuantizedDenseVectorField
                ? ((QuantizedDenseVectorField) sf.getType()).getQuantization().toString()
                : f.quantized() ? "quantized" : "float32");
        m.put("vectors", f.vectors());
        m.put("bytesPerVector", Math.round(f.bytesPerVector() * 100) / 100.0);
        m.put("floatBytesPerVector", Math.round(f.floatBytesPerVector() * 100) / 100.0);
        fields.put(f.name(), m);
      }
    } catch (java.io.IOException e) {
      log.debug("could not measure the dense vector fields", e);
    } finally {
      searcher.decref();
    }
    return fields;
  }

  @Override
  public SolrMetricsContext getSolrMetricsContext() {
    return metricsContext;
  }

  @Override
  public String getName() {
    return BEAN_NAME;
  }

  @Override
  public String getDescription() {
    return "Neural Solr multi-vector storage: token vectors stored as float32 until the field's codebook is trained";
  }

  @Override
  public Category getCategory() {
    return Category.INDEX;
  }

  /** Untrained segments and token vectors per field in the core's current searcher. */
  private Map<String, UntrainedFields.Count> untrained() {
    SolrCore c = core;
    RefCounted<SolrIndexSearcher> searcher = c == null ? null : c.getRegisteredSearcher();
    if (searcher == null) {
      return Map.of();
    }
    try {
      return UntrainedFields.of(searcher.get().getIndexReader());
    } finally {
      searcher.decref();
    }
  }

  private Map<String, Object> untrainedFieldsMetric() {
    Map<String, Object> fields = new LinkedHashMap<>();
    untrained()
        .forEach(
            (field, count) -> {
              Map<String, Object> f = new LinkedHashMap<>();
              f.put("segments", count.segments());
              f.put("tokenVectors", count.tokenVectors());
              MultiVectorField type = fieldType(field);
              if (type != null) {
                f.put("nbits", type.getNbits());
                f.put("trainingThreshold", type.getTrainingThreshold());
              }
              fields.put(field, f);
            });
    return fields;
  }

  private MultiVectorField fieldType(String field) {
    SchemaField f = core.getLatestSchema().getFieldOrNull(field);
    return f != null && f.getType() instanceof MultiVectorField ? (MultiVectorField) f.getType() : null;
  }

  /**
   * Says, once the segment's doc values are written, which multi-vector fields it stores untrained:
   * a user who configured nbits 2 and got float32 (some 15 times the bytes) should not have to find
   * out from the disk usage.
   */
  private void warnIfUntrained(SegmentWriteState state) {
    Map<String, Long> fields = MultiVectorDocValuesFormat.untrainedTokenVectors(state.segmentInfo);
    if (fields.isEmpty()) {
      return;
    }
    boolean flush = state.context.mergeInfo == null;
    Map<String, UntrainedFields.Count> inSearcher = untrained();
    for (Map.Entry<String, Long> e : fields.entrySet()) {
      MultiVectorField type = fieldType(e.getKey());
      long tokens = e.getValue();
      long searcherTokens = inSearcher.getOrDefault(e.getKey(), UntrainedFields.Count.NONE).tokenVectors();
      // a flushed segment is new to the core; a merged one replaces segments the searcher counts
      long soFar = flush ? searcherTokens + tokens : Math.max(searcherTokens, tokens);
      if (collectionCodebooks != null) {
        log.warn(
            "Multi-vector field '{}' is configured for nbits={} but {} segment {} stores its {} token vectors as float32 (nbits 0): "
                + "collection '{}' has no codebook for it yet, and the core holds about {} untrained so far. "
                + "POST /solr/{}/neural/codebook?action=train&field={} trains one for the whole collection and encodes them. Metric: INDEX.{}.untrainedTokenVectors",
            e.getKey(),
            type == null ? "?" : type.getNbits(),
            flush ? "flushed" : "merged",
            state.segmentInfo.name,
            tokens,
            collectionCodebooks.collection(),
            soFar,
            collectionCodebooks.collection(),
            e.getKey(),
            BEAN_NAME);
        continue;
      }
      log.warn(
          "Multi-vector field '{}' is configured for nbits={} but {} segment {} stores its {} token vectors as float32 (nbits 0): "
              + "the codebook is trained once one flush or merge holds trainingThreshold={} token vectors, and the core holds about {} untrained so far. "
              + "An optimize trains and encodes them now (with {} in <indexConfig>). Metric: INDEX.{}.untrainedTokenVectors",
          e.getKey(),
          type == null ? "?" : type.getNbits(),
          flush ? "flushed" : "merged",
          state.segmentInfo.name,
          tokens,
          type == null ? "?" : type.getTrainingThreshold(),
          soFar,
          TrainingMergePolicyFactory.class.getName(),
          BEAN_NAME);
    }
  }

  /**
   * The collection's codebooks this core encodes with, or null for a standalone core or {@code
   * codebooks=core}.
   */
  public CollectionCodebooks collectionCodebooks() {
    return collectionCodebooks;
  }

  /** The core's codec factory, or null if the core does not use this one. */
  public static NeuralCodecFactory of(SolrCore core) {
    return core.getInfoRegistry().get(BEAN_NAME) instanceof NeuralCodecFactory f ? f : null;
  }

  @Override
  public Codec getCodec() {
    assert core != null : "inform must be called first";
    return codec;
  }

  /**
   * Solr's codec with the multi-vector fields routed to a format instance that shares this core's
   * codebooks. It keeps the schema codec's name: segments written by it are plain Lucene912 segments
   * whose per-field formats are recorded by name.
   */
  private final class SharedCodebookCodec extends FilterCodec {
    private final DocValuesFormat multiVector = new SeedingMultiVectorFormat();
    private final DocValuesFormat perField;
    private final KnnVectorsFormat perFieldVectors;

    SharedCodebookCodec(Lucene912Codec schemaCodec) {
      super(schemaCodec.getName(), schemaCodec);
      this.perField =
          new PerFieldDocValuesFormat() {
            @Override
            public DocValuesFormat getDocValuesFormatForField(String field) {
              // the latest schema, as SchemaCodecFactory does: fields added through the schema API count
              SchemaField f = core.getLatestSchema().getFieldOrNull(field);
              if (f != null && f.getType() instanceof MultiVectorField) {
                return multiVector;
              }
              return schemaCodec.getDocValuesFormatForField(field);
            }
          };
      this.perFieldVectors =
          new PerFieldKnnVectorsFormat() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
              SchemaField f = core.getLatestSchema().getFieldOrNull(field);
              if (f != null && f.getType() instanceof QuantizedDenseVectorField) {
                return ((QuantizedDenseVectorField) f.getType()).knnVectorsFormat();
              }
              return schemaCodec.getKnnVectorsFormatForField(field);
            }
          };
    }

    @Override
    public DocValuesFormat docValuesFormat() {
      return perField;
    }

    @Override
    public KnnVectorsFormat knnVectorsFormat() {
      return perFieldVectors;
    }
  }

  /**
   * The NeuralMultiVector format with the core's codebook source; seeds the source from the index
   * the segment is written into before the core's first multi-vector segment is written.
   */
  private final class SeedingMultiVectorFormat extends DocValuesFormat {
    private final DocValuesFormat format = new MultiVectorDocValuesFormat(codebooks);
    private final CoreCodebooks seeded = coreCodebooks;

    SeedingMultiVectorFormat() {
      // same name as the SPI format: segments record it and are read back by the SPI instance
      super(MultiVectorDocValuesFormat.NAME);
    }

    @Override
    public DocValuesConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
      if (seeded != null) {
        seeded.seedOnce(state.directory);
      }
      return new WarningConsumer(format.fieldsConsumer(state), state);
    }

    @Override
    public DocValuesProducer fieldsProducer(SegmentReadState state) throws IOException {
      return format.fieldsProducer(state);
    }
  }

  /** The format's consumer, which calls {@link #warnIfUntrained} once it has written the segment. */
  private final class WarningConsumer extends DocValuesConsumer {
    private final DocValuesConsumer in;
    private final SegmentWriteState state;

    WarningConsumer(DocValuesConsumer in, SegmentWriteState state) {
      this.in = in;
      this.state = state;
    }

    @Override
    public void addNumericField(FieldInfo field, DocValuesProducer values) throws IOException {
      in.addNumericField(field, values);
    }

    @Override
    public void addBinaryField(FieldInfo field, DocValuesProducer values) throws IOException {
      in.addBinaryField(field, values);
    }

    @Override
    public void addSortedField(FieldInfo field, DocValuesProducer values) throws IOException {
      in.addSortedField(field, values);
    }

    @Override
    public void addSortedNumericField(FieldInfo field, DocValuesProducer values) throws IOException {
      in.addSortedNumericField(field, values);
    }

    @Override
    public void addSortedSetField(FieldInfo field, DocValuesProducer values) throws IOException {
      in.addSortedSetField(field, values);
    }

    @Override
    public void merge(MergeState mergeState) throws IOException {
      in.merge(mergeState); // the format's own merge: it copies codes rather than re-encoding
    }

    @Override
    public void close() throws IOException {
      in.close();
      try {
        warnIfUntrained(state);
      } catch (RuntimeException e) {
        // a log line must never fail a flush or merge
        log.debug("could not report untrained multi-vector fields of segment {}", state.segmentInfo.name, e);
      }
    }
  }
}
