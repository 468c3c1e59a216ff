package org.neuralsolr.search;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.neuralsolr.search.RankFusion.FusedHit;
import org.neuralsolr.search.RankFusion.RankedList;

/** Fusion arithmetic on random lists, and the ranked lists' trip from coordinator to shard. */
public class RankFusionTest extends LuceneTestCase {

  private static RankedList randomList(int size, int ids) {
    List<String> pool = new ArrayList<>();
    for (int i = 0; i < ids; i++) {
      pool.add("d" + i);
    }
    Collections.shuffle(pool, random());
    float[] scores = new float[size];
    float s = random().nextFloat() * 50;
    for (int i = 0; i < size; i++) {
      scores[i] = s;
      s -= random().nextInt(3) == 0 ? 0 : random().nextFloat(); // equal scores now and then
    }
    return new RankedList(pool.subList(0, size), scores);
  }

  public void testRrfSumsReciprocalRanksAndOrdersByScoreThenId() {
    for (int iter = 0; iter < 50; iter++) {
      List<RankedList> lists = List.of(randomList(1 + random().nextInt(20), 30), randomList(1 + random().nextInt(20), 30));
      int k = 1 + random().nextInt(100);
      List<FusedHit> hits = new RankFusion(RankFusion.Method.RRF, k, RankFusion.Norm.MINMAX, new double[] {1, 2}).fuse(lists);
      for (FusedHit h : hits) {
        double expected = 0;
        for (int q = 0; q < 2; q++) {
          int r = lists.get(q).ids().indexOf(h.id());
          expected += r < 0 ? 0 : (q + 1.0) / (k + r + 1);
        }
        assertEquals((float) expected, h.score(), 0f);
      }
      for (int i = 1; i < hits.size(); i++) {
        FusedHit a = hits.get(i - 1), b = hits.get(i);
        assertTrue(a.score() > b.score() || (a.score() == b.score() && a.id().compareTo(b.id()) < 0));
      }
    }
  }

  public void testMinMaxOfEqualScoresIsOneAndZScoreIsZero() {
    RankedList flat = new RankedList(List.of("a", "b"), new float[] {3f, 3f});
    RankedList other = new RankedList(List.of("c"), new float[] {1f});
    List<FusedHit> minmax = new RankFusion(RankFusion.Method.LINEAR, 60, RankFusion.Norm.MINMAX, new double[] {1, 1}).fuse(List.of(flat, other));
    assertEquals(List.of(1f, 1f, 1f), minmax.stream().map(FusedHit::score).toList());
    assertEquals(List.of("a", "b", "c"), minmax.stream().map(FusedHit::id).toList());
    List<FusedHit> z = new RankFusion(RankFusion.Method.LINEAR, 60, RankFusion.Norm.ZSCORE, new double[] {1, 1}).fuse(List.of(flat, other));
    assertEquals(List.of(0f, 0f, 0f), z.stream().map(FusedHit::score).toList());
  }

  public void testListsTravelBitForBit() {
    List<RankedList> lists = List.of(randomList(20, 40), randomList(7, 40), new RankedList(List.of("\"odd\" id, [x]"), new float[] {Float.MIN_VALUE}));
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("ranks", GlobalRanks.encode(lists));
    List<RankedList> back = GlobalRanks.decode(p, "ranks", 3);
    for (int q = 0; q < 3; q++) {
      assertEquals(lists.get(q).ids(), back.get(q).ids());
      assertArrayEquals(lists.get(q).scores(), back.get(q).scores(), 0f);
    }
  }

  public void testBadListsFromAClientAre400NamingTheParam() {
    for (String bad : new String[] {"not json", "[[]]", "[[[\"a\",\"1\"]],[[\"b\"]]]", "[[[\"a\",\"x\"]],[]]", "[[[\"a\",\"NaN\"]],[]]", "{}"}) {
      ModifiableSolrParams p = new ModifiableSolrParams();
      p.set("neural.fuse.abc", bad);
      SolrException e = expectThrows(SolrException.class, () -> GlobalRanks.decode(p, "neural.fuse.abc", 2));
      assertEquals(bad, 400, e.code());
      assertTrue(e.getMessage(), e.getMessage().contains("param 'neural.fuse.abc'"));
    }
  }
}
