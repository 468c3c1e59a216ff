package org.neuralsolr.codecs.sparse;

import org.apache.lucene.codecs.BlockTermState;
import org.apache.lucene.index.TermState;

/** Term metadata of {@link SparsePostingsFormat}: where the postings start and the term's maxima. */
final class SparseTermState extends BlockTermState {
  /** Start of the term's postings in the {@code .nsd} file. */
  long docStartFP;

  /** The only document of a term with docFreq 1, whose postings are inlined; -1 otherwise. */
  int singletonDocID = -1;

  /** Largest frequency of the term (1 for fields without frequencies). */
  int maxFreq = 1;

  /**
   * Ordinal of the term among the field's terms with postings in this segment, in term order: the
   * term's id in the forward index ({@link SparseForwardIndex}). Only for fields with frequencies.
   */
  long ord;

  /** Smallest unsigned norm of the term's documents (1 for fields without norms). */
  long minNorm = 1L;

  @Override
  public SparseTermState clone() {
    SparseTermState other = new SparseTermState();
    other.copyFrom(this);
    return other;
  }

  @Override
  public void copyFrom(TermState other) {
    super.copyFrom(other);
    SparseTermState o = (SparseTermState) other;
    docStartFP = o.docStartFP;
    singletonDocID = o.singletonDocID;
    maxFreq = o.maxFreq;
    minNorm = o.minNorm;
    ord = o.ord;
  }

  @Override
  public String toString() {
    return super.toString()
        + " docStartFP="
        + docStartFP
        + " singletonDocID="
        + singletonDocID
        + " maxFreq="
        + maxFreq
        + " minNorm="
        + minNorm
        + " ord="
        + ord;
  }
}
