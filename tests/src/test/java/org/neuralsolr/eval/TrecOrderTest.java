package org.neuralsolr.eval;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Test;

public class TrecOrderTest {
  /** strcmp compares UTF-8 bytes as unsigned chars; our comparison must agree on every pair. */
  @Test
  public void idComparisonIsUtf8ByteComparison() {
    Random random = new Random(42);
    int[] alphabet = {'0', '9', 'A', 'a', 'z', '-', 0xe9, 0xff, 0x7ff, 0x800, 0x4e2d, 0xd7ff, 0xe000,
        0xff21, 0xfffd, 0x10000, 0x1f600, 0x10ffff};
    for (int trial = 0; trial < 20_000; trial++) {
      String a = randomId(random, alphabet);
      String b = random.nextInt(4) == 0 ? a + randomId(random, alphabet) : randomId(random, alphabet);
      int expected = Integer.signum(Arrays.compareUnsigned(
          a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
      assertEquals(a + " vs " + b, expected, Integer.signum(TrecOrder.compareAsUtf8(a, b)));
    }
  }

  @Test
  public void ranksByFloatScoreThenDescendingId() {
    List<ScoredDoc> docs = List.of(
        new ScoredDoc("a", 1.0),
        new ScoredDoc("b", 1.0 + 1e-12), // the same float as 1.0
        new ScoredDoc("c", 2.0),
        new ScoredDoc("x", 0.0),
        new ScoredDoc("y", -0.0)); // equal to 0.0 in C
    List<String> ranked =
        TrecOrder.rank(docs, TrecOrder.TREC_EVAL).stream().map(ScoredDoc::docId).toList();
    assertEquals(List.of("c", "b", "a", "y", "x"), ranked);
  }

  private static String randomId(Random random, int[] alphabet) {
    StringBuilder id = new StringBuilder();
    for (int i = 1 + random.nextInt(4); i > 0; i--) {
      id.appendCodePoint(alphabet[random.nextInt(alphabet.length)]);
    }
    return id.toString();
  }
}
