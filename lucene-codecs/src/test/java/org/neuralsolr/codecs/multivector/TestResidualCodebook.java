package org.neuralsolr.codecs.multivector;

import java.io.IOException;
import java.util.Random;
import org.apache.lucene.store.ByteBuffersDataInput;
import org.apache.lucene.store.ByteBuffersDataOutput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

public class TestResidualCodebook extends LuceneTestCase {

  private static float[] vectors(int n, int dim) {
    MultiVectorTestUtil.ClusteredVectors data =
        new MultiVectorTestUtil.ClusteredVectors(random(), dim, 20, 0.7f, random().nextBoolean());
    float[] out = new float[n * dim];
    for (int i = 0; i < n; i++) {
      System.arraycopy(data.vector(random()), 0, out, i * dim, dim);
    }
    return out;
  }

  private static double squaredError(ResidualCodebook codebook, float[] data, int n, boolean centroidOnly) {
    int dim = codebook.dimension();
    int[] ids = new int[n];
    codebook.index().assign(data, 0, n, ids);
    byte[] code = new byte[codebook.residualBytes()];
    float[] decoded = new float[dim];
    double error = 0;
    for (int i = 0; i < n; i++) {
      if (centroidOnly) {
        codebook.centroid(ids[i], decoded);
      } else {
        codebook.encode(data, i * dim, ids[i], code, 0);
        codebook.decode(ids[i], code, 0, decoded, 0);
      }
      for (int j = 0; j < dim; j++) {
        double d = decoded[j] - data[i * dim + j];
        error += d * d;
      }
    }
    return error / n;
  }

  /** Same seed, same centroids: more bits per dimension leave less error. */
  public void testMoreBitsLessError() {
    int dim = TestUtil.nextInt(random(), 4, 40);
    int n = 3000;
    float[] data = vectors(n, dim);
    long seed = random().nextLong();
    ResidualCodebook one = ResidualCodebook.train(data, n, dim, 1, 64, new Random(seed));
    ResidualCodebook two = ResidualCodebook.train(data, n, dim, 2, 64, new Random(seed));
    ResidualCodebook four = ResidualCodebook.train(data, n, dim, 4, 64, new Random(seed));
    ResidualCodebook exact = ResidualCodebook.train(data, n, dim, 0, 64, new Random(seed));
    double centroidOnly = squaredError(one, data, n, true);
    double e1 = squaredError(one, data, n, false);
    double e2 = squaredError(two, data, n, false);
    double e4 = squaredError(four, data, n, false);
    assertTrue(centroidOnly + " " + e1, e1 < centroidOnly);
    assertTrue(e1 + " " + e2, e2 < e1);
    assertTrue(e2 + " " + e4, e4 < e2);
    assertEquals(0, squaredError(exact, data, n, false), 0);
  }

  /** Cut-offs are residual quantiles: buckets get equal shares; weights lie inside buckets. */
  public void testBucketsAreQuantiles() {
    int dim = TestUtil.nextInt(random(), 4, 32);
    int nbits = new int[] {1, 2, 4}[random().nextInt(3)];
    int n = 2000;
    float[] data = vectors(n, dim);
    ResidualCodebook codebook = ResidualCodebook.train(data, n, dim, nbits, 32, random());
    float[] cutoffs = codebook.cutoffs();
    float[] weights = codebook.weights();
    assertEquals((1 << nbits) - 1, cutoffs.length);
    assertEquals(1 << nbits, weights.length);
    for (int i = 0; i < cutoffs.length; i++) {
      assertTrue(weights[i] <= cutoffs[i]);
      assertTrue(cutoffs[i] <= weights[i + 1]);
    }
    int[] ids = new int[n];
    codebook.index().assign(data, 0, n, ids);
    float[] centroid = new float[dim];
    long[] counts = new long[1 << nbits];
    for (int i = 0; i < n; i++) {
      codebook.centroid(ids[i], centroid);
      for (int j = 0; j < dim; j++) {
        float r = data[i * dim + j] - centroid[j];
        int bucket = 0;
        while (bucket < cutoffs.length && r > cutoffs[bucket]) {
          bucket++;
        }
        counts[bucket]++;
      }
    }
    for (long count : counts) {
      assertEquals(1.0 / counts.length, (double) count / ((long) n * dim), 0.05);
    }
  }

  public void testSerialization() throws IOException {
    int dim = TestUtil.nextInt(random(), 1, 20);
    int nbits = new int[] {0, 1, 2, 4}[random().nextInt(4)];
    int n = TestUtil.nextInt(random(), 1, 500);
    float[] data = vectors(n, dim);
    ResidualCodebook codebook = ResidualCodebook.train(data, n, dim, nbits, 16, random());
    ByteBuffersDataOutput out = new ByteBuffersDataOutput();
    codebook.writeTo(out);
    ResidualCodebook read = ResidualCodebook.readFrom(new ByteBuffersDataInput(out.toBufferList()));
    assertArrayEquals(codebook.id(), read.id());
    assertTrue(read.sameIdAs(codebook));
    assertEquals(codebook.numCentroids(), read.numCentroids());
    assertArrayEquals(codebook.centroidsArray(), read.centroidsArray(), 0f);
    assertArrayEquals(codebook.cutoffs(), read.cutoffs(), 0f);
    assertArrayEquals(codebook.weights(), read.weights(), 0f);
    byte[] code = new byte[codebook.residualBytes()];
    float[] a = new float[dim], b = new float[dim];
    for (int i = 0; i < n; i++) {
      int c = random().nextInt(codebook.numCentroids());
      codebook.encode(data, i * dim, c, code, 0);
      codebook.decode(c, code, 0, a, 0);
      read.decode(c, code, 0, b, 0);
      assertArrayEquals(a, b, 0f);
    }
    // ids are random: another training gives another id
    assertFalse(ResidualCodebook.train(data, n, dim, nbits, 16, random()).sameIdAs(codebook));
  }

  public void testCentroidsAreBfloat16() throws IOException {
    int dim = TestUtil.nextInt(random(), 1, 20);
    int n = TestUtil.nextInt(random(), 1, 500);
    float[] data = vectors(n, dim);
    ResidualCodebook codebook = ResidualCodebook.train(data, n, dim, 2, 16, random());
    for (float c : codebook.centroidsArray()) {
      assertEquals("low 16 bits of a stored centroid value", 0, Float.floatToRawIntBits(c) & 0xFFFF);
    }
    // 2 bytes per centroid value on disk
    ByteBuffersDataOutput out = new ByteBuffersDataOutput();
    codebook.writeTo(out);
    long floatsAfter = 3 * 4 + 4 * 4; // 3 cut-offs and 4 weights of nbits=2, float32
    assertTrue(out.size() - floatsAfter - (long) codebook.numCentroids() * dim * 2 < 32);

    // rounding: to nearest, ties to even, relative error at most 2^-8 (half of 7 stored fraction bits)
    float[] values = new float[1000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random().nextGaussian() * Math.pow(10, random().nextInt(9) - 4));
    }
    float[] rounded = ResidualCodebook.toBfloat16Precision(values);
    for (int i = 0; i < values.length; i++) {
      assertEquals(values[i], rounded[i], Math.abs(values[i]) / 256);
      assertSame(rounded, ResidualCodebook.toBfloat16Precision(rounded));
    }
    float tie = Float.intBitsToFloat(0x3F808000); // exactly between 0x3F80 and 0x3F81: to even
    assertEquals(Float.intBitsToFloat(0x3F800000), ResidualCodebook.toBfloat16Precision(new float[] {tie})[0], 0f);
    float tieUp = Float.intBitsToFloat(0x3F818000); // between 0x3F81 and 0x3F82: to even
    assertEquals(Float.intBitsToFloat(0x3F820000), ResidualCodebook.toBfloat16Precision(new float[] {tieUp})[0], 0f);
    expectThrows(IllegalArgumentException.class, () -> ResidualCodebook.toBfloat16Precision(new float[] {Float.NaN}));
  }

  public void testPublicTrain() {
    float[][] sample = new float[50][6];
    for (float[] v : sample) {
      for (int j = 0; j < 6; j++) {
        v[j] = random().nextFloat();
      }
    }
    ResidualCodebook codebook = ResidualCodebook.train(sample, 2, 8, random().nextLong());
    assertEquals(6, codebook.dimension());
    assertEquals(2, codebook.nbits());
    assertEquals(8, codebook.numCentroids());
    expectThrows(IllegalArgumentException.class, () -> ResidualCodebook.train(sample, 3, 8, 1));
    expectThrows(IllegalArgumentException.class, () -> ResidualCodebook.train(sample, 2, 0, 1));
    expectThrows(IllegalArgumentException.class, () -> ResidualCodebook.train(new float[0][], 2, 8, 1));
    expectThrows(
        IllegalArgumentException.class,
        () -> ResidualCodebook.train(new float[][] {{1, 2}, {3}}, 2, 8, 1));
  }

  public void testCodeSizes() {
    assertEquals(1, ResidualCodebook.centroidIdBytes(1));
    assertEquals(1, ResidualCodebook.centroidIdBytes(256));
    assertEquals(2, ResidualCodebook.centroidIdBytes(257));
    assertEquals(2, ResidualCodebook.centroidIdBytes(65536));
    assertEquals(3, ResidualCodebook.centroidIdBytes(65537));
    assertEquals(4, ResidualCodebook.centroidIdBytes(1 << 25));
    for (int dim = 1; dim < 50; dim++) {
      assertEquals(dim * 4, ResidualCodebook.residualBytes(dim, 0));
      for (int nbits : new int[] {1, 2, 4}) {
        assertEquals((int) Math.ceil(dim * nbits / 8.0), ResidualCodebook.residualBytes(dim, nbits));
      }
    }
  }

  /**
   * 2-bit decoding (vector registers of dimensions on the Vector API, then a scalar tail) gives,
   * bit for bit, centroid + weight of each dimension's bucket: any dimension, codes at any offset,
   * including at the very end of the array, where a whole code word cannot be read.
   */
  public void testTwoBitDecodeIsCentroidPlusWeight() {
    for (int iter = 0; iter < 50; iter++) {
      int dim = random().nextBoolean() ? 384 : TestUtil.nextInt(random(), 1, 100);
      int k = TestUtil.nextInt(random(), 1, 8);
      float[][] sample = new float[200][dim];
      for (float[] v : sample) {
        for (int j = 0; j < dim; j++) {
          v[j] = (float) random().nextGaussian();
        }
      }
      ResidualCodebook codebook = ResidualCodebook.train(sample, 2, k, random().nextLong());
      int bytes = codebook.residualBytes();
      int tokens = TestUtil.nextInt(random(), 1, 5);
      byte[] codes = new byte[tokens * bytes];
      random().nextBytes(codes); // any bits, the unused ones of a last byte too
      float[] weights = codebook.weights();
      float[] centroid = new float[dim];
      float[] out = new float[dim + 3];
      for (int t = 0; t < tokens; t++) {
        int c = random().nextInt(codebook.numCentroids());
        codebook.centroid(c, centroid);
        out[dim] = 5f;
        codebook.decode(c, codes, t * bytes, out, 0);
        for (int j = 0; j < dim; j++) {
          int bucket = (codes[t * bytes + j / 4] >>> (2 * (j % 4))) & 3;
          assertEquals(
              "dimension " + j,
              Float.floatToIntBits(centroid[j] + weights[bucket]),
              Float.floatToIntBits(out[j]));
        }
        assertEquals(5f, out[dim], 0f);
      }
    }
  }

  /**
   * The residual part alone (what exact MaxSim multiplies on the Vector API) is the bucket weight
   * of each dimension, for every nbits, and the full decoding is the centroid plus it, bit for bit.
   */
  public void testResidualDecodeIsWeight() {
    for (int iter = 0; iter < 30; iter++) {
      int nbits = new int[] {1, 2, 4}[random().nextInt(3)];
      int dim = random().nextBoolean() ? 384 : TestUtil.nextInt(random(), 1, 100);
      float[][] sample = new float[100][dim];
      for (float[] v : sample) {
        for (int j = 0; j < dim; j++) {
          v[j] = (float) random().nextGaussian();
        }
      }
      ResidualCodebook codebook = ResidualCodebook.train(sample, nbits, 4, random().nextLong());
      int bytes = codebook.residualBytes();
      byte[] codes = new byte[2 * bytes];
      random().nextBytes(codes);
      float[] weights = codebook.weights();
      float[] centroid = new float[dim];
      float[] residual = new float[dim + 1];
      float[] full = new float[dim];
      for (int t = 0; t < 2; t++) {
        int c = random().nextInt(codebook.numCentroids());
        codebook.centroid(c, centroid);
        residual[dim] = 3f;
        codebook.decodeResidual(codes, t * bytes, residual, 0);
        codebook.decode(c, codes, t * bytes, full, 0);
        int per = 8 / nbits;
        for (int j = 0; j < dim; j++) {
          int bucket = (codes[t * bytes + j / per] >>> (nbits * (j % per))) & ((1 << nbits) - 1);
          assertEquals(Float.floatToIntBits(weights[bucket]), Float.floatToIntBits(residual[j]));
          assertEquals(Float.floatToIntBits(centroid[j] + residual[j]), Float.floatToIntBits(full[j]));
        }
        assertEquals(3f, residual[dim], 0f);
      }
    }
  }
}
