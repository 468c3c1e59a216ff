package org.neuralsolr.model;

import java.io.ByteArrayInputStream;
import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The query side of a doc-only ("inference-free") sparse model: a JSON object token &rarr; weight
 * (OpenSearch ships it as {@code idf.json} beside its doc-only models), read from the package,
 * checksummed and under the model roots like the network. Tokens the table leaves out weigh 0.
 */
final class QueryTokenWeights {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  private QueryTokenWeights() {}

  /**
   * The weight of every vocabulary id.
   *
   * @throws ModelPackageException if the file is missing, has another checksum, is not a JSON
   *     object of finite non-negative numbers, or names no token of the vocabulary at all
   */
  @SuppressWarnings("unchecked")
  static float[] read(ModelPackage pkg, TokenVocabulary vocabulary) {
    SparseSettings s = pkg.manifest.sparse;
    byte[] bytes = pkg.readVerified(s.queryTokenWeightsFile, s.queryTokenWeightsSha256, "sparse.queryTokenWeightsFile");
    String where = "model '" + pkg.manifest.name + "': sparse.queryTokenWeightsFile " + s.queryTokenWeightsFile;
    Object parsed;
    try {
      parsed = Utils.fromJSON(new ByteArrayInputStream(bytes));
    } catch (Exception e) {
      throw new ModelPackageException(where + " is not JSON: " + e.getMessage(), e);
    }
    if (!(parsed instanceof Map)) {
      throw new ModelPackageException(where + " must be a JSON object token -> weight");
    }
    float[] weights = new float[vocabulary.size()];
    List<String> unknown = new ArrayList<>();
    int known = 0;
    for (Map.Entry<String, Object> e : ((Map<String, Object>) parsed).entrySet()) {
      Object value = e.getValue();
      double w = value instanceof Number ? ((Number) value).doubleValue() : Double.NaN;
      if (!(w >= 0) || Double.isInfinite(w) || (float) w == Float.POSITIVE_INFINITY) {
        throw new ModelPackageException(where + ": token '" + e.getKey() + "' has weight " + value + "; weights must be finite and non-negative");
      }
      int id = vocabulary.id(e.getKey());
      if (id < 0) {
        unknown.add(e.getKey());
        continue;
      }
      weights[id] = (float) w;
      known++;
    }
    if (known == 0) {
      throw new ModelPackageException(where + " names no token of the tokenizer's vocabulary");
    }
    if (!unknown.isEmpty()) {
      log.warn("{}: {} entries are not tokens of the vocabulary and are ignored, e.g. {}", where, unknown.size(),
          unknown.subList(0, Math.min(5, unknown.size())));
    }
    return weights;
  }
}
