package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.client.solrj.request.schema.FieldTypeDefinition;
import org.apache.solr.client.solrj.request.schema.SchemaRequest;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.NeuralTestHomes;
import org.neuralsolr.schema.QuantizedDenseVectorField;

/**
 * Quantised dense vectors on 2 shards: int7 and int4 fields (Schema API, {@code copyField} from the
 * neural processor's {@code vector}) searched with {@code {!dense ... rescore=N}} return the same
 * top 10, with the same float32 scores, as a 1-shard collection holding the same documents, and as
 * the float32 field itself. Without re-scoring they need not: each segment quantises with its own
 * quantiles, so quantised scores depend on how documents fall into segments.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudQuantizedTest extends SolrCloudTestCase {
  private static final int DOCS = 40;
  private static final Map<String, String> PROPS = Map.of("neural.dense.package", "builtin:bge-small-en-v1.5");

  @BeforeClass
  public static void setupCluster() throws Exception {
    configureCluster(2).addConfig("neural", NeuralTestHomes.configset()).configure();
    create("two", 2);
    // the Schema API edits the configset in ZooKeeper: "one", created after, reads the same schema
    addQuantizedField("vector_int7", "int7");
    addQuantizedField("vector_int4", "int4");
    create("one", 1);
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    JettySolrRunner node = cluster.getJettySolrRunner(0);
    try (SolrClient http = new Http2SolrClient.Builder(node.getBaseUrl().toString()).build()) {
      for (String c : new String[] {"two", "one"}) {
        http.add(c, docs);
        http.commit(c);
      }
    }
  }

  private static void create(String name, int shards) throws Exception {
    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(name, "neural", shards, 1);
    PROPS.forEach(create::withProperty);
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection(name, shards, shards);
  }

  private static void addQuantizedField(String field, String quantization) throws Exception {
    Map<String, Object> type = new LinkedHashMap<>();
    type.put("name", field + "_type");
    type.put("class", QuantizedDenseVectorField.class.getName());
    type.put("vectorDimension", "384");
    type.put("similarityFunction", "dot_product");
    type.put("quantization", quantization);
    FieldTypeDefinition def = new FieldTypeDefinition();
    def.setAttributes(type);
    new SchemaRequest.AddFieldType(def).process(cluster.getSolrClient(), "two");
    new SchemaRequest.AddField(Map.of("name", field, "type", field + "_type")).process(cluster.getSolrClient(), "two");
    new SchemaRequest.AddCopyField("vector", List.of(field)).process(cluster.getSolrClient(), "two");
  }

  private static List<String> ids(QueryResponse rsp) {
    List<String> ids = new ArrayList<>();
    for (SolrDocument d : rsp.getResults()) {
      ids.add((String) d.getFieldValue("id"));
    }
    return ids;
  }

  private static float score(QueryResponse rsp, int rank) {
    return (Float) rsp.getResults().get(rank).getFieldValue("score");
  }

  public void testRescoredTwoShardsRankLikeOneShardAndFloat32() throws Exception {
    List<SolrInputDocument> docs = SampleDocs.first(DOCS);
    for (int i : new int[] {2, 11, 27, 38}) {
      String text = (String) docs.get(i).getFieldValue("title");
      // exhaustive float32 ranking: topK covers every document
      QueryResponse exact = cluster.getSolrClient().query("one", new SolrQuery("{!dense f=vector model=bge-small topK=" + DOCS + "}" + text).setFields("id", "score").setRows(10));
      for (String field : new String[] {"vector_int7", "vector_int4"}) {
        SolrQuery q = new SolrQuery("{!dense f=" + field + " model=bge-small topK=10 rescore=" + DOCS + "}" + text).setFields("id", "score").setRows(10);
        QueryResponse two = cluster.getSolrClient().query("two", q);
        QueryResponse one = cluster.getSolrClient().query("one", q);
        assertEquals(field + " query " + i, ids(one), ids(two));
        assertEquals(field + " query " + i, ids(exact), ids(two));
        assertEquals(10, ids(two).size());
        for (int r = 0; r < 10; r++) {
          assertEquals(score(one, r), score(two, r), 1e-6);
          assertEquals(score(exact, r), score(two, r), 1e-6);
        }
      }
    }
  }
}
