package org.neuralsolr.codecs.sparse;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.LongValues;
import org.apache.lucene.util.packed.DirectMonotonicWriter;

/**
 * The forward index of one field of {@link SparsePostingsFormat}: for each document, its terms'
 * ords and frequencies in ord order. Postings answer "which documents hold this term"; scoring a
 * given document over every query term from postings means advancing every term's postings to it,
 * which decodes a whole block per term and document. Candidate generation ({@link
 * SparseCandidateScorer}) scores a few hundred documents over all query terms, so it reads their
 * vectors here instead, as SEISMIC does with its forward index.
 *
 * <p>Each term also has its postings by decreasing weight ({@code Doc (Int)^n, Freq (Int)^n}), the
 * impact-ordered list that SEISMIC and impact-ordered indexes read a prefix of: candidate
 * generation with {@link SparseApproximation#candidatePostings()} reads only each generating
 * term's heaviest postings (static pruning, chosen at query time).
 *
 * <p>A document's entry is {@code Ord (Int)^n, Freq^n} with ords ascending and Freq a Short (every
 * frequency of the field fits 16 bits, as sparse weight codes do) or an Int; n follows from the
 * next document's start, so an empty entry costs nothing but its address. Fixed widths let a
 * reader copy a document's ords in bulk and read only the frequencies of matching terms: VInts
 * decoded byte by byte made scoring a candidate slower than advancing postings to it.
 */
final class SparseForwardIndex {

  /** Block shift of the {@link DirectMonotonicWriter} of document start addresses. */
  static final int ADDRESSES_BLOCK_SHIFT = 16;

  /**
   * A term's postings by decreasing frequency (ties by doc id): {@code Doc (Int)^n, Freq
   * (Int)^n}. Frequencies are Ints here: the field's largest frequency is not known yet.
   */
  private static void writeByWeight(int[] docs, int[] freqs, int n, IndexOutput out) throws IOException {
    long[] order = new long[n];
    for (int i = 0; i < n; i++) {
      // decreasing frequency, then increasing doc: one sort of longs
      order[i] = ((long) (Integer.MAX_VALUE - freqs[i]) << 32) | docs[i];
    }
    Arrays.sort(order);
    for (long o : order) {
      out.writeInt((int) o);
    }
    for (long o : order) {
      out.writeInt(Integer.MAX_VALUE - (int) (o >>> 32));
    }
  }

  /** Postings buffered per pass while writing: bounds the writer's memory (8 bytes each). */
  static final int MAX_BUFFERED_POSTINGS = 1 << 22;

  private final IndexInput entries;
  private final RandomAccessInput data;
  private final LongValues addresses;
  private final int freqBytes;
  private final IndexInput impactLists;
  private final RandomAccessInput impacts;
  private final LongValues impactAddresses;

  /**
   * Random access by absolute position is safe from any thread; the bulk reads of a document's
   * ords and of a term's heaviest postings go through a clone of {@code entries} and {@code
   * impactLists} that each {@link Reader} (one per scorer) makes on first use.
   */
  SparseForwardIndex(
      IndexInput entries,
      LongValues addresses,
      int freqBytes,
      IndexInput impactLists,
      LongValues impactAddresses)
      throws IOException {
    this.entries = entries;
    this.data = entries.randomAccessSlice(0, entries.length());
    this.addresses = addresses;
    this.freqBytes = freqBytes;
    this.impactLists = impactLists;
    this.impacts = impactLists.randomAccessSlice(0, impactLists.length());
    this.impactAddresses = impactAddresses;
  }

  /** A reader for one thread. */
  Reader reader() {
    return new Reader(this);
  }

  /** Scores documents against sorted query ords; not thread-safe (scratch buffers, clones). */
  static final class Reader {
    private final SparseForwardIndex index;
    private final RandomAccessInput data;
    private final LongValues addresses;
    private final int freqBytes;
    private final RandomAccessInput impacts;
    private final LongValues impactAddresses;
    private IndexInput entries; // cloned on first use
    private IndexInput impactLists; // cloned on first use
    private int[] docOrds = new int[0];

    private Reader(SparseForwardIndex index) {
      this.index = index;
      this.data = index.data;
      this.addresses = index.addresses;
      this.freqBytes = index.freqBytes;
      this.impacts = index.impacts;
      this.impactAddresses = index.impactAddresses;
    }

    /** How many postings the term {@code ord} has. */
    int docFreq(int ord) {
      return (int) ((impactAddresses.get(ord + 1L) - impactAddresses.get(ord)) / (2 * Integer.BYTES));
    }

    /** Copies the term's {@code count} heaviest postings (decreasing frequency, ties by doc id). */
    void heaviest(int ord, int count, int[] docs, int[] freqs) throws IOException {
      long start = impactAddresses.get(ord);
      long freqStart = start + (long) docFreq(ord) * Integer.BYTES;
      if (impactLists == null) {
        impactLists = index.impactLists.clone();
      }
      impactLists.seek(start);
      impactLists.readInts(docs, 0, count);
      impactLists.seek(freqStart);
      impactLists.readInts(freqs, 0, count);
    }

    /** The frequency of the term's posting at {@code rank} by weight (0 is the heaviest). */
    int freqAtRank(int ord, int rank) throws IOException {
      return impacts.readInt(impactAddresses.get(ord) + (long) (docFreq(ord) + rank) * Integer.BYTES);
    }

    /**
     * Σ weights[i] · decode(freq of ords[i] in doc), over the terms whose frequency reaches
     * {@code cutoffs[i]}, summed in double in the order of {@code ords} (ascending): the order,
     * and so the float result, of exact mode's canonical score.
     *
     * @param queryOrds the bits of {@code ords}: a document's ords are tested against it, which
     *     keeps the loop free of the unpredictable branches of a merge
     */
    double dot(int doc, int[] ords, long[] queryOrds, float[] weights, int[] cutoffs)
        throws IOException {
      long start = addresses.get(doc);
      int n = (int) ((addresses.get(doc + 1L) - start) / (Integer.BYTES + freqBytes));
      long freqStart = start + (long) n * Integer.BYTES;
      int maxOrd = ords[ords.length - 1];
      // one bulk read of the document's ords: read one at a time from the random-access input
      // they took about twice as long (JFR samples of ./neural-bench sparse-bm25)
      if (entries == null) {
        entries = index.entries.clone();
      }
      docOrds = ArrayUtil.growNoCopy(docOrds, n);
      entries.seek(start);
      entries.readInts(docOrds, 0, n);
      double sum = 0;
      for (int j = 0; j < n; j++) {
        int ord = docOrds[j];
        if (ord > maxOrd) {
          break; // ascending: no query term beyond
        }
        if ((queryOrds[ord >>> 6] & (1L << ord)) != 0) {
          int q = Arrays.binarySearch(ords, ord);
          int freq =
              freqBytes == Short.BYTES
                  ? Short.toUnsignedInt(data.readShort(freqStart + (long) j * Short.BYTES))
                  : data.readInt(freqStart + (long) j * Integer.BYTES);
          if (freq >= cutoffs[q]) {
            sum += (double) weights[q] * SparseWeights.decode(freq);
          }
        }
      }
      return sum;
    }

    /** The bit set of sorted {@code ords} that {@link #dot} takes. */
    static long[] bits(int[] ords) {
      long[] bits = new long[(ords[ords.length - 1] >>> 6) + 1];
      for (int ord : ords) {
        bits[ord >>> 6] |= 1L << ord;
      }
      return bits;
    }
  }

  /**
   * Writes the forward index of a field to {@code data}: entries, then document start addresses
   * (relative to the field's first entry) with their meta in {@code meta}. Ords count the terms
   * that have at least one posting, as {@link SparsePostingsWriter} does. Memory is bounded by
   * writing documents in ranges of at most {@link #MAX_BUFFERED_POSTINGS} postings, one pass over
   * the postings per range (a single range for most segments).
   *
   * @return {freqBytes, dataStart, dataLength, addressesStart, addressesLength, impactsStart,
   *     impactsLength, impactAddressesStart, impactAddressesLength}
   */
  static long[] write(Terms terms, int maxDoc, IndexOutput data, IndexOutput meta) throws IOException {
    // pass one: postings per document, which terms have postings at all (a merged view may list
    // a term whose documents were all deleted: it gets no ord), and each term's postings by
    // weight for the impact-ordered lists
    int[] counts = new int[maxDoc];
    byte[] hasPostings = new byte[16]; // 1 for a term with postings
    int numTerms = 0;
    int maxFreq = 0;
    long impactsStart = data.getFilePointer();
    long[] impactStarts = new long[16];
    int numOrds = 0;
    int[] termDocs = new int[16];
    int[] termFreqs = new int[16];
    TermsEnum te = terms.iterator();
    PostingsEnum pe = null;
    while (te.next() != null) {
      pe = te.postings(pe, PostingsEnum.FREQS);
      int n = 0;
      for (int d = pe.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = pe.nextDoc()) {
        counts[d]++;
        termDocs = ArrayUtil.grow(termDocs, n + 1);
        termFreqs = ArrayUtil.grow(termFreqs, n + 1);
        termDocs[n] = d;
        termFreqs[n] = pe.freq();
        maxFreq = Math.max(maxFreq, termFreqs[n]);
        n++;
      }
      if (numTerms == Integer.MAX_VALUE) {
        throw new IllegalArgumentException("a forward index holds at most 2^31-1 terms a field");
      }
      hasPostings = ArrayUtil.grow(hasPostings, numTerms + 1);
      hasPostings[numTerms++] = (byte) (n > 0 ? 1 : 0);
      if (n > 0) {
        impactStarts = ArrayUtil.grow(impactStarts, numOrds + 2);
        impactStarts[numOrds++] = data.getFilePointer() - impactsStart;
        writeByWeight(termDocs, termFreqs, n, data);
      }
    }
    impactStarts = ArrayUtil.grow(impactStarts, numOrds + 1);
    impactStarts[numOrds] = data.getFilePointer() - impactsStart;
    long impactsLength = impactStarts[numOrds];
    long impactAddressesStart = data.getFilePointer();
    meta.writeVInt(numOrds);
    DirectMonotonicWriter impactWriter =
        DirectMonotonicWriter.getInstance(meta, data, numOrds + 1L, ADDRESSES_BLOCK_SHIFT);
    for (int i = 0; i <= numOrds; i++) {
      impactWriter.add(impactStarts[i]);
    }
    impactWriter.finish();
    long impactAddressesLength = data.getFilePointer() - impactAddressesStart;
    int freqBytes = maxFreq <= 0xFFFF ? Short.BYTES : Integer.BYTES;
    long dataStart = data.getFilePointer();
    long[] starts = new long[maxDoc + 1];
    int[] ords = new int[0];
    int[] freqs = new int[0];
    int[] offsets = new int[0];
    for (int lo = 0; lo < maxDoc; ) {
      // the largest range from lo whose postings fit the buffer (at least one document)
      int hi = lo;
      long total = 0;
      while (hi < maxDoc && (hi == lo || total + counts[hi] <= MAX_BUFFERED_POSTINGS)) {
        total += counts[hi++];
      }
      int n = Math.toIntExact(total);
      ords = ArrayUtil.growNoCopy(ords, n);
      freqs = ArrayUtil.growNoCopy(freqs, n);
      offsets = ArrayUtil.growNoCopy(offsets, hi - lo + 1);
      offsets[0] = 0;
      for (int d = lo; d < hi; d++) {
        offsets[d - lo + 1] = offsets[d - lo] + counts[d];
      }
      int[] fill = new int[hi - lo];
      te = terms.iterator();
      int ord = 0;
      for (int t = 0; te.next() != null; t++) {
        if (hasPostings[t] == 0) {
          continue;
        }
        pe = te.postings(pe, PostingsEnum.FREQS);
        // nextDoc only: the postings of a flush (FreqProxFields) cannot advance
        for (int d = pe.nextDoc(); d < hi; d = pe.nextDoc()) {
          if (d < lo) {
            continue;
          }
          int i = offsets[d - lo] + fill[d - lo]++;
          ords[i] = ord; // terms come in order: each document's ords ascend
          freqs[i] = pe.freq();
        }
        ord++;
      }
      for (int d = lo; d < hi; d++) {
        starts[d] = data.getFilePointer() - dataStart;
        for (int i = offsets[d - lo]; i < offsets[d - lo + 1]; i++) {
          data.writeInt(ords[i]);
        }
        for (int i = offsets[d - lo]; i < offsets[d - lo + 1]; i++) {
          if (freqBytes == Short.BYTES) {
            data.writeShort((short) freqs[i]);
          } else {
            data.writeInt(freqs[i]);
          }
        }
      }
      lo = hi;
    }
    starts[maxDoc] = data.getFilePointer() - dataStart;
    long dataLength = starts[maxDoc];
    long addressesStart = data.getFilePointer();
    DirectMonotonicWriter writer =
        DirectMonotonicWriter.getInstance(meta, data, maxDoc + 1L, ADDRESSES_BLOCK_SHIFT);
    for (long s : starts) {
      writer.add(s);
    }
    writer.finish();
    return new long[] {
      freqBytes,
      dataStart,
      dataLength,
      addressesStart,
      data.getFilePointer() - addressesStart,
      impactsStart,
      impactsLength,
      impactAddressesStart,
      impactAddressesLength
    };
  }
}
