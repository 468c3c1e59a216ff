package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.impl.Http2SolrClient;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.cloud.SolrCloudTestCase;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;

/**
 * stories260K as a last-token embedder in a 2-shard SolrCloud collection: documents sent to one
 * node are encoded there and spread over both shards; stored vectors and {@code {!dense}} scores
 * merged across the shards equal PyTorch's for the same texts. Set-up: {@link StoriesEmbedder}
 * (Schema and Config API changes reach every replica through ZooKeeper).
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class SolrCloudStories260kEmbedTest extends SolrCloudTestCase {
  private static final String COLLECTION = "stories";
  private static StoriesEmbedder stories;

  @BeforeClass
  public static void setupCluster() throws Exception {
    stories = new StoriesEmbedder();
    configureCluster(2).addConfig("neural", StoriesEmbedder.configsetWithModel(createTempDir())).configure();
    CollectionAdminRequest.Create create = CollectionAdminRequest.createCollection(COLLECTION, "neural", 2, 1);
    StoriesEmbedder.properties().forEach(create::withProperty);
    create.process(cluster.getSolrClient());
    cluster.waitForActiveCollection(COLLECTION, 2, 2);
    StoriesEmbedder.addFieldAndProcessor(cluster.getSolrClient(), COLLECTION);
    try (SolrClient http = new Http2SolrClient.Builder(cluster.getJettySolrRunner(0).getBaseUrl().toString()).build()) {
      stories.index(http, COLLECTION);
    }
  }

  @AfterClass
  public static void clear() {
    stories = null;
  }

  public void testBothShardsHoldDocuments() throws Exception {
    long total = 0;
    for (Slice slice : cluster.getSolrClient().getClusterState().getCollection(COLLECTION).getSlices()) {
      Replica leader = slice.getLeader();
      try (SolrClient c = new Http2SolrClient.Builder(leader.getBaseUrl()).build()) {
        long n = c.query(leader.getCoreName(), new SolrQuery("*:*").setRows(0).set("distrib", "false")).getResults().getNumFound();
        assertTrue(slice.getName() + " is empty", n > 0);
        total += n;
      }
    }
    assertEquals(stories.texts.size(), total);
  }

  public void testStoredVectorsArePyTorchsForTheSameTexts() throws Exception {
    stories.assertStoredVectors(cluster.getSolrClient(), COLLECTION);
  }

  public void testDenseQueryScoresAcrossShardsArePyTorchsDotProducts() throws Exception {
    stories.assertDenseScores(cluster.getSolrClient(), COLLECTION);
  }
}
