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
  private final TokenStatesEncoder tokenStatesEncoder;
  private final CrossEncoder crossEncoder;
  private final QueryLikelihood queryLikelihood;
  private final MultiVectorEncoder multiVectorEncoder;

  /**
   * Takes ownership of {@code model}: closes it when closed, or at once if this fails.
   *
   * @throws ModelPackageException if the model's output does not fit its kind
   */
  ServedModel(LoadedModel model, SchedulerConfig config) {
    this.model = model;
    this.scheduler = new BatchScheduler(model.manifest.name, model::forward, config, stats);
    ModelKind kind = model.manifest.kind;
    try {
      this.denseEncoder = kind == ModelKind.DENSE ? new DenseEncoder(this) : null;
      this.sparseEncoder = kind == ModelKind.SPARSE ? new SparseEncoder(this) : null;
      this.tokenStatesEncoder = kind == ModelKind.DENSE ? new TokenStatesEncoder(this) : null;
      this.crossEncoder = kind == ModelKind.CROSS_ENCODER ? new CrossEncoder(this) : null;
      this.queryLikelihood = kind == ModelKind.CAUSAL_LM ? new QueryLikelihood(this) : null;
      this.multiVectorEncoder =
          kind == ModelKind.MULTIVECTOR || kind == ModelKind.DENSE ? new MultiVectorEncoder(this) : null;
    } catch (RuntimeException e) {
      scheduler.close();
      model.close();
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
   * The token states of a {@code dense} model (its token-level output before pooling), or null for
   * other kinds.
   */
  public TokenStatesEncoder tokenStatesEncoder() {
    return tokenStatesEncoder;
  }

  /**
   * Token vectors for late interaction (MaxSim): ColBERT conventions for a {@code multivector}
   * model, the token states of a {@code dense} model; null for other kinds.
   */
  public MultiVectorEncoder multiVectorEncoder() {
    return multiVectorEncoder;
  }

  /** The pair scorer of a {@code cross-encoder} model, or null for other kinds. */
  public CrossEncoder crossEncoder() {
    return crossEncoder;
  }

  /** The query-likelihood scorer of a {@code causal-lm} model, or null for other kinds. */
  public QueryLikelihood queryLikelihood() {
    return queryLikelihood;
  }

  /**
   * Tokenises {@code texts} (prefixed for {@code role}) in the calling thread.
   *
   * @throws TextRejectedException naming the first text the tokenizer refused
   */
  List<TokenizedText> tokenize(List<String> texts, TextRole role) {
    return tokenize(texts, role, null);
  }

  /**
   * Tokenises {@code texts} as the named instruction template of {@code role} (null: the role's
   * default template or prefix) shapes them, in the calling thread.
   *
   * @throws UnknownInstructionException if the manifest has no such template for the role
   * @throws TextRejectedException naming the first text the tokenizer refused
   */
  List<TokenizedText> tokenize(List<String> texts, TextRole role, String instruction) {
    Instructions instructions = model.manifest.instructions;
    instructions.check(role, instruction);
    List<TokenizedText> out = new ArrayList<>(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      String shaped = instructions.apply(role, instruction, texts.get(i));
      try {
        out.add(model.tokenize(shaped));
      } catch (IllegalArgumentException e) {
        throw new TextRejectedException(i, e.getMessage(), e);
      }
    }
    return out;
  }

  /** Tokenises {@code texts}, each prefixed with {@code prefix}, in the calling thread. */
  List<TokenizedText> tokenize(List<String> texts, String prefix) {
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
