package org.neuralsolr.update;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.function.Supplier;

import com.codahale.metrics.Timer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.SolrInputField;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.update.AddUpdateCommand;
import org.apache.solr.update.CommitUpdateCommand;
import org.apache.solr.update.DeleteUpdateCommand;
import org.apache.solr.update.MergeIndexesCommand;
import org.apache.solr.update.RollbackUpdateCommand;
import org.apache.solr.update.processor.UpdateRequestProcessor;
import org.neuralsolr.model.ModelOverloadedException;
import org.neuralsolr.model.TextRejectedException;

/**
 * One update request's pass through {@link NeuralUpdateProcessorFactory}. Adds are held (as clones:
 * the XML and javabin loaders reuse one command object) and encoded every {@code batchSize}
 * documents; they are passed on when the request ends, when {@code maxBufferedDocs} are held, or
 * before any other command (delete, commit...) so that order is kept. A failure drops everything
 * held: Solr calls {@link #finish()} even after an error, and it must not index the rest.
 */
final class NeuralUpdateProcessor extends UpdateRequestProcessor {
  private final SolrQueryRequest req;
  private final NeuralUpdateProcessorFactory factory;
  private final List<AddUpdateCommand> held = new ArrayList<>();
  /** {@code held[0..encoded)} are validated and encoded. */
  private int encoded;
  private boolean failed;

  NeuralUpdateProcessor(SolrQueryRequest req, UpdateRequestProcessor next, NeuralUpdateProcessorFactory factory) {
    super(next);
    this.req = req;
    this.factory = factory;
  }

  @Override
  public void processAdd(AddUpdateCommand cmd) throws IOException {
    held.add((AddUpdateCommand) cmd.clone());
    factory.documents.inc();
    if (held.size() - encoded >= factory.batchSize()) {
      encodeHeld();
    }
    if (held.size() >= factory.maxBufferedDocs()) {
      passOn();
    }
  }

  private void encodeHeld() {
    if (encoded == held.size()) {
      return;
    }
    try {
      encodeAll(held.subList(encoded, held.size()));
      encoded = held.size();
    } catch (RuntimeException e) {
      failed = true;
      held.clear();
      encoded = 0;
      factory.rejectedRequests.inc();
      throw e;
    }
  }

  private void passOn() throws IOException {
    encodeHeld();
    try {
      for (AddUpdateCommand cmd : held) {
        super.processAdd(cmd);
      }
    } finally {
      held.clear();
      encoded = 0;
    }
  }

  /**
   * Encodes every mapping over {@code commands}. A dense field and a multi-vector field filled from
   * the same source fields by the same dense model share one model call: one forward pass gives
   * the pooled vector and the token states.
   */
  private void encodeAll(List<AddUpdateCommand> commands) {
    List<NeuralFieldMapping> mappings = factory.mappings();
    Map<NeuralFieldMapping, NeuralFieldFiller> fillers = new LinkedHashMap<>();
    Map<NeuralFieldMapping, Pending> pending = new LinkedHashMap<>();
    for (NeuralFieldMapping mapping : mappings) {
      NeuralFieldFiller filler = factory.filler(req.getSchema(), mapping);
      fillers.put(mapping, filler);
      pending.put(mapping, collect(mapping, filler, commands));
    }
    Set<NeuralFieldMapping> done = new HashSet<>();
    for (NeuralFieldMapping tokens : mappings) {
      if (!(fillers.get(tokens) instanceof MultiVectorFieldFiller)) {
        continue;
      }
      MultiVectorFieldFiller multi = (MultiVectorFieldFiller) fillers.get(tokens);
      for (NeuralFieldMapping dense : mappings) {
        if (!done.contains(dense)
            && dense.model.equals(tokens.model)
            && dense.sources.equals(tokens.sources)
            && multi.sharesPassWith(fillers.get(dense))) {
          encodeShared(dense, (DenseFieldFiller) fillers.get(dense), pending.get(dense), tokens, multi, pending.get(tokens));
          done.add(dense);
          break;
        }
      }
    }
    for (NeuralFieldMapping mapping : mappings) {
      Pending p = pending.get(mapping);
      if (!p.texts.isEmpty()) {
        List<Object> values = call(mapping, p, () -> fillers.get(mapping).encode(p.texts));
        set(mapping, p, values);
      }
    }
  }

  /** The documents of one mapping that need encoding, and their texts. */
  private static final class Pending {
    final List<String> texts = new ArrayList<>();
    final List<AddUpdateCommand> targets = new ArrayList<>();
  }

  private Pending collect(NeuralFieldMapping mapping, NeuralFieldFiller filler, List<AddUpdateCommand> commands) {
    Pending p = new Pending();
    for (AddUpdateCommand cmd : commands) {
      SolrInputDocument doc = cmd.getSolrInputDocument();
      SolrInputField supplied = doc.getField(mapping.field);
      if (supplied != null && isObjectValue(supplied.getValue())) {
        // a JSON object the client meant as the field's value, not an atomic update of it
        try {
          filler.checkSupplied(supplied.getValue());
        } catch (IllegalArgumentException e) {
          throw badDocument(cmd, mapping, e.getMessage());
        }
      }
      if (isAtomicUpdate(doc)) {
        checkAtomicUpdate(cmd, mapping);
        continue;
      }
      if (supplied != null) {
        Object value;
        try {
          value = filler.checkSupplied(supplied.getValue());
        } catch (IllegalArgumentException e) {
          throw badDocument(cmd, mapping, e.getMessage());
        }
        if (value != supplied.getValue()) {
          doc.setField(mapping.field, value);
        }
        factory.clientVectors.inc();
        continue;
      }
      String text = sourceText(doc, mapping.sources);
      if (text.isBlank()) {
        if (mapping.required) {
          throw badDocument(cmd, mapping, "none of its source fields " + mapping.sources + " has text to encode");
        }
        continue;
      }
      p.texts.add(text);
      p.targets.add(cmd);
    }
    return p;
  }

  /**
   * The documents both mappings need are encoded in one call and removed from both pending lists;
   * documents that supplied one of the two fields stay pending for the other alone.
   */
  private void encodeShared(
      NeuralFieldMapping dense, DenseFieldFiller denseFiller, Pending densePending,
      NeuralFieldMapping tokens, MultiVectorFieldFiller tokensFiller, Pending tokensPending) {
    Set<AddUpdateCommand> needTokens = Collections.newSetFromMap(new IdentityHashMap<>());
    needTokens.addAll(tokensPending.targets);
    Pending both = new Pending();
    Pending denseOnly = new Pending();
    for (int i = 0; i < densePending.targets.size(); i++) {
      AddUpdateCommand cmd = densePending.targets.get(i);
      Pending into = needTokens.remove(cmd) ? both : denseOnly;
      into.targets.add(cmd);
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
      throw badDocument(p.targets.get(e.index), mapping, "model '" + mapping.model + "' rejected its text: " + e.getMessage());
    } catch (ModelOverloadedException e) {
      throw new SolrException(ErrorCode.SERVICE_UNAVAILABLE, e.getMessage(), e);
    }
    factory.modelCalls.inc();
    factory.encodedFields.inc(p.texts.size());
    return values;
  }

  private static void set(NeuralFieldMapping mapping, Pending p, List<Object> values) {
    for (int i = 0; i < values.size(); i++) {
      p.targets.get(i).getSolrInputDocument().setField(mapping.field, values.get(i));
    }
  }

  /** Values of the source fields, in configured order, joined by single spaces. */
  private static String sourceText(SolrInputDocument doc, List<String> sources) {
    StringBuilder text = new StringBuilder();
    for (String source : sources) {
      Collection<Object> values = doc.getFieldValues(source);
      if (values == null) {
        continue;
      }
      for (Object v : values) {
        String s = v == null ? "" : v.toString().strip();
        if (!s.isEmpty()) {
          if (text.length() > 0) {
            text.append(' ');
          }
          text.append(s);
        }
      }
    }
    return text.toString();
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
    super.finish();
  }
}
