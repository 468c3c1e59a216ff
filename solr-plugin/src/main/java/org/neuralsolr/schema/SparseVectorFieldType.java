package org.neuralsolr.schema;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.SortField;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.response.TextResponseWriter;
import org.apache.solr.schema.FieldType;
import org.apache.solr.schema.IndexSchema;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.uninverting.UninvertingReader;
import org.neuralsolr.codecs.sparse.SparsePostingsFormat;
import org.neuralsolr.codecs.sparse.SparseQuery;
import org.neuralsolr.codecs.sparse.SparseVectorField;

/**
 * A learned sparse vector per document (term &rarr; non-negative weight), indexed through Lucene's
 * {@link SparseVectorField} (weights quantised to 16-bit codes, relative error at most 2<sup>-9</sup>)
 * in the {@code NeuralSparse} postings format, which Solr's {@code SchemaCodecFactory} picks by
 * name; another {@code postingsFormat} may be named (any format with frequencies works, without
 * the block maxima that speed queries up).
 *
 * <pre>{@code
 * <fieldType name="sparse_vector" class="org.neuralsolr.schema.SparseVectorFieldType" maxTerms="2048"/>
 * <field name="sparse" type="sparse_vector" indexed="true" stored="false"/>
 * }</pre>
 *
 * <p>{@code forwardIndex="true"} (default false) also stores the format's forward index (each
 * term's postings by weight, each document's terms; about 14 bytes a posting on top of about 4),
 * which {@code {!sparse}}'s candidate generation ({@code candidateTerms}) reads to score candidates
 * without opening every query term's postings. Without it candidate generation reads postings.
 *
 * <p>Values are strings in a form of {@link SparseWeightsFormat} (a JSON object text or {@code
 * term:weight} pairs). A vector that is empty, has more than {@code maxTerms} terms (default and
 * largest {@value SparseVectorField#HARD_MAX_TERMS}), or a negative, NaN or infinite weight is
 * refused with HTTP 400; Solr's document builder adds the document id and field name. A stored
 * field keeps the vector as compact JSON. Fields are single-valued, without docValues, and cannot
 * be sorted on. {@code FIELD:term} queries score a document by its weight of {@code term}; {@code
 * {!sparse}} ranks by the dot product with a query vector.
 */
public class SparseVectorFieldType extends FieldType {
  static final String MAX_TERMS = "maxTerms";
  static final String FORWARD_INDEX = "forwardIndex";

  private int maxTerms = SparseVectorField.DEFAULT_MAX_TERMS;
  private org.apache.lucene.document.FieldType luceneType = SparseVectorField.TYPE_WITHOUT_FORWARD_INDEX;

  @Override
  protected void init(IndexSchema schema, Map<String, String> args) {
    super.init(schema, args);
    String max = args.remove(MAX_TERMS);
    if (max != null) {
      try {
        maxTerms = Integer.parseInt(max.trim());
      } catch (NumberFormatException e) {
        maxTerms = -1;
      }
      if (maxTerms < 1 || maxTerms > SparseVectorField.HARD_MAX_TERMS) {
        throw new SolrException(
            ErrorCode.SERVER_ERROR,
            "field type '" + typeName + "': " + MAX_TERMS + " must be an integer in [1, " + SparseVectorField.HARD_MAX_TERMS + "], got '" + max + "'");
      }
    }
    String forward = args.remove(FORWARD_INDEX);
    if (forward != null) {
      if (!forward.trim().equals("true") && !forward.trim().equals("false")) {
        throw new SolrException(ErrorCode.SERVER_ERROR, "field type '" + typeName + "': " + FORWARD_INDEX + " must be true or false, got '" + forward + "'");
      }
      luceneType = Boolean.parseBoolean(forward.trim()) ? SparseVectorField.TYPE : SparseVectorField.TYPE_WITHOUT_FORWARD_INDEX;
    }
    properties |= OMIT_NORMS | OMIT_POSITIONS;
    properties &= ~(MULTIVALUED | UNINVERTIBLE);
  }

  public int maxTerms() {
    return maxTerms;
  }

  @Override
  public String getPostingsFormat() {
    return postingsFormat != null ? postingsFormat : SparsePostingsFormat.NAME;
  }

  @Override
  public void checkSchemaField(SchemaField field) {
    super.checkSchemaField(field);
    if (field.multiValued()) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "sparse vector field '" + field.getName() + "' cannot be multiValued");
    }
    if (!field.indexed()) {
      throw new SolrException(ErrorCode.SERVER_ERROR, "sparse vector field '" + field.getName() + "' must be indexed");
    }
  }

  /**
   * Reads and checks a value the way indexing does.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  public SparseVectorField toLuceneField(String fieldName, Object value) {
    return new SparseVectorField(fieldName, SparseWeightsFormat.parse(value), maxTerms, luceneType);
  }

  @Override
  public List<IndexableField> createFields(SchemaField field, Object value) {
    SparseVectorField indexed;
    Map<String, Float> weights;
    try {
      weights = SparseWeightsFormat.parse(value);
      indexed = new SparseVectorField(field.getName(), weights, maxTerms, luceneType);
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, e.getMessage(), e);
    }
    List<IndexableField> fields = new ArrayList<>(2);
    fields.add(indexed);
    if (field.stored()) {
      fields.add(new StoredField(field.getName(), SparseWeightsFormat.toJson(weights)));
    }
    return fields;
  }

  @Override
  public IndexableField createField(SchemaField field, Object value) {
    return createFields(field, value).get(0);
  }

  @Override
  public Query getFieldQuery(QParser parser, SchemaField field, String externalVal) {
    try {
      return new SparseQuery(field.getName(), Map.of(externalVal, 1f));
    } catch (IllegalArgumentException e) {
      throw new SolrException(ErrorCode.BAD_REQUEST, e.getMessage(), e);
    }
  }

  @Override
  public SortField getSortField(SchemaField field, boolean top) {
    throw new SolrException(ErrorCode.BAD_REQUEST, "cannot sort on sparse vector field '" + field.getName() + "'");
  }

  @Override
  public UninvertingReader.Type getUninversionType(SchemaField sf) {
    return null;
  }

  @Override
  public void write(TextResponseWriter writer, String name, IndexableField f) throws IOException {
    writer.writeStr(name, f.stringValue(), true);
  }
}
