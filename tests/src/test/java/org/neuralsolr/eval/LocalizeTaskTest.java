package org.neuralsolr.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.lucene.tests.util.LuceneTestCase;

/** The localisation task's cases and its random baseline. */
public class LocalizeTaskTest extends LuceneTestCase {
  public void testRandomReciprocalRankIsTheExpectationOverAllOrders() {
    // one evidence sentence among n: the mean of 1/r over r = 1..n
    assertEquals((1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0 + 1 / 5.0) / 5, LocalizeTask.randomReciprocalRank(5, 1), 1e-12);
    assertEquals(1.0, LocalizeTask.randomReciprocalRank(4, 4), 1e-12);
    // 2 of 3: the first evidence is at rank 1 with p 2/3, at rank 2 with p 1/3
    assertEquals(2 / 3.0 + 1 / 6.0, LocalizeTask.randomReciprocalRank(3, 2), 1e-12);
  }

  public void testCasesAreClaimsOfTheSplitWithEvidence() throws Exception {
    Path dir = createTempDir();
    Files.writeString(
        dir.resolve("queries.jsonl"),
        "{\"_id\": \"1\", \"text\": \"claim one\", \"metadata\": {\"10\": [{\"sentences\": [2, 0], \"label\": \"SUPPORT\"}], \"11\": [{\"sentences\": [], \"label\": \"x\"}]}}\n"
            + "{\"_id\": \"2\", \"text\": \"claim two\", \"metadata\": {}}\n"
            + "{\"_id\": \"3\", \"text\": \"not in the split\", \"metadata\": {\"12\": [{\"sentences\": [1]}]}}\n");
    List<LocalizeTask.Case> cases = LocalizeTask.cases(dir, Set.of("1", "2"));
    assertEquals(1, cases.size());
    assertEquals("10", cases.get(0).doc());
    assertEquals(Set.of(0, 2), cases.get(0).evidence());
    assertEquals("claim one", cases.get(0).claim());
  }
}
