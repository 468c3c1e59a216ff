package org.neuralsolr.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.QuickPatchThreadsFilter;
import org.apache.solr.SolrIgnoredThreadsFilter;
import org.apache.solr.SolrTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.neuralsolr.NativeLibraryThreadsFilter;
import org.neuralsolr.example.LocalSolr;

/**
 * stories260K (a real llama2.c Llama) as a last-token embedder in a real Solr over HTTP: documents
 * go through the neural update processor into a 64-d vector field, {@code {!dense}} queries run over
 * HTTP, and both the stored vectors and the query scores equal what PyTorch computes for the same
 * texts. How the core is set up: {@link StoriesEmbedder}. The vectors have no retrieval quality;
 * only their exactness is checked.
 */
@ThreadLeakFilters(
    defaultFilters = true,
    filters = {SolrIgnoredThreadsFilter.class, QuickPatchThreadsFilter.class, NativeLibraryThreadsFilter.class})
public class Stories260kEmbedHttpTest extends SolrTestCase {
  private static final String CORE = "stories";
  private static LocalSolr solr;
  private static StoriesEmbedder stories;

  @BeforeClass
  public static void startSolr() throws Exception {
    stories = new StoriesEmbedder();
    solr = LocalSolr.start(createTempDir(), StoriesEmbedder.configsetWithModel(createTempDir()), 0);
    solr.createCore(CORE, StoriesEmbedder.properties());
    StoriesEmbedder.addFieldAndProcessor(solr.client(), CORE);
    stories.index(solr.client(), CORE);
  }

  @AfterClass
  public static void stopSolr() throws Exception {
    if (solr != null) {
      solr.close();
      solr = null;
    }
    stories = null;
  }

  public void testStoredVectorsArePyTorchsForTheSameTexts() throws Exception {
    stories.assertStoredVectors(solr.client(), CORE);
  }

  public void testDenseQueryScoresArePyTorchsDotProducts() throws Exception {
    stories.assertDenseScores(solr.client(), CORE);
  }
}
