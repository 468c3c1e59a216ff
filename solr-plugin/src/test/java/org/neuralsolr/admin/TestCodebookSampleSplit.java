package org.neuralsolr.admin;

import java.util.Arrays;
import org.apache.lucene.tests.util.LuceneTestCase;

/** How the collection codebook's training sample is split over the shards. */
public class TestCodebookSampleSplit extends LuceneTestCase {

  public void testProportionalToEachShardsTokenVectors() {
    assertArrayEquals(new int[] {75, 25}, CollectionCodebookApi.proportional(new long[] {3000, 1000}, 4000, 100));
    // largest remainders take the rounding: 100 * (1/3, 1/3, 1/3)
    assertEquals(100, Arrays.stream(CollectionCodebookApi.proportional(new long[] {100, 100, 100}, 300, 100)).sum());
    // a shard never gives more than it holds, and an empty shard gives nothing
    assertArrayEquals(new int[] {5, 0, 7}, CollectionCodebookApi.proportional(new long[] {5, 0, 7}, 12, 12));
  }

  public void testRandomSplitsSumToTheSampleAndStayWithinEachShard() {
    for (int iter = 0; iter < 200; iter++) {
      int shards = 1 + random().nextInt(8);
      long[] counts = new long[shards];
      long total = 0;
      for (int s = 0; s < shards; s++) {
        counts[s] = random().nextInt(5) == 0 ? 0 : 1 + random().nextInt(100_000);
        total += counts[s];
      }
      if (total == 0) {
        continue;
      }
      int size = (int) Math.min(total, 1 + random().nextInt(200_000));
      int[] split = CollectionCodebookApi.proportional(counts, total, size);
      assertEquals(size, Arrays.stream(split).sum());
      for (int s = 0; s < shards; s++) {
        assertTrue(split[s] <= counts[s]);
        assertTrue("shard " + s + " far from its share", Math.abs(split[s] - (double) size * counts[s] / total) <= 1.0);
      }
    }
  }
}
