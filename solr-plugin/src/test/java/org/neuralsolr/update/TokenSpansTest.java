package org.neuralsolr.update;

import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.BytesRef;

/** The stored token spans: what goes in comes out, compactly; foreign bytes are refused, not misread. */
public class TokenSpansTest extends LuceneTestCase {
  public void testRoundTripWithTokensWithoutCharactersAndOverlaps() {
    // ColBERT: [CLS] and the marker cover nothing; a byte-level tokenizer may give two tokens one character
    int[][] spans = {{-1, -1}, {-1, -1}, {0, 4}, {5, 9}, {9, 10}, {9, 10}, {11, 70000}, {-1, -1}};
    assertSpans(spans, TokenSpans.decode(new BytesRef(TokenSpans.encode(spans))));
  }

  public void testRandomRoundTripsAndSize() {
    for (int iter = 0; iter < 100; iter++) {
      int n = random().nextInt(600);
      int[][] spans = new int[n][];
      int at = 0;
      for (int t = 0; t < n; t++) {
        if (random().nextInt(20) == 0) {
          spans[t] = new int[] {-1, -1};
          continue;
        }
        at += random().nextInt(3) - (random().nextInt(30) == 0 ? 1 : 0);
        at = Math.max(0, at);
        int length = 1 + random().nextInt(12);
        spans[t] = new int[] {at, at + length};
        at += length;
      }
      byte[] bytes = TokenSpans.encode(spans);
      assertTrue(bytes.length + " bytes for " + n + " tokens", bytes.length <= 3 + 2 * n + n / 10 + 4);
      // at an offset inside a larger array, as doc values hand them out
      byte[] padded = new byte[bytes.length + 7];
      System.arraycopy(bytes, 0, padded, 3, bytes.length);
      assertSpans(spans, TokenSpans.decode(new BytesRef(padded, 3, bytes.length)));
    }
  }

  public void testForeignOrTruncatedBytesAreNull() {
    byte[] bytes = TokenSpans.encode(new int[][] {{0, 3}, {4, 8}, {9, 12}});
    assertNull(TokenSpans.decode(new BytesRef(new byte[0])));
    assertNull(TokenSpans.decode(new BytesRef(new byte[] {2, 1, 1, 3})));
    assertNull(TokenSpans.decode(new BytesRef(bytes, 0, bytes.length - 1)));
    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
    assertNull(TokenSpans.decode(new BytesRef(longer)));
  }

  private static void assertSpans(int[][] expected, int[][] actual) {
    assertNotNull(actual);
    assertEquals(expected.length, actual.length);
    for (int t = 0; t < expected.length; t++) {
      assertArrayEquals("token " + t, expected[t], actual[t]);
    }
  }
}
