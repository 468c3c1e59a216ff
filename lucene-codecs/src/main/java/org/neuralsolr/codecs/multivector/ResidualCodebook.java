package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.StringHelper;
import org.neuralsolr.codecs.VectorKernels;

/**
 * What a token vector is compressed against (ColBERTv2 residual compression): {@code k} centroids
 * and, for {@code nbits > 0}, the cut-offs and weights of {@code 2^nbits} residual buckets.
 *
 * <p>A token vector {@code v} is stored as the id {@code c} of its nearest centroid plus, for each
 * dimension {@code j}, the bucket of its residual {@code r_j = v_j − centroid_c[j]}: the number of
 * cut-offs strictly below {@code r_j}. It decodes to {@code centroid_c[j] + weight[bucket]}. The
 * cut-offs are the {@code i/2^nbits} quantiles ({@code i = 1 … 2^nbits−1}) of the residual values
 * of a training sample, pooled over all dimensions; a bucket's weight is the median of the residual
 * values falling into it (the {@code (i+½)/2^nbits} quantile). With {@code nbits == 0} vectors are
 * stored as exact float32 and the centroids only serve candidate generation.
 *
 * <p>A codebook is immutable and carries a random 128-bit id. Segments store codebooks by value
 * and documents refer to them, so merging segments copies codes and unions codebooks by id: a
 * vector is quantised once, when it is first encoded (at its flush, or from exact float32 at the
 * merge that trains the field's codebook), and never again.
 */
public final class ResidualCodebook {

  /** Length of {@link #id()}. */
  public static final int ID_LENGTH = StringHelper.ID_LENGTH;

  /** Residual values kept to estimate the quantiles. */
  static final int QUANTILE_SAMPLE = 1 << 20;

  /** Bits per dimension of the residual codes this format supports (0: exact float32). */
  static boolean isValidNbits(int nbits) {
    return nbits == 0 || nbits == 1 || nbits == 2 || nbits == 4;
  }

  private final byte[] id;
  private final int dim;
  private final int nbits;
  private final int k;
  private final float[] centroids; // row-major k × dim
  private final float[] cutoffs; // 2^nbits − 1
  private final float[] weights; // 2^nbits
  private final float[] byteTable; // decoded residuals of each byte value: [256][8 / nbits]
  private volatile CentroidIndex index;

  ResidualCodebook(byte[] id, int dim, int nbits, float[] centroids, float[] cutoffs, float[] weights) {
    if (id.length != ID_LENGTH) {
      throw new IllegalArgumentException("codebook id must have " + ID_LENGTH + " bytes");
    }
    if (isValidNbits(nbits) == false) {
      throw new IllegalArgumentException("nbits must be 0, 1, 2 or 4, got " + nbits);
    }
    if (dim <= 0 || centroids.length == 0 || centroids.length % dim != 0) {
      throw new IllegalArgumentException("bad centroids for dimension " + dim);
    }
    int buckets = nbits == 0 ? 0 : 1 << nbits;
    if (cutoffs.length != Math.max(0, buckets - 1) || weights.length != buckets) {
      throw new IllegalArgumentException("nbits=" + nbits + " needs " + buckets + " buckets");
    }
    this.id = id.clone();
    this.dim = dim;
    this.nbits = nbits;
    this.k = centroids.length / dim;
    this.centroids = toBfloat16Precision(centroids);
    this.cutoffs = cutoffs;
    this.weights = weights;
    this.byteTable = nbits == 0 ? null : byteTable(nbits, weights);
  }

  /**
   * Trains a codebook on a sample of token vectors.
   *
   * @param vectors sample of token vectors, all of the same dimension
   * @param nbits bits per dimension of the residual codes: 1, 2, 4, or 0 for exact float32
   * @param numCentroids number of centroids; fewer are trained if there are fewer vectors
   * @param seed seed of the k-means randomness
   */
  public static ResidualCodebook train(float[][] vectors, int nbits, int numCentroids, long seed) {
    if (vectors.length == 0) {
      throw new IllegalArgumentException("no vectors to train on");
    }
    int dim = vectors[0].length;
    float[] flat = new float[vectors.length * dim];
    for (int i = 0; i < vectors.length; i++) {
      if (vectors[i].length != dim) {
        throw new IllegalArgumentException("vectors must all have dimension " + dim);
      }
      System.arraycopy(vectors[i], 0, flat, i * dim, dim);
    }
    return train(flat, vectors.length, dim, nbits, numCentroids, new Random(seed));
  }

  /** Trains on the {@code n} row-major vectors of {@code sample}. */
  static ResidualCodebook train(
      float[] sample, int n, int dim, int nbits, int numCentroids, Random random) {
    if (isValidNbits(nbits) == false) {
      throw new IllegalArgumentException("nbits must be 0, 1, 2 or 4, got " + nbits);
    }
    if (numCentroids <= 0) {
      throw new IllegalArgumentException("numCentroids must be positive, got " + numCentroids);
    }
    // stored as bfloat16: residuals are taken against the centroids as they will be read back
    float[] centroids =
        toBfloat16Precision(KMeans.train(sample, n, dim, numCentroids, KMeans.DEFAULT_ITERATIONS, random));
    int k = centroids.length / dim;
    float[] cutoffs = new float[0];
    float[] weights = new float[0];
    if (nbits > 0) {
      // residuals of a subsample against their nearest centroid give the bucket boundaries
      int m = Math.max(1, Math.min(n, QUANTILE_SAMPLE / dim));
      float[] held = KMeans.subsample(sample, n, dim, m, random);
      int[] nearest = new int[m];
      new CentroidIndex(centroids, k, dim, random.nextLong()).assign(held, 0, m, nearest);
      float[] residuals = new float[m * dim];
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < dim; j++) {
          residuals[i * dim + j] = held[i * dim + j] - centroids[nearest[i] * dim + j];
        }
      }
      Arrays.sort(residuals);
      int buckets = 1 << nbits;
      cutoffs = new float[buckets - 1];
      weights = new float[buckets];
      for (int i = 1; i < buckets; i++) {
        cutoffs[i - 1] = quantile(residuals, (double) i / buckets);
      }
      for (int i = 0; i < buckets; i++) {
        weights[i] = quantile(residuals, (i + 0.5) / buckets);
      }
    }
    return new ResidualCodebook(StringHelper.randomId(), dim, nbits, centroids, cutoffs, weights);
  }

  private static float quantile(float[] sorted, double q) {
    // linear interpolation between closest ranks, as numpy / torch.quantile do by default
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return (float) (sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]));
  }

  private static float[] byteTable(int nbits, float[] weights) {
    int per = 8 / nbits;
    int mask = (1 << nbits) - 1;
    float[] table = new float[256 * per];
    for (int b = 0; b < 256; b++) {
      for (int i = 0; i < per; i++) {
        table[b * per + i] = weights[(b >>> (i * nbits)) & mask];
      }
    }
    return table;
  }

  /** Random 128-bit identity; equal ids mean equal codebooks. */
  public byte[] id() {
    return id.clone();
  }

  /** Dimension of the vectors. */
  public int dimension() {
    return dim;
  }

  /** Bits per dimension of residual codes, 0 for exact float32. */
  public int nbits() {
    return nbits;
  }

  /** Number of centroids. */
  public int numCentroids() {
    return k;
  }

  /** Copies centroid {@code c} into {@code dest[0, dimension)}. */
  public void centroid(int c, float[] dest) {
    System.arraycopy(centroids, c * dim, dest, 0, dim);
  }

  /** The bucket cut-offs ({@code 2^nbits − 1} values, empty for nbits 0). */
  public float[] cutoffs() {
    return cutoffs.clone();
  }

  /** The bucket weights ({@code 2^nbits} values, empty for nbits 0). */
  public float[] weights() {
    return weights.clone();
  }

  /** Bytes of one token's residual code. */
  int residualBytes() {
    return residualBytes(dim, nbits);
  }

  static int residualBytes(int dim, int nbits) {
    return nbits == 0 ? dim * Float.BYTES : (dim * nbits + 7) / 8;
  }

  /** Bytes needed to store a centroid id of a codebook with {@code k} centroids: 1 to 4. */
  static int centroidIdBytes(int k) {
    int bits = 32 - Integer.numberOfLeadingZeros(Math.max(1, k - 1));
    return Math.max(1, (bits + 7) / 8);
  }

  boolean sameIdAs(ResidualCodebook other) {
    return Arrays.equals(id, other.id);
  }

  boolean sameContentAs(ResidualCodebook other) {
    return sameIdAs(other)
        && dim == other.dim
        && nbits == other.nbits
        && Arrays.equals(centroids, other.centroids)
        && Arrays.equals(cutoffs, other.cutoffs)
        && Arrays.equals(weights, other.weights);
  }

  /** Row-major centroids; callers must not modify them. */
  float[] centroidsArray() {
    return centroids;
  }

  /** Dot products and nearest-centroid search over this codebook's centroids, built once. */
  CentroidIndex index() {
    CentroidIndex i = index;
    if (i == null) {
      synchronized (this) {
        i = index;
        if (i == null) {
          // a fixed seed: the same vectors get the same codes whatever the (random) codebook id
          index = i = new CentroidIndex(centroids, k, dim, 0x5EEDL);
        }
      }
    }
    return i;
  }

  /**
   * Writes the residual code of {@code v[vOffset, vOffset+dim)} against centroid {@code c} to
   * {@code out[outOffset, outOffset+residualBytes())}. Dimension {@code j}'s bucket occupies bits
   * {@code [j·nbits, (j+1)·nbits)} of the code, least significant bits of each byte first; with
   * nbits 0 the code is the vector itself as little-endian float32.
   */
  void encode(float[] v, int vOffset, int c, byte[] out, int outOffset) {
    if (nbits == 0) {
      for (int j = 0; j < dim; j++) {
        BitUtil.VH_LE_FLOAT.set(out, outOffset + j * Float.BYTES, v[vOffset + j]);
      }
      return;
    }
    int len = residualBytes();
    Arrays.fill(out, outOffset, outOffset + len, (byte) 0);
    int co = c * dim;
    for (int j = 0; j < dim; j++) {
      float r = v[vOffset + j] - centroids[co + j];
      int bucket = 0;
      for (float cut : cutoffs) {
        if (r > cut) {
          bucket++;
        }
      }
      int bit = j * nbits;
      out[outOffset + (bit >>> 3)] |= (byte) (bucket << (bit & 7));
    }
  }

  /** Decodes a residual code written by {@link #encode} into {@code out[outOffset, +dim)}. */
  void decode(int c, byte[] code, int codeOffset, float[] out, int outOffset) {
    if (nbits == 0) {
      for (int j = 0; j < dim; j++) {
        out[outOffset + j] = (float) BitUtil.VH_LE_FLOAT.get(code, codeOffset + j * Float.BYTES);
      }
      return;
    }
    // the centroid first (a bulk copy), then the bucket weights added in place, one loop per nbits
    // unrolled by the constant number of dimensions per byte: measured 1.5-2x faster than one fused
    // loop, and several times faster than a loop over a variable count; c + w is the same float
    // 2 bits: whole vector registers of dimensions on the Vector API first (j0 of them)
    int j0 =
        nbits == 2
            ? VectorKernels.decodeTwoBit(centroids, c * dim, weights, code, codeOffset, out, outOffset, dim)
            : 0;
    System.arraycopy(centroids, c * dim + j0, out, outOffset + j0, dim - j0);
    int per = 8 / nbits;
    int full = dim / per;
    switch (nbits) {
      case 1 -> {
        for (int b = 0, o = outOffset; b < full; b++, o += 8) {
          int t = (code[codeOffset + b] & 0xFF) << 3;
          out[o] += byteTable[t];
          out[o + 1] += byteTable[t + 1];
          out[o + 2] += byteTable[t + 2];
          out[o + 3] += byteTable[t + 3];
          out[o + 4] += byteTable[t + 4];
          out[o + 5] += byteTable[t + 5];
          out[o + 6] += byteTable[t + 6];
          out[o + 7] += byteTable[t + 7];
        }
      }
      case 2 -> {
        for (int b = j0 / 4, o = outOffset + j0; b < full; b++, o += 4) {
          int t = (code[codeOffset + b] & 0xFF) << 2;
          out[o] += byteTable[t];
          out[o + 1] += byteTable[t + 1];
          out[o + 2] += byteTable[t + 2];
          out[o + 3] += byteTable[t + 3];
        }
      }
      default -> {
        for (int b = 0, o = outOffset; b < full; b++, o += 2) {
          int t = (code[codeOffset + b] & 0xFF) << 1;
          out[o] += byteTable[t];
          out[o + 1] += byteTable[t + 1];
        }
      }
    }
    int j = full * per;
    if (j < dim) { // the last, partly used byte
      int t = (code[codeOffset + full] & 0xFF) * per;
      for (int i = 0; j < dim; i++, j++) {
        out[outOffset + j] += byteTable[t + i];
      }
    }
  }

  /**
   * Decodes only the residual part of a code written by {@link #encode} with {@code nbits > 0}:
   * {@code out[outOffset + j] = weight[bucket_j]}, so that {@link #decode} is {@code centroid +}
   * this, dimension by dimension, bit for bit.
   */
  void decodeResidual(byte[] code, int codeOffset, float[] out, int outOffset) {
    if (nbits == 0) {
      throw new IllegalStateException("float32 codes have no residual part");
    }
    int j =
        nbits == 2
            ? VectorKernels.decodeTwoBit(null, 0, weights, code, codeOffset, out, outOffset, dim)
            : 0;
    int per = 8 / nbits;
    for (; j < dim; j++) {
      out[outOffset + j] = byteTable[(code[codeOffset + j / per] & 0xFF) * per + j % per];
    }
  }

  /**
   * Centroids to train for {@code numVectors} vectors: {@code configured} if above 0, else
   * 2^floor(log2(16·√n)); never more than the vectors.
   */
  public static int centroidsFor(int configured, long numVectors) {
    long k = configured;
    if (k == 0) {
      double target = 16 * Math.sqrt(numVectors);
      k = Long.highestOneBit(Math.max(1, (long) target));
    }
    return (int) Math.max(1, Math.min(k, numVectors));
  }

  /**
   * Serialises this codebook; see {@link MultiVectorDocValuesFormat} for the layout (an entry of
   * the .mvc file). Also how a codebook is stored outside an index.
   */
  public void writeTo(DataOutput out) throws IOException {
    out.writeBytes(id, id.length);
    out.writeVInt(dim);
    out.writeByte((byte) nbits);
    out.writeVInt(k);
    writeBfloat16s(out, centroids);
    writeFloats(out, cutoffs);
    writeFloats(out, weights);
  }

  /** Reads a codebook written by {@link #writeTo}. */
  public static ResidualCodebook readFrom(DataInput in) throws IOException {
    byte[] id = new byte[ID_LENGTH];
    in.readBytes(id, 0, id.length);
    int dim = in.readVInt();
    int nbits = in.readByte();
    int k = in.readVInt();
    if (dim <= 0 || k <= 0 || isValidNbits(nbits) == false || (long) k * dim > Integer.MAX_VALUE) {
      throw new CorruptIndexException(
          "invalid codebook: dim=" + dim + " nbits=" + nbits + " k=" + k, in.toString());
    }
    float[] centroids = readBfloat16s(in, k * dim);
    int buckets = nbits == 0 ? 0 : 1 << nbits;
    float[] cutoffs = new float[Math.max(0, buckets - 1)];
    in.readFloats(cutoffs, 0, cutoffs.length);
    float[] weights = new float[buckets];
    in.readFloats(weights, 0, weights.length);
    return new ResidualCodebook(id, dim, nbits, centroids, cutoffs, weights);
  }

  /**
   * {@code values} rounded (to nearest, ties to even) to bfloat16, the upper 16 bits of a float32:
   * 8 significant bits, so a relative error of at most 2^-8. Centroids are stored this way; the
   * residual codes absorb the rounding because residuals are taken against the rounded centroids.
   * Returns {@code values} itself if every value is already exact.
   */
  static float[] toBfloat16Precision(float[] values) {
    float[] rounded = null;
    for (int i = 0; i < values.length; i++) {
      float r = Float.intBitsToFloat(bfloat16Bits(values[i]) << 16);
      if (Float.floatToRawIntBits(r) != Float.floatToRawIntBits(values[i])) {
        if (rounded == null) {
          rounded = values.clone();
        }
        rounded[i] = r;
      }
    }
    return rounded == null ? values : rounded;
  }

  private static int bfloat16Bits(float v) {
    if (Float.isFinite(v) == false) {
      throw new IllegalArgumentException("centroid values must be finite, got " + v);
    }
    int bits = Float.floatToRawIntBits(v);
    // round to nearest, ties to even; a carry into the exponent is the correct rounding
    return (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16;
  }

  private static void writeBfloat16s(DataOutput out, float[] values) throws IOException {
    byte[] buf = new byte[Math.min(values.length, 4096) * Short.BYTES];
    for (int i = 0; i < values.length; ) {
      int n = Math.min(values.length - i, buf.length / Short.BYTES);
      for (int x = 0; x < n; x++) {
        BitUtil.VH_LE_SHORT.set(buf, x * Short.BYTES, (short) bfloat16Bits(values[i + x]));
      }
      out.writeBytes(buf, 0, n * Short.BYTES);
      i += n;
    }
  }

  private static float[] readBfloat16s(DataInput in, int count) throws IOException {
    float[] values = new float[count];
    byte[] buf = new byte[Math.min(count, 4096) * Short.BYTES];
    for (int i = 0; i < count; ) {
      int n = Math.min(count - i, buf.length / Short.BYTES);
      in.readBytes(buf, 0, n * Short.BYTES);
      for (int x = 0; x < n; x++) {
        values[i + x] = Float.intBitsToFloat(((short) BitUtil.VH_LE_SHORT.get(buf, x * Short.BYTES) & 0xFFFF) << 16);
      }
      i += n;
    }
    return values;
  }

  private static void writeFloats(DataOutput out, float[] values) throws IOException {
    byte[] buf = new byte[Math.min(values.length, 4096) * Float.BYTES];
    for (int i = 0; i < values.length; ) {
      int n = Math.min(values.length - i, buf.length / Float.BYTES);
      for (int x = 0; x < n; x++) {
        BitUtil.VH_LE_FLOAT.set(buf, x * Float.BYTES, values[i + x]);
      }
      out.writeBytes(buf, 0, n * Float.BYTES);
      i += n;
    }
  }

  @Override
  public String toString() {
    return "ResidualCodebook(id="
        + StringHelper.idToString(id)
        + ", dim="
        + dim
        + ", nbits="
        + nbits
        + ", k="
        + k
        + ")";
  }
}
