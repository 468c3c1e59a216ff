package org.neuralsolr.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Query likelihood under a {@code causal-lm} model (LLM-QL): how probable the query is as the
 * continuation of a prompt built from the document, {@code Σ_i log P(q_i | prompt(document), q_<i)},
 * or that sum over the number of query tokens.
 *
 * <p>The input is assembled from separately tokenised pieces (no special tokens): the optional
 * {@code bosToken}, the template text before the document, the document, the template text
 * before the query, and the query. When it is longer than {@code maxLength}, document tokens are
 * cut from the right; the query is never cut (a query that cannot fit is refused). Inputs are
 * right-padded by {@link LoadedModel}, so every text's positions are 0, 1, … as the model's
 * position ids assume. The reducer turns each text's logits [tokens, vocabulary] into one number
 * on the scheduler's worker, so a batch's logits are never kept.
 */
public final class QueryLikelihood {
  /** How the query tokens' log-probabilities are combined. */
  public enum Aggregation {
    /** The log-likelihood of the whole query. */
    SUM,
    /** Length-normalised: the mean log-probability per query token. */
    MEAN;

    public static Aggregation parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("aggregation must be sum or mean, got '" + value + "'");
      }
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final ServedModel served;
  private final PromptTemplate template;
  private final Aggregation aggregation;
  /** The bosToken's id, or an empty array when the manifest names none. */
  private final long[] bos;

  QueryLikelihood(ServedModel served) {
    this.served = served;
    ModelManifest m = served.model.manifest;
    Map<String, Object> section = m.section("causalLm");
    for (String key : section.keySet()) {
      if (!key.equals("promptTemplate") && !key.equals("aggregation") && !key.equals("bosToken")) {
        throw sectionError("unknown key '" + key + "'");
      }
    }
    try {
      Object t = section.get("promptTemplate");
      if (!(t instanceof String)) {
        throw new IllegalArgumentException("'promptTemplate' is required (a string with {document} and {query})");
      }
      this.template = PromptTemplate.parse((String) t);
      this.aggregation = Aggregation.parse(String.valueOf(section.getOrDefault("aggregation", "sum")));
      Object bosToken = section.get("bosToken");
      if (bosToken == null) {
        bos = new long[0];
      } else {
        bos = served.model.tokenIdsWithoutSpecialTokens(String.valueOf(bosToken));
        if (bos.length != 1) {
          throw new IllegalArgumentException("'bosToken' " + bosToken + " is " + bos.length + " tokens for the tokenizer, not one");
        }
      }
      checkTemplate(template);
    } catch (IllegalArgumentException e) {
      throw sectionError(e.getMessage());
    }
  }

  private ModelPackageException sectionError(String message) {
    return new ModelPackageException("manifest of '" + served.model.manifest.name + "', section causalLm: " + message);
  }

  /** The manifest's template. */
  public PromptTemplate template() {
    return template;
  }

  /** The manifest's aggregation. */
  public Aggregation aggregation() {
    return aggregation;
  }

  /**
   * Checks that {@code t} can score a query: something must precede the query even for an empty
   * document, since the first query token is predicted from the position before it.
   *
   * @throws IllegalArgumentException if it cannot
   */
  public void checkTemplate(PromptTemplate t) {
    if (bos.length == 0 && t.beforeDocument.isEmpty() && served.model.tokenIdsWithoutSpecialTokens(t.beforeQuery).length == 0) {
      throw new IllegalArgumentException(
          "the prompt template '" + t + "' has no text outside {document} before {query}, and the model has no bosToken: an empty document would leave the first query token unpredicted");
    }
  }

  /**
   * Checks that {@code query} produces tokens and fits the model with template {@code t}, before
   * any document is read.
   *
   * @throws IllegalArgumentException saying why it does not
   */
  public void checkQuery(String query, PromptTemplate t) {
    new Prompt(query, t);
  }

  /**
   * The query likelihood of {@code query} for every document, in order.
   *
   * @throws IllegalArgumentException if the query produces no tokens or cannot fit the model with
   *     the template
   * @throws ModelOverloadedException if the model's queue stays full
   */
  public double[] score(String query, List<String> documents, PromptTemplate t, Aggregation agg) {
    Prompt prompt = new Prompt(query, t);
    List<TokenizedText> inputs = new ArrayList<>(documents.size());
    for (String document : documents) {
      long[] ids = prompt.inputIds(document);
      inputs.add(new TokenizedText(ids, new long[ids.length]));
    }
    int queryLength = prompt.queryIds.length;
    List<Double> sums = served.scheduler.run(inputs, (out, row, text) -> queryLogProbability(out, row, text, queryLength));
    double[] scores = new double[sums.size()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = agg == Aggregation.MEAN ? sums.get(i) / queryLength : sums.get(i);
    }
    return scores;
  }

  /** The pieces of one query's prompts that do not depend on the document, tokenised once. */
  final class Prompt {
    final long[] before;
    final long[] between;
    final long[] queryIds;
    final int documentBudget;

    Prompt(String query, PromptTemplate t) {
      LoadedModel model = served.model;
      before = concat(bos, model.tokenIdsWithoutSpecialTokens(t.beforeDocument));
      between = model.tokenIdsWithoutSpecialTokens(t.beforeQuery);
      queryIds = model.tokenIdsWithoutSpecialTokens(query);
      if (queryIds.length == 0) {
        throw new IllegalArgumentException("the query text produced no tokens");
      }
      int fixed = before.length + between.length + queryIds.length;
      documentBudget = model.manifest.maxLength - fixed;
      if (documentBudget < 0) {
        throw new IllegalArgumentException(
            "the query is " + (queryIds.length >= model.manifest.maxLength ? "at least " : "") + queryIds.length
                + " tokens; with the prompt template it needs " + (queryIds.length >= model.manifest.maxLength ? "more than " : "") + fixed
                + " of model '" + model.manifest.name + "''s maxLength " + model.manifest.maxLength);
      }
    }

    /** before + document (cut from the right to fit) + between + query. */
    long[] inputIds(String document) {
      long[] documentIds = served.model.tokenIdsWithoutSpecialTokens(document);
      int kept = Math.min(documentIds.length, documentBudget);
      long[] ids = new long[before.length + kept + between.length + queryIds.length];
      if (ids.length == queryIds.length) {
        // checkTemplate refuses templates that could get here
        throw new IllegalArgumentException("nothing precedes the query in the prompt");
      }
      int at = 0;
      System.arraycopy(before, 0, ids, at, before.length);
      at += before.length;
      System.arraycopy(documentIds, 0, ids, at, kept);
      at += kept;
      System.arraycopy(between, 0, ids, at, between.length);
      at += between.length;
      System.arraycopy(queryIds, 0, ids, at, queryIds.length);
      return ids;
    }
  }

  /**
   * Σ log softmax(logits[p − 1])[ids[p]] over the last {@code queryLength} positions p, in double
   * from the float logits.
   */
  static double queryLogProbability(BatchOutput out, int row, TokenizedText text, int queryLength) {
    int vocabulary = out.width;
    int first = text.length() - queryLength;
    double sum = 0;
    for (int p = first; p < text.length(); p++) {
      int base = out.offset(row) + (p - 1) * vocabulary;
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocabulary; v++) {
        max = Math.max(max, out.data[base + v]);
      }
      double exp = 0;
      for (int v = 0; v < vocabulary; v++) {
        exp += Math.exp(out.data[base + v] - max);
      }
      long token = text.ids[p];
      if (token < 0 || token >= vocabulary) {
        throw new IllegalStateException("token id " + token + " is outside the model's vocabulary of " + vocabulary);
      }
      sum += out.data[base + (int) token] - max - Math.log(exp);
    }
    return sum;
  }

  private static long[] concat(long[] a, long[] b) {
    long[] c = new long[a.length + b.length];
    System.arraycopy(a, 0, c, 0, a.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
