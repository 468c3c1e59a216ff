package org.neuralsolr.schema;

import org.apache.lucene.index.MergePolicy;
import org.apache.solr.core.SolrResourceLoader;
import org.apache.solr.index.MergePolicyFactoryArgs;
import org.apache.solr.index.WrapperMergePolicyFactory;
import org.apache.solr.schema.IndexSchema;
import org.neuralsolr.codecs.multivector.TrainingMergePolicy;

/**
 * Solr's merge policy, wrapped so that an optimize trains every {@link MultiVectorField} field:
 *
 * <pre>{@code
 * <indexConfig>
 *   <mergePolicyFactory class="org.neuralsolr.schema.TrainingMergePolicyFactory">
 *     <str name="wrapped.prefix">tiered</str>
 *     <str name="tiered.class">org.apache.solr.index.TieredMergePolicyFactory</str>
 *     <int name="tiered.segmentsPerTier">10</int>
 *   </mergePolicyFactory>
 * </indexConfig>
 * }</pre>
 *
 * <p>A multi-vector field keeps its token vectors as float32 until one flush or merge holds {@code
 * trainingThreshold} of them, or until an optimize. Solr's merge policies leave a lone segment
 * without deletions alone at an optimize, so a bulk load below the threshold that ends in one
 * segment would stay float32; {@link TrainingMergePolicy} has the optimize rewrite such segments
 * (and only those), which trains the codebook and encodes them. Every other merge decision is the
 * wrapped policy's.
 *
 * <p>The wrapped policy is given, as for Solr's other wrapping factories, by {@code
 * wrapped.prefix} naming a prefix whose {@code <prefix>.class} is a {@code MergePolicyFactory}
 * (its full class name: wrapped factories are looked up without Solr's {@code solr.} shorthand) and
 * whose {@code <prefix>.*} arguments configure it; without {@code wrapped.prefix} Solr's default
 * ({@code TieredMergePolicy} with its defaults) is wrapped.
 */
public class TrainingMergePolicyFactory extends WrapperMergePolicyFactory {

  public TrainingMergePolicyFactory(
      SolrResourceLoader resourceLoader, MergePolicyFactoryArgs args, IndexSchema schema) {
    super(resourceLoader, args, schema);
  }

  @Override
  protected MergePolicy getMergePolicyInstance(MergePolicy wrappedMP) {
    return new TrainingMergePolicy(wrappedMP);
  }
}
