package org.neuralsolr.model;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;

/** A loaded model with its batch scheduler and counters: what a node shares among its cores. */
public final class ServedModel implements Closeable {
  final LoadedModel model;
  final BatchScheduler scheduler;
  final ModelStats stats = new ModelStats();
  private final DenseEncoder denseEncoder;
  private final SparseEncoder sparseEncoder;

  /**
   * Takes ownership of {@code model}: it is closed if the kind's encoder refuses it.
   *
   * @throws ModelPackageException if the model's output does not fit its kind
   */
  ServedModel(LoadedModel model, SchedulerConfig config) {
    this.model = model;
    this.scheduler = new BatchScheduler(model.manifest.name, model::forward, config, stats);
    try {
      this.denseEncoder = model.manifest.kind == ModelKind.DENSE ? new DenseEncoder(this) : null;
      this.sparseEncoder = model.manifest.kind == ModelKind.SPARSE ? new SparseEncoder(this) : null;
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public ModelManifest manifest() {
    return model.manifest;
  }

  public ModelStats stats() {
    return stats;
  }

  public int queueDepth() {
    return scheduler.queueDepth();
  }

  public String engine() {
    return model.engineName + " " + model.engineVersion;
  }

  public String device() {
    return model.device.deviceName();
  }

  public String deviceReason() {
    return model.device.reason;
  }

  public long loadMillis() {
    return model.loadMillis();
  }

  public String location() {
    return model.modelPackage.location;
  }

  /** The dense encoder of a {@code dense} model, or null for other kinds. */
  public DenseEncoder denseEncoder() {
    return denseEncoder;
  }

  /** The sparse encoder of a {@code sparse} model, or null for other kinds. */
  public SparseEncoder sparseEncoder() {
    return sparseEncoder;
  }

  /**
   * Tokenises {@code texts} (prefixed for {@code role}) in the calling thread.
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   */
  List<TokenizedText> tokenize(List<String> texts, TextRole role) {
    String prefix = role.prefix(model.manifest);
    List<TokenizedText> out = new ArrayList<>(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      try {
        out.add(model.tokenize(prefix.isEmpty() ? texts.get(i) : prefix + texts.get(i)));
      } catch (IllegalArgumentException e) {
        throw new TextRejectedException(i, e.getMessage(), e);
      }
    }
    return out;
  }

  @Override
  public void close() {
    scheduler.close();
    model.close();
  }
}
