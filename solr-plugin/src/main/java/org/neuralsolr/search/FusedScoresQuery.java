package org.neuralsolr.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.neuralsolr.search.RankFusion.FusedHit;

/**
 * The fused list as a query: matches exactly the documents whose uniqueKey it lists, each with its
 * fused score. Keys not in the index (documents of other shards) match nothing, so on every shard
 * it yields that shard's part of the collection's fused list, and Solr's merge, paging, filtering
 * and field fetching work on it as on any query.
 */
final class FusedScoresQuery extends Query {
  private final String keyField;
  private final BytesRef[] keys; // indexed form of each hit's uniqueKey
  private final List<FusedHit> hits;
  private final List<String> queryNames;
  private final RankFusion fusion;

  FusedScoresQuery(String keyField, BytesRef[] keys, List<FusedHit> hits, List<String> queryNames, RankFusion fusion) {
    this.keyField = keyField;
    this.keys = keys;
    this.hits = hits;
    this.queryNames = queryNames;
    this.fusion = fusion;
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) throws IOException {
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    int[][] docs = new int[leaves.size()][]; // per leaf: matching docs, increasing
    int[][] hitOfDoc = new int[leaves.size()][]; // per leaf: index in hits of each matching doc
    for (LeafReaderContext leaf : leaves) {
      resolve(leaf, docs, hitOfDoc);
    }
    float maxScore = 0;
    for (FusedHit h : hits) {
      maxScore = Math.max(maxScore, h.score());
    }
    final float max = maxScore * boost;
    return new Weight(this) {
      @Override
      public Explanation explain(LeafReaderContext context, int doc) {
        int found = Arrays.binarySearch(docs[context.ord], doc);
        if (found < 0) {
          return Explanation.noMatch("not in the fused top documents");
        }
        return explainHit(hits.get(hitOfDoc[context.ord][found]), boost);
      }

      @Override
      public Scorer scorer(LeafReaderContext context) {
        int[] leafDocs = docs[context.ord];
        if (leafDocs.length == 0) {
          return null;
        }
        int[] leafHits = hitOfDoc[context.ord];
        return new Scorer(this) {
          int index = -1;

          private int doc() {
            return index < 0 ? -1 : index >= leafDocs.length ? DocIdSetIterator.NO_MORE_DOCS : leafDocs[index];
          }

          @Override
          public int docID() {
            return doc();
          }

          @Override
          public DocIdSetIterator iterator() {
            return new DocIdSetIterator() {
              @Override
              public int docID() {
                return doc();
              }

              @Override
              public int nextDoc() {
                index = index < 0 ? 0 : Math.min(index + 1, leafDocs.length);
                return doc();
              }

              @Override
              public int advance(int target) throws IOException {
                return slowAdvance(target);
              }

              @Override
              public long cost() {
                return leafDocs.length;
              }
            };
          }

          @Override
          public float getMaxScore(int upTo) {
            return max;
          }

          @Override
          public float score() {
            return hits.get(leafHits[index]).score() * boost;
          }
        };
      }

      @Override
      public boolean isCacheable(LeafReaderContext ctx) {
        return false;
      }
    };
  }

  /** Finds each key's live document in {@code leaf}, as real-time get looks up a uniqueKey. */
  private void resolve(LeafReaderContext leaf, int[][] docs, int[][] hitOfDoc) throws IOException {
    List<long[]> found = new ArrayList<>();
    Terms terms = leaf.reader().terms(keyField);
    if (terms != null) {
      TermsEnum te = terms.iterator();
      Bits live = leaf.reader().getLiveDocs();
      PostingsEnum postings = null;
      for (int i = 0; i < keys.length; i++) {
        if (!te.seekExact(keys[i])) {
          continue;
        }
        postings = te.postings(postings, PostingsEnum.NONE);
        for (int d = postings.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = postings.nextDoc()) {
          if (live == null || live.get(d)) {
            found.add(new long[] {d, i});
            break;
          }
        }
      }
    }
    found.sort((a, b) -> Long.compare(a[0], b[0]));
    docs[leaf.ord] = new int[found.size()];
    hitOfDoc[leaf.ord] = new int[found.size()];
    for (int j = 0; j < found.size(); j++) {
      docs[leaf.ord][j] = (int) found.get(j)[0];
      hitOfDoc[leaf.ord][j] = (int) found.get(j)[1];
    }
  }

  /** Per sub-query: rank, raw score, normalised value, weight and contribution. */
  private Explanation explainHit(FusedHit hit, float boost) {
    List<Explanation> parts = new ArrayList<>();
    boolean rrf = fusion.method() == RankFusion.Method.RRF;
    for (int q = 0; q < queryNames.size(); q++) {
      String name = queryNames.get(q);
      if (hit.ranks()[q] == 0) {
        parts.add(Explanation.match(0f, name + ": not in its top documents, contribution 0"));
        continue;
      }
      parts.add(
          Explanation.match(
              (float) hit.contributions()[q],
              name + ": rank " + hit.ranks()[q] + ", score " + hit.rawScores()[q]
                  + (rrf ? ", 1/(k+rank) " : ", normalised ") + hit.normalised()[q]
                  + ", weight " + fusion.weight(q) + ", contribution " + hit.contributions()[q]));
    }
    return Explanation.match(hit.score() * boost, "fused by " + fusion.describe() + ", sum of:", parts);
  }

  @Override
  public String toString(String field) {
    return "FusedScores(" + fusion.describe() + " of " + queryNames + ", " + hits.size() + " documents)";
  }

  @Override
  public void visit(QueryVisitor visitor) {
    visitor.visitLeaf(this);
  }

  @Override
  public boolean equals(Object other) {
    if (!sameClassAs(other)) {
      return false;
    }
    FusedScoresQuery o = (FusedScoresQuery) other;
    return keyField.equals(o.keyField)
        && Arrays.equals(keys, o.keys)
        && queryNames.equals(o.queryNames)
        && fusion.describe().equals(o.fusion.describe())
        && sameScores(o);
  }

  private boolean sameScores(FusedScoresQuery o) {
    for (int i = 0; i < hits.size(); i++) {
      if (Float.compare(hits.get(i).score(), o.hits.get(i).score()) != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return Objects.hash(classHash(), keyField, Arrays.hashCode(keys), queryNames, fusion.describe());
  }
}
