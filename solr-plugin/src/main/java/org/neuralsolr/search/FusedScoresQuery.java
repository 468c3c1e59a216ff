package org.neuralsolr.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.neuralsolr.codecs.ScoredDocsQuery;
import org.neuralsolr.search.RankFusion.FusedHit;

/**
 * The fused list as a query: matches exactly the documents whose uniqueKey it lists, each with its
 * fused score. Keys not in the index (documents of other shards) match nothing, so on every shard
 * it yields that shard's part of the collection's fused list, and Solr's merge, paging, filtering
 * and field fetching work on it as on any query. It rewrites to a {@link ScoredDocsQuery} of the
 * documents its keys resolve to in the searcher's index.
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

  /**
   * Resolves the keys against this searcher's index, as real-time get looks up a uniqueKey, and
   * becomes those documents with their fused scores.
   */
  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    IndexReader reader = searcher.getIndexReader();
    List<ScoreDoc> found = new ArrayList<>();
    Map<Integer, FusedHit> hitOfDoc = new HashMap<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      Terms terms = leaf.reader().terms(keyField);
      if (terms == null) {
        continue;
      }
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
            found.add(new ScoreDoc(leaf.docBase + d, hits.get(i).score()));
            hitOfDoc.put(leaf.docBase + d, hits.get(i));
            break;
          }
        }
      }
    }
    return new ScoredDocsQuery(this, reader, found.toArray(new ScoreDoc[0]), "not in the fused top documents",
        (leaf, doc, score, boost) -> explainHit(hitOfDoc.get(leaf.docBase + doc), score));
  }

  /** Per sub-query: rank, raw score, normalised value, weight and contribution. */
  private Explanation explainHit(FusedHit hit, float score) {
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
    return Explanation.match(score, "fused by " + fusion.describe() + ", sum of:", parts);
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
