package org.neuralsolr.update;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Timer;
import java.util.ArrayList;
import java.util.List;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.SolrCore;
import org.apache.solr.core.SolrInfoBean;
import org.apache.solr.metrics.SolrMetricsContext;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.response.SolrQueryResponse;
import org.apache.solr.schema.IndexSchema;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.update.processor.UpdateRequestProcessor;
import org.apache.solr.update.processor.TolerantUpdateProcessorFactory;
import org.apache.solr.update.processor.UpdateRequestProcessorChain;
import org.apache.solr.update.processor.UpdateRequestProcessorFactory;
import org.apache.solr.util.plugin.SolrCoreAware;
import org.neuralsolr.model.NeuralModelRegistry;

/**
 * Fills neural fields at ingest by encoding source text with the registry's models, batching the
 * documents of each update request into as few model calls as possible. Put it before the
 * distributed processor so that in SolrCloud each document is encoded once, on the node that
 * receives it:
 *
 * <pre>{@code
 * <updateRequestProcessorChain name="neural" default="true">
 *   <processor class="org.neuralsolr.update.NeuralUpdateProcessorFactory">
 *     <int name="batchSize">256</int>         <!-- documents handed to the model at once -->
 *     <int name="maxBufferedDocs">1000</int>  <!-- all-or-nothing unit, see below -->
 *     <lst name="field">
 *       <str name="name">vector</str>
 *       <str name="model">bge-small</str>
 *       <str name="source">title,text</str>
 *       <!-- optional, dense models: one of the manifest's document instruction templates -->
 *       <!-- <str name="instruction">NAME</str> -->
 *     </lst>
 *   </processor>
 *   <processor class="solr.LogUpdateProcessorFactory"/>
 *   <processor class="solr.DistributedUpdateProcessorFactory"/>
 *   <processor class="solr.RunUpdateProcessorFactory"/>
 * </updateRequestProcessorChain>
 * }</pre>
 *
 * <p>Each {@code field} may say {@code <bool name="required">true</bool>}: a document with no text in
 * any of the source fields is then refused with HTTP 400. By default ({@code false}) it is indexed
 * without the neural field, counted in the {@code documentsWithoutText} metric and logged once per
 * request, because real collections have empty documents. A document that already carries the
 * target field keeps the client's vector, after its dimension and values are checked. Text longer
 * than the model's maximum length is truncated, not refused.
 *
 * <p>Documents are checked when they arrive, then held until the request ends (or {@code
 * maxBufferedDocs} are held) and passed on only when every one of them was encoded: a bad document
 * fails the request with HTTP 400 naming its id and field, and none of the held documents is
 * indexed. Behind Solr's {@code TolerantUpdateProcessorFactory} in the same chain a bad document is
 * refused alone and listed in the response's {@code errors}, and the rest are indexed (the
 * configset's {@code neural-tolerant} chain; see docs/bulk-loading.md).
 */
public class NeuralUpdateProcessorFactory extends UpdateRequestProcessorFactory
    implements SolrCoreAware, SolrInfoBean {
  /**
   * Documents handed to the model at once. The scheduler cuts them into length-sorted batches of
   * its own maxBatchSize, so more documents per call means less padding: on SciFact abstracts a
   * globally length-sorted encoding ran 1.8× faster than batches in arrival order.
   */
  static final int DEFAULT_BATCH_SIZE = 256;
  static final int DEFAULT_MAX_BUFFERED_DOCS = 1000;

  private int batchSize = DEFAULT_BATCH_SIZE;
  private int maxBufferedDocs = DEFAULT_MAX_BUFFERED_DOCS;
  private final List<NeuralFieldMapping> mappings = new ArrayList<>();
  private NeuralModelRegistry registry;
  private SolrMetricsContext metricsContext;
  Counter documents;
  Counter encodedFields;
  Counter clientVectors;
  Counter documentsWithoutText;
  Counter modelCalls;
  Counter sharedModelCalls;
  Counter rejectedRequests;
  Timer encodeTime;

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    Object b = args.get("batchSize");
    if (b != null) {
      batchSize = Integer.parseInt(b.toString().trim());
    }
    Object m = args.get("maxBufferedDocs");
    if (m != null) {
      maxBufferedDocs = Integer.parseInt(m.toString().trim());
    }
    if (batchSize < 1 || maxBufferedDocs < batchSize) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: need 1 <= batchSize <= maxBufferedDocs");
    }
    for (Object f : args.getAll("field")) {
      if (!(f instanceof NamedList)) {
        throw new SolrException(ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: 'field' must be a <lst>");
      }
      try {
        mappings.add(NeuralFieldMapping.fromNamedList((NamedList<?>) f));
      } catch (IllegalArgumentException e) {
        throw new SolrException(ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: " + e.getMessage());
      }
    }
    if (mappings.isEmpty()) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: configure at least one <lst name=\"field\">");
    }
  }

  @Override
  public void inform(SolrCore core) {
    registry = NeuralModelRegistry.of(core);
    for (NeuralFieldMapping mapping : mappings) {
      if (!registry.isDeclaredWithoutPackage(mapping.model)) {
        filler(core.getLatestSchema(), mapping); // fails the core now if the mapping cannot work
      }
    }
    core.registerInfoBean(getName(), this);
  }

  /** The filler of {@code mapping} under {@code schema}, which may have changed since the core loaded. */
  NeuralFieldFiller filler(IndexSchema schema, NeuralFieldMapping mapping) {
    SchemaField field = schema.getFieldOrNull(mapping.field);
    if (field == null) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: undefined field '" + mapping.field + "'");
    }
    if (mapping.spans != null) {
      checkSpansField(schema, mapping);
    }
    try {
      return NeuralFieldFillers.forField(field, registry, mapping);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: " + e.getMessage(), e);
    }
  }

  /** {@code spans}: a single-valued BinaryField with doc values, beside a MultiVectorField. */
  private static void checkSpansField(IndexSchema schema, NeuralFieldMapping mapping) {
    SchemaField target = schema.getFieldOrNull(mapping.field);
    if (target != null && !(target.getType() instanceof org.neuralsolr.schema.MultiVectorField)) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "NeuralUpdateProcessorFactory: field '" + mapping.field + "': 'spans' is for MultiVectorFields (token vectors)");
    }
    SchemaField spans = schema.getFieldOrNull(mapping.spans);
    if (spans == null || !(spans.getType() instanceof org.apache.solr.schema.BinaryField) || !spans.hasDocValues() || spans.multiValued()) {
      throw new SolrException(
          ErrorCode.SERVER_ERROR,
          "NeuralUpdateProcessorFactory: field '" + mapping.field + "': 'spans' must name a single-valued solr.BinaryField with docValues=\"true\", got '"
              + mapping.spans + "'" + (spans == null ? " (undefined: add it to the schema, or leave 'spans' out)" : ""));
    }
  }

  @Override
  public UpdateRequestProcessor getInstance(SolrQueryRequest req, SolrQueryResponse rsp, UpdateRequestProcessor next) {
    return new NeuralUpdateProcessor(req, next, this, isBehindTolerantProcessor(req));
  }

  /**
   * Whether a {@code TolerantUpdateProcessorFactory} comes before this processor in the request's
   * chain: then a bad document is refused alone instead of failing the request (chains are built
   * back to front, so the processor itself cannot see what wraps it).
   */
  private boolean isBehindTolerantProcessor(SolrQueryRequest req) {
    for (UpdateRequestProcessorFactory factory : req.getCore().getUpdateProcessorChain(req.getParams()).getProcessors()) {
      if (factory == this) {
        return false;
      }
      if (factory instanceof TolerantUpdateProcessorFactory) {
        return true;
      }
    }
    return false;
  }

  /**
   * The model that fills a field, the source fields whose joined values it encodes, and the field
   * holding each token vector's character span ({@link TokenSpans}), or null if none is kept.
   */
  public record FieldSource(String model, List<String> sources, String spans) {}

  /**
   * How {@code field} is filled by the neural update processors of the core's update chains (the
   * first chain that fills it, in solrconfig.xml order), or null if none does.
   */
  public static FieldSource sourceOf(SolrCore core, String field) {
    for (org.apache.solr.core.PluginInfo chain : core.getSolrConfig().getPluginInfos(UpdateRequestProcessorChain.class.getName())) {
      UpdateRequestProcessorChain c = core.getUpdateProcessingChain(chain.name);
      if (c == null) {
        continue;
      }
      for (UpdateRequestProcessorFactory factory : c.getProcessors()) {
        if (factory instanceof NeuralUpdateProcessorFactory neural) {
          for (NeuralFieldMapping m : neural.mappings) {
            if (m.field.equals(field)) {
              return new FieldSource(m.model, m.sources, m.spans);
            }
          }
        }
      }
    }
    return null;
  }

  List<NeuralFieldMapping> mappings() {
    return mappings;
  }

  int batchSize() {
    return batchSize;
  }

  int maxBufferedDocs() {
    return maxBufferedDocs;
  }

  @Override
  public void initializeMetrics(SolrMetricsContext parentContext, String scope) {
    metricsContext = parentContext.getChildContext(this);
    String category = getCategory().toString();
    documents = metricsContext.counter("documents", category, scope);
    encodedFields = metricsContext.counter("encodedFields", category, scope);
    clientVectors = metricsContext.counter("clientVectors", category, scope);
    documentsWithoutText = metricsContext.counter("documentsWithoutText", category, scope);
    modelCalls = metricsContext.counter("modelCalls", category, scope);
    sharedModelCalls = metricsContext.counter("sharedModelCalls", category, scope);
    rejectedRequests = metricsContext.counter("rejectedRequests", category, scope);
    encodeTime = metricsContext.timer("encodeTime", category, scope);
  }

  @Override
  public SolrMetricsContext getSolrMetricsContext() {
    return metricsContext;
  }

  @Override
  public String getName() {
    return "neural.updateProcessor";
  }

  @Override
  public String getDescription() {
    return "Neural Solr ingest: encodes source fields into neural fields, batched per update request";
  }

  @Override
  public Category getCategory() {
    return Category.UPDATE;
  }
}
