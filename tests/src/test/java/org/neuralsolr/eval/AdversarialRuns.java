package org.neuralsolr.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Synthetic qrels and a run built to hit every rule of trec_eval's that a real run rarely exercises:
 * ties everywhere, scores that tie only as floats, -0.0 against 0.0, ids whose UTF-8 and UTF-16
 * orders differ, graded levels 0..3 and negative ones, unjudged documents, queries judged only
 * non-relevant, queries with more relevant documents than cutoffs, queries with fewer retrieved
 * documents than cutoffs, run queries without qrels and qrels queries without a run.
 */
final class AdversarialRuns {
  record Case(Qrels qrels, Run run) {}

  /** Ids chosen for ordering traps: numeric strings, case, punctuation, prefixes, non-ASCII. */
  private static final String[] TRAPS = {
    "1", "10", "100", "2", "20", "9", "Doc", "doc", "DOC", "a-b", "a_b", "a.b", "ab", "abc",
    "abcd", "z", "\u00e91", "\u00ffz", "\uff21x", "\ud83d\ude00x", "\u4e2d\u6587", "MED-10", "MED-9"
  };

  private AdversarialRuns() {}

  static Case build(long seed) {
    Random random = new Random(seed);
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    Run.Builder run = Run.builder();

    // Every score equal: the ranking is the doc-id tie-break alone, and relevant ids sit at both ends.
    Map<String, Integer> allTied = judge(qrels, "q-all-tied");
    for (int i = 0; i < 40; i++) {
      String id = "t" + (char) ('a' + i % 26) + i;
      run.add("q-all-tied", id, 1.0);
      if (i % 7 == 0) {
        allTied.put(id, 1 + i % 3);
      }
    }
    allTied.put("tz-unretrieved", 2);

    // Distinct doubles that are one float: trec_eval 9.x sees a tie, broken by descending doc id,
    // so the doc with the lowest double ("zz", also the largest id) ranks first.
    Map<String, Integer> floatTies = judge(qrels, "q-float-ties");
    run.add("q-float-ties", "zz", 1.0);
    floatTies.put("zz", 3);
    for (int i = 1; i <= 20; i++) {
      run.add("q-float-ties", "f" + (100 + i), 1.0 + i * 1e-12);
    }
    floatTies.put("f105", 0);

    // -0.0 and 0.0 compare equal in C; the relevant doc has the smaller id, so it ranks second.
    Map<String, Integer> zeros = judge(qrels, "q-signed-zero");
    run.add("q-signed-zero", "a0", 0.0);
    run.add("q-signed-zero", "b0", -0.0);
    run.add("q-signed-zero", "c0", -1.5);
    zeros.put("a0", 1);

    // Tied ids whose order differs between UTF-8 bytes (trec_eval's strcmp) and UTF-16 units.
    Map<String, Integer> utf8 = judge(qrels, "q-utf8");
    run.add("q-utf8", "\uff21", 2.5);
    run.add("q-utf8", "\ud83d\ude00", 2.5);
    run.add("q-utf8", "\u00e9", 2.5);
    run.add("q-utf8", "e", 2.5);
    utf8.put("\uff21", 1);

    // Judged, but nothing relevant: evaluated, and every measure is 0.
    Map<String, Integer> nonRelevant = judge(qrels, "q-only-nonrelevant");
    for (int i = 0; i < 12; i++) {
      run.add("q-only-nonrelevant", "n" + i, 12 - i);
      if (i % 2 == 0) {
        nonRelevant.put("n" + i, 0);
      }
    }

    // Negative levels are judged non-relevant and add nothing to the ideal ranking.
    Map<String, Integer> negative = judge(qrels, "q-negative-levels");
    for (int i = 0; i < 15; i++) {
      run.add("q-negative-levels", "g" + i, 15 - i);
      negative.put("g" + i, i % 4 == 0 ? -1 : i % 4 == 1 ? 0 : i % 4 == 2 ? 2 : -2);
    }

    // Only negative levels. trec_eval 9.x sizes its level table by the largest level plus one, 0
    // here: as the first query it evaluates (in id order) it fails ("Can't calculate measure", exit
    // 4); later on it reuses the previous query's table, harmlessly, as with no positive gain
    // retrieved every measure is 0. Hence an id that does not sort first.
    Map<String, Integer> allNegative = judge(qrels, "q-negative-only");
    run.add("q-negative-only", "h1", 3.0);
    run.add("q-negative-only", "h2", 2.0);
    allNegative.put("h1", -1);
    allNegative.put("h3", -1);

    // Few retrieved, many relevant: P@10 divides by 10, the ideal DCG is cut at 10.
    Map<String, Integer> few = judge(qrels, "q-few-retrieved");
    for (int i = 0; i < 3; i++) {
      run.add("q-few-retrieved", "w" + i, 3 - i);
    }
    for (int i = 0; i < 15; i++) {
      few.put("w" + i, 1 + i % 3);
    }

    // More relevant than the recall cutoff, and retrieved well past it.
    Map<String, Integer> many = judge(qrels, "q-many-relevant");
    for (int i = 0; i < 400; i++) {
      run.add("q-many-relevant", "m" + i, random.nextInt(50));
      if (i % 3 != 0) {
        many.put("m" + i, random.nextInt(4));
      }
    }

    // Retrieved documents nobody judged.
    Map<String, Integer> unjudged = judge(qrels, "q-unjudged");
    for (int i = 0; i < 30; i++) {
      run.add("q-unjudged", "u" + i, random.nextInt(5));
    }
    unjudged.put("u7", 1);
    unjudged.put("not-retrieved", 3);

    // In the run only: ignored. In the qrels only: absent, counted only by -c.
    run.add("q-no-qrels", "x1", 1.0);
    judge(qrels, "q-not-in-run").put("x1", 1);

    // Random queries over trap ids, quantised scores (ties) and graded levels.
    for (int q = 0; q < 40; q++) {
      String queryId = "r" + q;
      Map<String, Integer> judgments = judge(qrels, queryId);
      int retrieved = 1 + random.nextInt(q % 4 == 0 ? 300 : 30);
      int distinctScores = 1 + random.nextInt(6);
      List<String> ids = ids(random, retrieved + 20);
      for (int i = 0; i < ids.size(); i++) {
        String id = ids.get(i);
        if (i < retrieved) {
          double score = random.nextInt(distinctScores) * 0.25 - (q % 5 == 0 ? 1 : 0);
          run.add(queryId, id, score);
        }
        if (random.nextInt(3) == 0) {
          judgments.put(id, random.nextInt(5) - 1);
        }
      }
      if (judgments.isEmpty()) {
        judgments.put(ids.get(0), 1);
      }
    }
    return new Case(Qrels.copyOf(qrels), run.build());
  }

  private static Map<String, Integer> judge(Map<String, Map<String, Integer>> qrels, String queryId) {
    return qrels.computeIfAbsent(queryId, q -> new LinkedHashMap<>());
  }

  /** Distinct ids: the trap ids first (shuffled), then random ones. */
  private static List<String> ids(Random random, int count) {
    List<String> ids = new ArrayList<>(List.of(TRAPS));
    java.util.Collections.shuffle(ids, random);
    for (int i = 0; ids.size() < count; i++) {
      ids.add(TRAPS[random.nextInt(TRAPS.length)] + "-" + random.nextInt(1000) + "-" + i);
    }
    return ids.subList(0, count);
  }
}
