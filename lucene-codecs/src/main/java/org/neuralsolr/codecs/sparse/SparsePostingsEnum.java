package org.neuralsolr.codecs.sparse;

import static org.neuralsolr.codecs.sparse.SparsePostingsFormat.BLOCK_SIZE;
import static org.neuralsolr.codecs.sparse.SparsePostingsFormat.GROUP_SIZE;

import java.io.IOException;
import java.util.Collections;
import java.util.List;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.Impact;
import org.apache.lucene.index.Impacts;
import org.apache.lucene.index.ImpactsEnum;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.BytesRef;

/**
 * Iterates one term's postings of {@link SparsePostingsFormat}, and exposes the block, group and
 * term maxima as impacts. Used for both plain postings and impacts.
 *
 * <p>Navigation reads headers ahead of decoding: {@link #advanceShallow} moves the header cursor
 * (skipping whole groups whose last doc is below the target) without decoding, so that a query
 * can look at the next block's maximum and skip it without paying for its doc ids.
 */
final class SparsePostingsEnum extends ImpactsEnum {

  private final IndexInput startDocIn;
  private final IndexInput docIn;
  private final boolean hasFreqs;
  private final boolean hasNorms;
  private final BlockPacking packing = new BlockPacking();
  private final int[] docBuffer = new int[BLOCK_SIZE];
  private final int[] freqBuffer = new int[BLOCK_SIZE];

  // term
  private int docFreq;
  private int numFull;
  private int numGroups;
  private int singletonDocID;
  private long totalTermFreq;
  private int termMaxFreq;
  private long termMinNorm;
  private boolean needFreqs;

  // iteration
  private int doc;
  private int freq;
  private int bufferPos;
  private int bufferLength;
  private boolean decoded;

  // header cursor: curBlock is -1 before the first header, numFull in the tail
  private int curBlock;
  private long headerFP;
  private int prevBlockLastDoc;
  private int blockLastDoc;
  private int blockMaxFreq;
  private long blockMinNorm;
  private long blockPayloadFP;
  private int curGroup;
  private int groupLastDoc;
  private int groupMaxFreq;
  private long groupMinNorm;
  private long groupEndFP;

  SparsePostingsEnum(IndexInput docIn, FieldInfo fieldInfo) {
    this.startDocIn = docIn;
    this.docIn = docIn.clone();
    this.hasFreqs = SparsePostingsReader.hasFreqs(fieldInfo);
    this.hasNorms = fieldInfo.hasNorms();
  }

  boolean canReuse(IndexInput docIn, FieldInfo fieldInfo) {
    return docIn == startDocIn
        && hasFreqs == SparsePostingsReader.hasFreqs(fieldInfo)
        && hasNorms == fieldInfo.hasNorms();
  }

  SparsePostingsEnum reset(SparseTermState state, int flags, boolean impacts) {
    docFreq = state.docFreq;
    numFull = docFreq / BLOCK_SIZE;
    numGroups = numFull / GROUP_SIZE;
    singletonDocID = state.singletonDocID;
    totalTermFreq = state.totalTermFreq;
    termMaxFreq = state.maxFreq;
    termMinNorm = state.minNorm;
    needFreqs = hasFreqs && (impacts || PostingsEnum.featureRequested(flags, PostingsEnum.FREQS));
    doc = -1;
    freq = 1;
    bufferPos = 0;
    bufferLength = 0;
    decoded = false;
    curBlock = -1;
    headerFP = state.docStartFP;
    prevBlockLastDoc = -1;
    blockLastDoc = -1;
    curGroup = -1;
    return this;
  }

  @Override
  public int docID() {
    return doc;
  }

  @Override
  public int freq() {
    return needFreqs ? freq : 1;
  }

  @Override
  public int nextPosition() {
    return -1;
  }

  @Override
  public int startOffset() {
    return -1;
  }

  @Override
  public int endOffset() {
    return -1;
  }

  @Override
  public BytesRef getPayload() {
    return null;
  }

  @Override
  public long cost() {
    return docFreq;
  }

  @Override
  public int nextDoc() throws IOException {
    if (decoded && bufferPos < bufferLength) {
      doc = docBuffer[bufferPos];
      freq = freqBuffer[bufferPos];
      bufferPos++;
      return doc;
    }
    return advance(doc + 1);
  }

  @Override
  public int advance(int target) throws IOException {
    moveHeaderCursor(target);
    if (decoded == false) {
      decodeBlock();
    }
    while (bufferPos < bufferLength) {
      int d = docBuffer[bufferPos++];
      if (d >= target) {
        freq = freqBuffer[bufferPos - 1];
        return doc = d;
      }
    }
    // only the tail can run out: a full block's last doc is >= target
    return doc = NO_MORE_DOCS;
  }

  @Override
  public void advanceShallow(int target) throws IOException {
    moveHeaderCursor(target);
  }

  /** Moves the header cursor to the block that may hold {@code target}, reading no payload. */
  private void moveHeaderCursor(int target) throws IOException {
    while (curBlock < numFull && blockLastDoc < target) {
      int next = curBlock + 1;
      if (next == numFull) {
        enterTail();
        return;
      }
      if (next % GROUP_SIZE == 0 && next / GROUP_SIZE < numGroups) {
        readGroupHeader(next / GROUP_SIZE);
        if (groupLastDoc < target) {
          curBlock = next + GROUP_SIZE - 1;
          blockLastDoc = groupLastDoc;
          headerFP = groupEndFP;
          decoded = false;
          continue;
        }
      }
      readBlockHeader();
    }
  }

  private void readGroupHeader(int group) throws IOException {
    docIn.seek(headerFP);
    groupLastDoc = blockLastDoc + docIn.readVInt();
    long length = docIn.readVLong();
    groupMaxFreq = hasFreqs ? docIn.readVInt() + 1 : 1;
    groupMinNorm = hasNorms ? docIn.readZLong() : 1L;
    headerFP = docIn.getFilePointer();
    groupEndFP = headerFP + length;
    curGroup = group;
  }

  private void readBlockHeader() throws IOException {
    docIn.seek(headerFP);
    prevBlockLastDoc = blockLastDoc;
    blockLastDoc = prevBlockLastDoc + docIn.readVInt();
    int payloadLength = docIn.readVInt();
    blockMaxFreq = hasFreqs ? docIn.readVInt() + 1 : 1;
    blockMinNorm = hasNorms ? docIn.readZLong() : 1L;
    blockPayloadFP = docIn.getFilePointer();
    headerFP = blockPayloadFP + payloadLength;
    curBlock++;
    decoded = false;
  }

  private void enterTail() {
    prevBlockLastDoc = blockLastDoc;
    curBlock = numFull;
    blockLastDoc = NO_MORE_DOCS;
    blockPayloadFP = headerFP;
    blockMaxFreq = termMaxFreq;
    blockMinNorm = termMinNorm;
    decoded = false;
  }

  private void decodeBlock() throws IOException {
    if (curBlock < numFull) {
      docIn.seek(blockPayloadFP);
      int docBits = readBits();
      packing.unpack(docIn, docBits, docBuffer);
      int prev = prevBlockLastDoc;
      for (int i = 0; i < BLOCK_SIZE; i++) {
        prev += docBuffer[i] + 1;
        docBuffer[i] = prev;
      }
      if (needFreqs) {
        int base = docIn.readVInt() + 1;
        int freqBits = readBits();
        packing.unpack(docIn, freqBits, freqBuffer);
        for (int i = 0; i < BLOCK_SIZE; i++) {
          freqBuffer[i] += base;
        }
      }
      bufferLength = BLOCK_SIZE;
    } else if (singletonDocID != -1) {
      docBuffer[0] = singletonDocID;
      freqBuffer[0] = hasFreqs ? (int) totalTermFreq : 1;
      bufferLength = 1;
    } else {
      int count = docFreq - numFull * BLOCK_SIZE;
      docIn.seek(blockPayloadFP);
      int prev = prevBlockLastDoc;
      for (int i = 0; i < count; i++) {
        prev += docIn.readVInt() + 1;
        docBuffer[i] = prev;
      }
      if (needFreqs) {
        for (int i = 0; i < count; i++) {
          freqBuffer[i] = docIn.readVInt() + 1;
        }
      }
      bufferLength = count;
    }
    bufferPos = 0;
    decoded = true;
  }

  private int readBits() throws IOException {
    int bits = docIn.readByte() & 0xFF;
    if (bits > 32) {
      throw new CorruptIndexException("invalid bits per value " + bits, docIn);
    }
    return bits;
  }

  // ---- impacts

  private final Impact blockImpact = new Impact(1, 1L);
  private final Impact groupImpact = new Impact(1, 1L);
  private final Impact termImpact = new Impact(1, 1L);
  private final List<Impact> blockImpacts = Collections.singletonList(blockImpact);
  private final List<Impact> groupImpacts = Collections.singletonList(groupImpact);
  private final List<Impact> termImpacts = Collections.singletonList(termImpact);
  private final int[] levelUpTo = new int[3];
  private final List<?>[] levelImpacts = new List<?>[3];
  private int numLevels;

  private final Impacts impacts =
      new Impacts() {
        @Override
        public int numLevels() {
          return numLevels;
        }

        @Override
        public int getDocIdUpTo(int level) {
          return levelUpTo[level];
        }

        @Override
        @SuppressWarnings("unchecked")
        public List<Impact> getImpacts(int level) {
          return (List<Impact>) levelImpacts[level];
        }
      };

  @Override
  public Impacts getImpacts() {
    numLevels = 0;
    if (curBlock >= 0 && curBlock < numFull) {
      blockImpact.freq = blockMaxFreq;
      blockImpact.norm = blockMinNorm;
      levelUpTo[numLevels] = blockLastDoc;
      levelImpacts[numLevels++] = blockImpacts;
      if (curBlock < numGroups * GROUP_SIZE) {
        assert curGroup == curBlock / GROUP_SIZE;
        groupImpact.freq = groupMaxFreq;
        groupImpact.norm = groupMinNorm;
        levelUpTo[numLevels] = groupLastDoc;
        levelImpacts[numLevels++] = groupImpacts;
      }
    }
    termImpact.freq = termMaxFreq;
    termImpact.norm = termMinNorm;
    levelUpTo[numLevels] = NO_MORE_DOCS;
    levelImpacts[numLevels++] = termImpacts;
    return impacts;
  }
}
