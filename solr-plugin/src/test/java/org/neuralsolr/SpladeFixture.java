package org.neuralsolr;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.common.util.Utils;
import org.neuralsolr.codecs.sparse.SparseVectorField;

/**
 * The {@code tiny-splade} parity fixture as Solr tests use it: a model root holding the package
 * (the configset's sparse model when {@code neural.sparse.package=tiny-splade}), the reference
 * texts and PyTorch's SPLADE vector of each, keyed by token strings read from the fixture's own
 * {@code tokenizer.json}. Expected scores are computed from these, never copied from a run.
 */
public final class SpladeFixture {
  public static final String PACKAGE = "tiny-splade";

  private final List<String> texts = new ArrayList<>();
  private final List<Map<String, Float>> vectors = new ArrayList<>();
  private final List<Set<String>> tokens = new ArrayList<>();

  private SpladeFixture(Path root) {
    try {
      Path dir = root.resolve(PACKAGE);
      Map<Integer, String> byId = new HashMap<>();
      @SuppressWarnings("unchecked")
      Map<String, Object> tokenizer = (Map<String, Object>) read(dir.resolve("tokenizer.json"));
      @SuppressWarnings("unchecked")
      Map<String, Object> vocab = (Map<String, Object>) ((Map<String, Object>) tokenizer.get("model")).get("vocab");
      vocab.forEach((token, id) -> byId.put(((Number) id).intValue(), token));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> records = (List<Map<String, Object>>) ((Map<String, Object>) read(dir.resolve("reference.json"))).get("texts");
      for (Map<String, Object> r : records) {
        texts.add((String) r.get("text"));
        @SuppressWarnings("unchecked")
        Set<String> pieces = new HashSet<>((List<String>) r.get("tokens"));
        pieces.removeAll(Set.of("[CLS]", "[SEP]"));
        this.tokens.add(pieces);
        Map<String, Float> v = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Object> weights = (Map<String, Object>) r.get("spladeVector");
        weights.forEach((id, w) -> v.put(byId.get(Integer.parseInt(id)), ((Number) w).floatValue()));
        vectors.add(v);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads the fixture from the directory that holds {@code tiny-splade/}. */
  public static SpladeFixture at(Path root) {
    return new SpladeFixture(root);
  }

  /** The parity directory on this module's test class path. */
  public static Path classpathRoot() {
    URL url = SpladeFixture.class.getClassLoader().getResource("parity/" + PACKAGE + "/reference.json");
    try {
      return Path.of(url.toURI()).getParent().getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Object read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return Utils.fromJSON(in);
    }
  }

  public int size() {
    return texts.size();
  }

  public String text(int i) {
    return texts.get(i);
  }

  /** PyTorch's SPLADE vector of text {@code i} (queries and documents alike: no pruning). */
  public Map<String, Float> vector(int i) {
    return vectors.get(i);
  }

  /** The word pieces of text {@code i}, without [CLS] and [SEP], as Python tokenised it. */
  public Set<String> tokens(int i) {
    return tokens.get(i);
  }

  /**
   * The score {@code {!sparse}} gives document {@code doc} for query vector {@code query}: the dot
   * product with the document's weights as the index stores them (quantised).
   */
  public static double score(Map<String, Float> query, Map<String, Float> doc) {
    double s = 0;
    for (Map.Entry<String, Float> e : query.entrySet()) {
      Float d = doc.get(e.getKey());
      if (d != null) {
        s += (double) e.getValue() * SparseVectorField.quantize(d);
      }
    }
    return s;
  }
}
