package org.neuralsolr.update;

import com.codahale.metrics.Timer;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.SolrInputField;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.IndexSchema;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.update.AddUpdateCommand;
import org.apache.solr.update.CommitUpdateCommand;
import org.apache.solr.update.DeleteUpdateCommand;
import org.apache.solr.update.DocumentBuilder;
import org.apache.solr.update.MergeIndexesCommand;
import org.apache.solr.update.RollbackUpdateCommand;
import org.apache.solr.update.processor.UpdateRequestProcessor;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.TextRejectedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One update request's pass through {@link NeuralUpdateProcessorFactory}. Each add is checked when
 * it arrives (values the client supplied, atomic updates, source text), then held (as a clone: the
 * XML and javabin loaders reuse one command object) and encoded every {@code batchSize} documents;
 * held documents are passed on when the request ends, when {@code maxBufferedDocs} are held, or
 * before any other command (delete, commit...) so that order is kept.
 *
 * <p>Alone, a request is all-or-nothing: a bad document fails it with HTTP 400 and drops everything
 * held (Solr calls {@link #finish()} even after an error, and it must not index the rest). Behind a
 * {@code TolerantUpdateProcessorFactory} a bad document is refused on its own: a document that fails
 * its checks is refused from its own {@code processAdd}, which the tolerant processor catches and
 * reports under its id; a document that fails later, while held (the model refused its text, the
 * model's queue was full, or a later processor refused it), is reported from {@link #finish()} the
 * way a distributed update reports the documents a remote shard refused (see {@link
 * HeldDocumentErrors}), so every document of the request is either indexed or listed in the
 * response's {@code errors}.
 */
final class NeuralUpdateProcessor extends UpdateRequestProcessor {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  private final SolrQueryRequest req;
  private final NeuralUpdateProcessorFactory factory;
  private final boolean tolerant;
  /** Per mapping, in the factory's order; looked up on the first add, under this request's schema. */
  private List<NeuralFieldFiller> fillers;
  private final List<HeldAdd> held = new ArrayList<>();
  /** {@code held[0..encoded)} are encoded. */
  private int encoded;
  private boolean failed;
  private final HeldDocumentErrors heldErrors = new HeldDocumentErrors();
  /** Documents of this request indexed without one of the neural fields for want of source text. */
  private final Map<String, List<String>> withoutText = new LinkedHashMap<>();

  NeuralUpdateProcessor(
      SolrQueryRequest req, UpdateRequestProcessor next, NeuralUpdateProcessorFactory factory, boolean tolerant) {
    super(next);
    this.req = req;
    this.factory = factory;
    this.tolerant = tolerant;
  }

  /** An add held until it is passed on, and per mapping the text to encode (null: nothing to encode). */
  private static final class HeldAdd {
    final AddUpdateCommand cmd;
    final String[] texts;

    HeldAdd(AddUpdateCommand cmd, String[] texts) {
      this.cmd = cmd;
      this.texts = texts;
    }
  }

  @Override
  public void processAdd(AddUpdateCommand cmd) throws IOException {
    factory.documents.inc();
    AddUpdateCommand copy = (AddUpdateCommand) cmd.clone();
    String[] texts;
    try {
      texts = check(copy);
      checkAgainstSchema(copy);
    } catch (SolrException e) {
      if (!tolerant) {
        fail();
      }
      throw e;
    }
    held.add(new HeldAdd(copy, texts));
    if (held.size() - encoded >= factory.batchSize()) {
      encodeHeld();
    }
    if (held.size() >= factory.maxBufferedDocs()) {
      passOn();
    }
  }

  private void fail() {
    failed = true;
    held.clear();
    encoded = 0;
    factory.rejectedRequests.inc();
  }

  /**
   * Checks what the document brings for each mapping and returns, per mapping, the source text to
   * encode, or null where the client supplied the field, the add is an atomic update, or the
   * document has no source text and the mapping does not require it.
   */
  private String[] check(AddUpdateCommand cmd) {
    List<NeuralFieldMapping> mappings = factory.mappings();
    if (fillers == null) {
      fillers = new ArrayList<>(mappings.size());
      for (NeuralFieldMapping mapping : mappings) {
        fillers.add(factory.filler(req.getSchema(), mapping));
      }
    }
    SolrInputDocument doc = cmd.getSolrInputDocument();
    boolean atomic = isAtomicUpdate(doc);
    String[] texts = new String[mappings.size()];
    List<String> fieldsWithoutText = null;
    for (int m = 0; m < mappings.size(); m++) {
      NeuralFieldMapping mapping = mappings.get(m);
      NeuralFieldFiller filler = fillers.get(m);
      SolrInputField supplied = doc.getField(mapping.field);
      if (supplied != null && isObjectValue(supplied.getValue())) {
        // a JSON object the client meant as the field's value, not an atomic update of it
        checkSupplied(cmd, mapping, filler, supplied.getValue());
      }
      if (atomic) {
        checkAtomicUpdate(cmd, mapping);
        continue;
      }
      if (supplied != null) {
        Object value = checkSupplied(cmd, mapping, filler, supplied.getValue());
        if (value != supplied.getValue()) {
          doc.setField(mapping.field, value);
        }
        factory.clientVectors.inc();
        continue;
      }
      String text = sourceText(doc, mapping.sources);
      if (SourceText.isEmpty(text)) {
        if (mapping.required) {
          throw badDocument(cmd, mapping, "none of its source fields " + mapping.sources + " has text to encode");
        }
        if (fieldsWithoutText == null) {
          fieldsWithoutText = new ArrayList<>();
        }
        fieldsWithoutText.add(mapping.field);
        continue;
      }
      texts[m] = text;
    }
    if (fieldsWithoutText != null) {
      // counted once the document is accepted: a later mapping may still refuse it
      factory.documentsWithoutText.inc();
      for (String field : fieldsWithoutText) {
        withoutText.computeIfAbsent(field, f -> new ArrayList<>()).add(cmd.getPrintableId());
      }
    }
    return texts;
  }

  private static Object checkSupplied(AddUpdateCommand cmd, NeuralFieldMapping mapping, NeuralFieldFiller filler, Object value) {
    try {
      return filler.checkSupplied(value);
    } catch (IllegalArgumentException e) {
      throw badDocument(cmd, mapping, e.getMessage());
    }
  }

  private void encodeHeld() {
    while (encoded < held.size()) {
      List<HeldAdd> batch = held.subList(encoded, held.size());
      try {
        encodeAll(batch);
        encoded = held.size();
      } catch (HeldDocumentException e) {
        if (!tolerant) {
          fail();
          throw e.error;
        }
        // the other documents of the batch are encoded again without it
        heldErrors.add(e.add.cmd, e.error);
        held.remove(e.add);
      } catch (SolrException e) {
        if (!tolerant) {
          fail();
          throw e;
        }
        for (HeldAdd add : batch) {
          heldErrors.add(add.cmd, e);
        }
        batch.clear();
      }
    }
  }

  private void passOn() throws IOException {
    encodeHeld();
    try {
      for (HeldAdd add : held) {
        if (!tolerant) {
          super.processAdd(add.cmd);
          continue;
        }
        try {
          super.processAdd(add.cmd);
        } catch (IOException | RuntimeException e) {
          heldErrors.add(add.cmd, e);
        }
      }
    } finally {
      held.clear();
      encoded = 0;
    }
  }

  /**
   * Encodes every mapping over {@code batch}. A dense field and a multi-vector field filled from
   * the same source fields by the same dense model share one model call: one forward pass gives
   * the pooled vector and the token states.
   *
   * @throws HeldDocumentException if the model refused one document's text
   */
  private void encodeAll(List<HeldAdd> batch) {
    List<NeuralFieldMapping> mappings = factory.mappings();
    List<Pending> pending = new ArrayList<>(mappings.size());
    for (int m = 0; m < mappings.size(); m++) {
      Pending p = new Pending();
      for (HeldAdd add : batch) {
        if (add.texts[m] != null) {
          p.texts.add(add.texts[m]);
          p.targets.add(add);
        }
      }
      pending.add(p);
    }
    Set<Integer> done = new HashSet<>();
    for (int t = 0; t < mappings.size(); t++) {
      if (!(fillers.get(t) instanceof MultiVectorFieldFiller)) {
        continue;
      }
      MultiVectorFieldFiller multi = (MultiVectorFieldFiller) fillers.get(t);
      NeuralFieldMapping tokens = mappings.get(t);
      for (int d = 0; d < mappings.size(); d++) {
        NeuralFieldMapping dense = mappings.get(d);
        if (!done.contains(d)
            && dense.model.equals(tokens.model)
            && dense.sources.equals(tokens.sources)
            && multi.sharesPassWith(fillers.get(d))) {
          encodeShared(dense, (DenseFieldFiller) fillers.get(d), pending.get(d), tokens, multi, pending.get(t));
          done.add(d);
          break;
        }
      }
    }
    for (int m = 0; m < mappings.size(); m++) {
      Pending p = pending.get(m);
      if (!p.texts.isEmpty() && mappings.get(m).passages != null) {
        encodePassages(mappings.get(m), (DenseFieldFiller) fillers.get(m), p);
      } else if (!p.texts.isEmpty()) {
        NeuralFieldFiller filler = fillers.get(m);
        List<Object> values = call(mappings.get(m), p, () -> filler.encode(p.texts));
        set(mappings.get(m), p, values);
        if (filler instanceof MultiVectorFieldFiller multi) {
          setSpans(mappings.get(m), multi, p);
        }
      }
    }
  }

  /** Child document fields of a passage: its position in the document and its character span. */
  static final String PASSAGE_FIELD = "passage_i";
  static final String PASSAGE_START_FIELD = "passage_start_i";
  static final String PASSAGE_END_FIELD = "passage_end_i";

  /**
   * Splits each document's text into passages, encodes all passages of the batch in one model call
   * and adds each passage as a child document ({@code ID/p<i>}) carrying the vector, so that the
   * whole block is replaced or deleted with its parent (Solr updates a block by its {@code _root_}).
   */
  private void encodePassages(NeuralFieldMapping mapping, DenseFieldFiller filler, Pending p) {
    Pending passages = new Pending();
    List<List<PassageSplitter.Passage>> perDoc = new ArrayList<>(p.texts.size());
    for (int i = 0; i < p.texts.size(); i++) {
      HeldAdd add = p.targets.get(i);
      List<PassageSplitter.Passage> split;
      try {
        split = mapping.passages.split(p.texts.get(i), filler.encoder());
      } catch (TextRejectedException e) {
        throw new HeldDocumentException(
            add, badDocument(add.cmd, mapping, "model '" + mapping.model + "' rejected its text: " + e.getMessage()));
      }
      perDoc.add(split);
      for (PassageSplitter.Passage passage : split) {
        passages.texts.add(passage.text());
        passages.targets.add(add);
      }
    }
    List<Object> values = passages.texts.isEmpty() ? List.of() : call(mapping, passages, () -> filler.encode(passages.texts));
    String idField = req.getSchema().getUniqueKeyField().getName();
    int v = 0;
    for (int i = 0; i < perDoc.size(); i++) {
      SolrInputDocument parent = p.targets.get(i).cmd.getSolrInputDocument();
      Object id = parent.getFieldValue(idField);
      if (parent.getChildDocuments() != null) {
        // encoded again after another document of the batch was refused: replace, do not add twice
        parent.getChildDocuments().removeIf(c -> c.getFieldValue(PASSAGE_FIELD) != null && c.getField(mapping.field) != null);
      }
      List<PassageSplitter.Passage> split = perDoc.get(i);
      for (int n = 0; n < split.size(); n++, v++) {
        SolrInputDocument child = new SolrInputDocument();
        child.setField(idField, id + "/p" + n);
        child.setField(mapping.field, values.get(v));
        child.setField(PASSAGE_FIELD, n);
        child.setField(PASSAGE_START_FIELD, split.get(n).start());
        child.setField(PASSAGE_END_FIELD, split.get(n).end());
        parent.addChildDocument(child);
      }
    }
  }

  /** The documents of one mapping that need encoding, and their texts. */
  private static final class Pending {
    final List<String> texts = new ArrayList<>();
    final List<HeldAdd> targets = new ArrayList<>();
  }

  /**
   * The documents both mappings need are encoded in one call and removed from both pending lists;
   * documents that supplied one of the two fields stay pending for the other alone.
   */
  private void encodeShared(
      NeuralFieldMapping dense, DenseFieldFiller denseFiller, Pending densePending,
      NeuralFieldMapping tokens, MultiVectorFieldFiller tokensFiller, Pending tokensPending) {
    Set<HeldAdd> needTokens = Collections.newSetFromMap(new IdentityHashMap<>());
    needTokens.addAll(tokensPending.targets);
    Pending both = new Pending();
    Pending denseOnly = new Pending();
    for (int i = 0; i < densePending.targets.size(); i++) {
      HeldAdd add = densePending.targets.get(i);
      Pending into = needTokens.remove(add) ? both : denseOnly;
      into.targets.add(add);
      into.texts.add(densePending.texts.get(i));
    }
    Pending tokensOnly = new Pending();
    for (int i = 0; i < tokensPending.targets.size(); i++) {
      if (needTokens.contains(tokensPending.targets.get(i))) {
        tokensOnly.targets.add(tokensPending.targets.get(i));
        tokensOnly.texts.add(tokensPending.texts.get(i));
      }
    }
    if (!both.texts.isEmpty()) {
      List<List<Object>> values = call(dense, both, () -> tokensFiller.encodeWith(denseFiller, both.texts));
      factory.sharedModelCalls.inc();
      factory.encodedFields.inc(both.texts.size()); // the second field of each document
      set(dense, both, values.get(0));
      set(tokens, both, values.get(1));
      setSpans(tokens, tokensFiller, both);
    }
    replace(densePending, denseOnly);
    replace(tokensPending, tokensOnly);
  }

  private static void replace(Pending target, Pending with) {
    target.texts.clear();
    target.texts.addAll(with.texts);
    target.targets.clear();
    target.targets.addAll(with.targets);
  }

  private <T> T call(NeuralFieldMapping mapping, Pending p, Supplier<T> encode) {
    T values;
    try (Timer.Context ignored = factory.encodeTime.time()) {
      values = encode.get();
    } catch (TextRejectedException e) {
      HeldAdd add = p.targets.get(e.index);
      throw new HeldDocumentException(
          add, badDocument(add.cmd, mapping, "model '" + mapping.model + "' rejected its text: " + e.getMessage()));
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    }
    factory.modelCalls.inc();
    factory.encodedFields.inc(p.texts.size());
    return values;
  }

  /** A held document the model refused: the rest of its batch can still be encoded. */
  private static final class HeldDocumentException extends RuntimeException {
    final HeldAdd add;
    final SolrException error;

    HeldDocumentException(HeldAdd add, SolrException error) {
      super(error.getMessage(), null, false, false);
      this.add = add;
      this.error = error;
    }
  }

  private static void set(NeuralFieldMapping mapping, Pending p, List<Object> values) {
    for (int i = 0; i < values.size(); i++) {
      p.targets.get(i).cmd.getSolrInputDocument().setField(mapping.field, values.get(i));
    }
  }

  /** The token vectors' character spans, where the mapping keeps them. */
  private static void setSpans(NeuralFieldMapping mapping, MultiVectorFieldFiller filler, Pending p) {
    if (mapping.spans == null) {
      return;
    }
    List<Object> spans = filler.spans(p.texts);
    for (int i = 0; i < spans.size(); i++) {
      p.targets.get(i).cmd.getSolrInputDocument().setField(mapping.spans, spans.get(i));
    }
  }

  /** Values of the source fields, in configured order, joined by single spaces. */
  private static String sourceText(SolrInputDocument doc, List<String> sources) {
    return SourceText.join(sources, doc::getFieldValues).text();
  }

  /** Solr's atomic update operations: a map of only these keys updates a field. */
  private static final Set<String> ATOMIC_OPERATIONS = Set.of("add", "set", "remove", "removeregex", "inc", "add-distinct");

  /** A child document, or a map that is not an atomic update: a JSON object sent as a value. */
  private static boolean isObjectValue(Object value) {
    if (value instanceof SolrInputDocument) {
      return true;
    }
    return value instanceof Map && !ATOMIC_OPERATIONS.containsAll(((Map<?, ?>) value).keySet());
  }

  private static boolean isAtomicUpdate(SolrInputDocument doc) {
    for (SolrInputField f : doc) {
      if (f.getValue() instanceof Map) {
        return true;
      }
    }
    return false;
  }

  /**
   * An atomic update changes some fields of a stored document without sending the others, so the
   * source text is not at hand: re-encoding is impossible and the vector would go stale silently.
   */
  private static void checkAtomicUpdate(AddUpdateCommand cmd, NeuralFieldMapping mapping) {
    for (String source : mapping.sources) {
      if (cmd.getSolrInputDocument().getField(source) != null) {
        throw badDocument(
            cmd, mapping, "an atomic update changes its source field '" + source
                + "', which would leave the vector stale; send the whole document instead");
      }
    }
  }

  /**
   * Refuses a document the schema would refuse, now rather than when the held documents are passed
   * on: a bad document then fails its request before any of the request's documents is indexed. An
   * atomic update's operations on vector fields are checked the same way, since Solr applies them
   * only after reading the stored document and reports their errors as HTTP 500.
   */
  private void checkAgainstSchema(AddUpdateCommand cmd) {
    SolrInputDocument doc = cmd.getSolrInputDocument();
    IndexSchema schema = req.getSchema();
    if (!isAtomicUpdate(doc)) {
      try {
        DocumentBuilder.toDocument(doc, schema);
      } catch (SolrException e) {
        throw e.code() == ErrorCode.BAD_REQUEST.code ? e : new SolrException(ErrorCode.BAD_REQUEST, "document '" + cmd.getPrintableId() + "': " + e.getMessage(), e);
      } catch (RuntimeException e) {
        throw new SolrException(ErrorCode.BAD_REQUEST, "document '" + cmd.getPrintableId() + "': " + e.getMessage(), e);
      }
      return;
    }
    for (SolrInputField f : doc) {
      SchemaField field = schema.getFieldOrNull(f.getName());
      if (!(f.getValue() instanceof Map<?, ?> ops) || field == null || !isVectorField(field)) {
        continue;
      }
      for (Map.Entry<?, ?> op : ops.entrySet()) {
        String where = "document '" + cmd.getPrintableId() + "', field '" + f.getName() + "': atomic update '" + op.getKey() + "'";
        if (!"set".equals(op.getKey())) {
          throw new SolrException(ErrorCode.BAD_REQUEST, where + " cannot change a vector; use 'set' with the whole value");
        }
        if (op.getValue() != null) {
          try {
            field.getType().createFields(field, op.getValue());
          } catch (RuntimeException e) {
            throw new SolrException(ErrorCode.BAD_REQUEST, where + ": " + e.getMessage(), e);
          }
        }
      }
    }
  }

  private static boolean isVectorField(SchemaField field) {
    return field.getType() instanceof DenseVectorField
        || field.getType() instanceof org.neuralsolr.schema.MultiVectorField
        || field.getType() instanceof org.neuralsolr.schema.SparseVectorFieldType;
  }

  private static SolrException badDocument(AddUpdateCommand cmd, NeuralFieldMapping mapping, String why) {
    return new SolrException(
        ErrorCode.BAD_REQUEST, "document '" + cmd.getPrintableId() + "', field '" + mapping.field + "': " + why);
  }

  @Override
  public void processDelete(DeleteUpdateCommand cmd) throws IOException {
    passOn();
    super.processDelete(cmd);
  }

  @Override
  public void processCommit(CommitUpdateCommand cmd) throws IOException {
    passOn();
    super.processCommit(cmd);
  }

  @Override
  public void processMergeIndexes(MergeIndexesCommand cmd) throws IOException {
    passOn();
    super.processMergeIndexes(cmd);
  }

  @Override
  public void processRollback(RollbackUpdateCommand cmd) throws IOException {
    held.clear();
    encoded = 0;
    super.processRollback(cmd);
  }

  @Override
  public void finish() throws IOException {
    if (!failed) {
      passOn();
    }
    logDocumentsWithoutText();
    if (!tolerant) {
      super.finish();
      return;
    }
    heldErrors.finish(this::finishNext);
  }

  private void finishNext() throws IOException {
    super.finish();
  }

  /** One line per request, not per document: a bulk load of a real collection may have many. */
  private void logDocumentsWithoutText() {
    if (withoutText.isEmpty() || !log.isWarnEnabled()) {
      return;
    }
    StringBuilder line = new StringBuilder("Indexed without neural fields for want of source text:");
    for (NeuralFieldMapping mapping : factory.mappings()) {
      List<String> ids = withoutText.get(mapping.field);
      if (ids != null) {
        line.append(" field '").append(mapping.field).append("' (sources ").append(mapping.sources).append("): ")
            .append(ids.size()).append(ids.size() == 1 ? " document " : " documents ")
            .append(ids.subList(0, Math.min(ids.size(), 5)))
            .append(ids.size() > 5 ? "..." : "").append(';');
      }
    }
    log.warn(line.substring(0, line.length() - 1));
  }
}
