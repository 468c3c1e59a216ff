package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.util.Utils;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.example.LocalSolr;

/**
 * The update processor's per-field {@code instruction} in a real Solr over HTTP: a decoder embedder
 * (parity fixture {@code tiny-llama-embed}, whose manifest has the document instruction {@code
 * passage}: {@code "Passage for retrieval: {text}"}, and no default) fills one field through the
 * instruction and another without it, from the same text in the same request. Each stored vector
 * is PyTorch's for the text as that field's model input reads (the instruction-templated text, or
 * the text itself), and the two differ, so an instruction left unapplied fails the test. A core
 * whose processor names an instruction the model does not have fails to load, naming the setting,
 * the name and the instructions the model has.
 *
 * <p>Set-up as a user does it: the model, the 24-d fields and the processor are added to a copy of
 * the shipped configset's files; the instruction is a core property ({@code llama.instruction},
 * default {@code passage}), so one configset serves the good core and the bad one.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class DocumentInstructionHttpTest extends SolrTestCase {
  private static final String CORE = "instructed";
  private static final String PROCESSOR = "llama-dense";
  private static final float TOLERANCE = 1e-4f;
  private static LocalSolr solr;
  private static final List<String> texts = new ArrayList<>();
  /** PyTorch's unit vectors per text: as a document alone, and inside the passage instruction. */
  private static final List<float[]> plainVectors = new ArrayList<>();
  private static final List<float[]> passageVectors = new ArrayList<>();

  @BeforeClass
  @SuppressWarnings("unchecked")
  public static void startSolr() throws Exception {
    Path file = NeuralTestHomes.parityFixtures().resolve("tiny-llama-embed").resolve("reference.json");
    Map<String, Object> reference = (Map<String, Object>) Utils.fromJSONString(Files.readString(file, StandardCharsets.UTF_8));
    for (Map<String, Object> t : (List<Map<String, Object>>) reference.get("texts")) {
      String text = (String) t.get("text");
      if (text.isEmpty()) {
        continue; // a document without text gets no vector at all
      }
      texts.add(text);
      plainVectors.add(floats(t.get("lastTokenNormalized")));
      Map<String, Object> document = (Map<String, Object>) t.get("document");
      assertEquals("passage", document.get("instruction"));
      passageVectors.add(floats(document.get("lastTokenNormalized")));
    }
    solr = LocalSolr.start(createTempDir(), configset(createTempDir()), 0);
    solr.createCore(CORE, properties(Map.of()));
    UpdateRequest update = new UpdateRequest();
    for (int i = 0; i < texts.size(); i++) {
      update.add(new SolrInputDocument("id", "d" + i, "text", texts.get(i)));
    }
    update.setParam("update.chain", "plain");
    update.setParam("processor", PROCESSOR);
    update.process(solr.client(), CORE);
    solr.client().commit(CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
    texts.clear();
    plainVectors.clear();
    passageVectors.clear();
  }

  /** The shipped configset plus the model, two 24-d fields and a processor filling both from text. */
  private static Path configset(Path dir) throws Exception {
    Path conf = dir.resolve("conf");
    Files.createDirectories(conf);
    try (var files = Files.list(NeuralTestHomes.configset())) {
      for (Path f : files.toList()) {
        Files.copy(f, conf.resolve(f.getFileName().toString()));
      }
    }
    NeuralTestHomes.addModels(conf, Map.of("llama", "tiny-llama-embed/neural-model.json"));
    Path schema = conf.resolve("managed-schema.xml");
    String fields =
        "  <fieldType name=\"knn_vector_24\" class=\"solr.DenseVectorField\" vectorDimension=\"24\" similarityFunction=\"dot_product\"/>\n"
            + "  <field name=\"instructed_vector\" type=\"knn_vector_24\" indexed=\"true\" stored=\"true\"/>\n"
            + "  <field name=\"plain_vector\" type=\"knn_vector_24\" indexed=\"true\" stored=\"true\"/>\n"
            + "</schema>";
    Files.writeString(schema, replaceOnce(Files.readString(schema, StandardCharsets.UTF_8), "</schema>", fields));
    Path solrconfig = conf.resolve("solrconfig.xml");
    String processor =
        "<updateProcessor name=\"" + PROCESSOR + "\" class=\"org.neuralsolr.update.NeuralUpdateProcessorFactory\">\n"
            + "    <lst name=\"field\"><str name=\"name\">instructed_vector</str><str name=\"model\">llama</str>"
            + "<str name=\"source\">text</str><str name=\"instruction\">${llama.instruction:passage}</str></lst>\n"
            + "    <lst name=\"field\"><str name=\"name\">plain_vector</str><str name=\"model\">llama</str><str name=\"source\">text</str></lst>\n"
            + "  </updateProcessor>\n\n  <updateProcessor name=\"neural-dense\"";
    Files.writeString(
        solrconfig, replaceOnce(Files.readString(solrconfig, StandardCharsets.UTF_8), "<updateProcessor name=\"neural-dense\"", processor));
    return conf;
  }

  private static String replaceOnce(String text, String anchor, String replacement) {
    int at = text.indexOf(anchor);
    if (at < 0 || text.indexOf(anchor, at + 1) >= 0) {
      throw new IllegalStateException("expected '" + anchor + "' once in the configset");
    }
    return text.replace(anchor, replacement);
  }

  /** bge-small (int8) stays the configset's dense model; the fixtures are the model root. */
  private static Map<String, String> properties(Map<String, String> more) {
    Map<String, String> p = new HashMap<>(more);
    p.put("neural.dense.package", "builtin:bge-small-en-v1.5-int8");
    p.put("neural.model.roots", NeuralTestHomes.parityFixtures().toString());
    return p;
  }

  public void testTheInstructedFieldHoldsTheVectorOfTheInstructionTemplatedText() throws Exception {
    QueryResponse rsp = solr.client().query(CORE, new SolrQuery("*:*").setFields("id", "instructed_vector", "plain_vector").setRows(100));
    assertEquals(texts.size(), rsp.getResults().getNumFound());
    for (SolrDocument doc : rsp.getResults()) {
      int i = Integer.parseInt(((String) doc.getFieldValue("id")).substring(1));
      String what = "document '" + texts.get(i) + "'";
      assertTrue(what + ": the instruction changes the vector", maxDifference(passageVectors.get(i), plainVectors.get(i)) > 0.05f);
      assertVector(what + " instructed_vector (instruction passage)", passageVectors.get(i), doc.getFieldValue("instructed_vector"));
      assertVector(what + " plain_vector (no instruction)", plainVectors.get(i), doc.getFieldValue("plain_vector"));
    }
  }

  public void testAnUnknownInstructionFailsTheCoreNamingIt() throws Exception {
    Exception e = expectThrows(Exception.class, () -> solr.createCore("bad", properties(Map.of("llama.instruction", "nope"))));
    String message = e.getMessage();
    assertTrue(message, message.contains("field 'instructed_vector': 'instruction': model 'llama': unknown instruction 'nope' for documents"));
    assertTrue(message, message.contains("known: passage"));
    assertFalse(solr.hasCore("bad"));
  }

  private static void assertVector(String what, float[] expected, Object stored) {
    assertNotNull(what + " is stored", stored);
    List<?> values = (List<?>) stored;
    assertEquals(what, expected.length, values.size());
    for (int d = 0; d < expected.length; d++) {
      assertEquals(what + " [" + d + "]", expected[d], ((Number) values.get(d)).floatValue(), TOLERANCE);
    }
  }

  private static float maxDifference(float[] a, float[] b) {
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  private static float[] floats(Object list) {
    List<?> values = (List<?>) list;
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) values.get(i)).floatValue();
    }
    return out;
  }
}
