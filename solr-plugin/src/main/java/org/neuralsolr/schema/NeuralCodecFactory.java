package org.neuralsolr.schema;

import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldDocValuesFormat;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.core.SchemaCodecFactory;
import org.apache.solr.core.SolrCore;
import org.apache.solr.schema.SchemaField;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;

/**
 * Solr's {@code SchemaCodecFactory} plus one ColBERT codebook per {@link MultiVectorField} field
 * per core:
 *
 * <pre>{@code
 * <codecFactory class="org.neuralsolr.schema.NeuralCodecFactory"/>
 * }</pre>
 *
 * <p>With the plain {@code SchemaCodecFactory} the {@code NeuralMultiVector} format is looked up
 * by name and has no memory between segments, so every flushed segment trains (and stores) its own
 * centroids and merged segments carry all of them. Here the first flush or merge of a field that
 * trains a codebook (see the field type's {@code trainingThreshold}) shares it: every later flush
 * of the core encodes with it, so merges copy codes verbatim and a merged segment stores one
 * codebook. After a restart the first flush seeds the core's codebooks
 * from the last commit (see {@link CoreCodebooks}), so a restarted core keeps its codebook.
 *
 * <p>Everything else (postings, other doc values, vectors, {@code compressionMode}) is exactly
 * {@code SchemaCodecFactory}'s, and the index it writes is readable by the plain factory: the
 * multi-vector format is recorded by its SPI name as before and reading never needs the codebook
 * source.
 */
public class NeuralCodecFactory extends SchemaCodecFactory {
  private final CoreCodebooks codebooks = new CoreCodebooks();
  private volatile SolrCore core;
  private Codec codec;

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    this.core = core;
    Codec schemaCodec = super.getCodec();
    if (!(schemaCodec instanceof Lucene912Codec)) {
      // per-field routing below calls Lucene912Codec's per-field hooks; a Solr upgrade must revisit it
      throw new SolrException(
          ErrorCode.SERVER_ERROR, "NeuralCodecFactory expects SchemaCodecFactory to build a Lucene912Codec, got " + schemaCodec.getClass().getName());
    }
    codec = new SharedCodebookCodec((Lucene912Codec) schemaCodec);
  }

  @Override
  public Codec getCodec() {
    assert core != null : "inform must be called first";
    return codec;
  }

  /**
   * Solr's codec with the multi-vector fields routed to a format instance that shares this core's
   * codebooks. It keeps the schema codec's name: segments written by it are plain Lucene912 segments
   * whose per-field formats are recorded by name.
   */
  private final class SharedCodebookCodec extends FilterCodec {
    private final DocValuesFormat multiVector = new SeedingMultiVectorFormat();
    private final DocValuesFormat perField;

    SharedCodebookCodec(Lucene912Codec schemaCodec) {
      super(schemaCodec.getName(), schemaCodec);
      this.perField =
          new PerFieldDocValuesFormat() {
            @Override
            public DocValuesFormat getDocValuesFormatForField(String field) {
              // the latest schema, as SchemaCodecFactory does: fields added through the schema API count
              SchemaField f = core.getLatestSchema().getFieldOrNull(field);
              if (f != null && f.getType() instanceof MultiVectorField) {
                return multiVector;
              }
              return schemaCodec.getDocValuesFormatForField(field);
            }
          };
    }

    @Override
    public DocValuesFormat docValuesFormat() {
      return perField;
    }
  }

  /**
   * The NeuralMultiVector format with the core's codebook source; seeds the source from the index
   * the segment is written into before the core's first multi-vector segment is written.
   */
  private final class SeedingMultiVectorFormat extends DocValuesFormat {
    private final DocValuesFormat format = new MultiVectorDocValuesFormat(codebooks);

    SeedingMultiVectorFormat() {
      // same name as the SPI format: segments record it and are read back by the SPI instance
      super(MultiVectorDocValuesFormat.NAME);
    }

    @Override
    public DocValuesConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
      codebooks.seedOnce(state.directory);
      return format.fieldsConsumer(state);
    }

    @Override
    public DocValuesProducer fieldsProducer(SegmentReadState state) throws IOException {
      return format.fieldsProducer(state);
    }
  }
}
