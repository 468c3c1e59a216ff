package org.neuralsolr.search;

import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.queries.function.FunctionScoreQuery;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.DoubleValues;
import org.apache.lucene.search.DoubleValuesSource;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.ScoreMode;
import org.apache.lucene.search.join.ToParentBlockJoinQuery;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.join.BlockJoinParentQParser;

/**
 * {@code {!dense ... passages=maxp|firstp|mean}}: documents whose text the update processor cut into
 * passages (child documents carrying the vector, see docs/long-documents.md) ranked by their best
 * passage, their first passage, or the mean over all their passages. Every passage of every
 * document is scored exactly (the vector similarity Lucene's kNN uses) and joined to its parent
 * with Lucene's {@link ToParentBlockJoinQuery}, so the mean is over all passages, not the ones an
 * approximate search happened to visit, and two shards rank as one.
 */
final class PassageScoring {
  /** The child documents' passage position, written by the update processor. */
  static final String PASSAGE_FIELD = "passage_i";
  static final String PASSAGE_START_FIELD = "passage_start_i";
  static final String PASSAGE_END_FIELD = "passage_end_i";

  enum Mode {
    MAXP(ScoreMode.Max),
    FIRSTP(ScoreMode.Max),
    MEAN(ScoreMode.Avg);

    final ScoreMode join;

    Mode(ScoreMode join) {
      this.join = join;
    }

    /** The mode named {@code value}, or null if there is none. */
    static Mode parse(String value) {
      for (Mode m : values()) {
        if (m.name().toLowerCase(Locale.ROOT).equals(value)) {
          return m;
        }
      }
      return null;
    }
  }

  private PassageScoring() {}

  /** Parents: every document that is not a passage (Solr's block join needs all of them). */
  static Query parents() {
    return new BooleanQuery.Builder()
        .add(new MatchAllDocsQuery(), Occur.MUST)
        .add(new FieldExistsQuery(PASSAGE_FIELD), Occur.MUST_NOT)
        .build();
  }

  static Query query(SolrQueryRequest req, String field, float[] vector, Mode mode) {
    Query children = new FunctionScoreQuery(new FieldExistsQuery(field), new Similarity(field, vector));
    if (mode == Mode.FIRSTP) {
      children = new BooleanQuery.Builder()
          .add(children, Occur.MUST)
          .add(IntPoint.newExactQuery(PASSAGE_FIELD, 0), Occur.FILTER)
          .build();
    }
    BitSetProducer parents = BlockJoinParentQParser.getCachedBitSetProducer(req, parents());
    return new ToParentBlockJoinQuery(children, parents, mode.join);
  }

  /** The field's vector similarity to the query vector, as Lucene's kNN scores it. */
  private static final class Similarity extends DoubleValuesSource {
    private final String field;
    private final float[] vector;

    Similarity(String field, float[] vector) {
      this.field = field;
      this.vector = vector;
    }

    @Override
    public DoubleValues getValues(LeafReaderContext ctx, DoubleValues scores) throws IOException {
      if (ctx.reader().getFloatVectorValues(field) == null) {
        return DoubleValues.EMPTY;
      }
      return DoubleValuesSource.similarityToQueryVector(ctx, vector, field);
    }

    /**
     * Names the passage, so that a document's explanation (the block join explains by its best
     * child) says which passage won: its position and character span in the source text.
     */
    @Override
    public Explanation explain(LeafReaderContext ctx, int docId, Explanation scoreExplanation) throws IOException {
      DoubleValues values = getValues(ctx, null);
      if (!values.advanceExact(docId)) {
        return Explanation.noMatch("passage without a vector in '" + field + "'");
      }
      return Explanation.match(
          (float) values.doubleValue(),
          "passage " + value(ctx, PASSAGE_FIELD, docId) + " [" + value(ctx, PASSAGE_START_FIELD, docId) + ", "
              + value(ctx, PASSAGE_END_FIELD, docId) + "): similarity of '" + field + "' to the query vector");
    }

    private static String value(LeafReaderContext ctx, String name, int docId) throws IOException {
      NumericDocValues dv = ctx.reader().getNumericDocValues(name);
      return dv != null && dv.advanceExact(docId) ? Long.toString(dv.longValue()) : "?";
    }

    @Override
    public boolean needsScores() {
      return false;
    }

    @Override
    public DoubleValuesSource rewrite(IndexSearcher searcher) {
      return this;
    }

    @Override
    public boolean isCacheable(LeafReaderContext ctx) {
      return true;
    }

    @Override
    public int hashCode() {
      return 31 * field.hashCode() + Arrays.hashCode(vector);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Similarity s && s.field.equals(field) && Arrays.equals(s.vector, vector);
    }

    @Override
    public String toString() {
      return "similarity(" + field + ", query vector)";
    }
  }
}
