package org.neuralsolr.eval;

import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import uk.ac.gla.terrier.jtreceval.trec_eval;

/**
 * NIST trec_eval 9.0.4 as shipped inside {@code uk.ac.gla.dcs.terrierteam:jtreceval} (its jar
 * carries the binaries; the launcher copies the one for this platform to a temporary file and runs
 * it). No code of this project is involved in its numbers.
 */
final class TrecEvalOracle {
  /** Every measure the tests compare; the cutoffs beyond 10 and 100 widen what must agree. */
  static final String[] MEASURES = {
    "ndcg_cut.1,3,5,10,20,100,1000", "recall.5,10,100,1000", "P.5,10,100", "map", "recip_rank"
  };

  /** Per measure (trec_eval's output name, e.g. {@code ndcg_cut_10}), per query id, the value. */
  record Output(Map<String, Map<String, Double>> valuesByMeasure) {
    /** The value trec_eval printed for the mean over queries. */
    double mean(String measure) {
      return valuesByMeasure.get(measure).get("all");
    }
  }

  private TrecEvalOracle() {}

  /** Fails the calling test when trec_eval cannot run here: without the oracle nothing is proven. */
  static void requireAvailable() {
    if (!trec_eval.isPlatformSupported()) {
      fail("jtreceval ships no trec_eval binary for " + System.getProperty("os.name") + "/"
          + System.getProperty("os.arch") + "; the agreement tests need it");
    }
  }

  static Output evaluate(Qrels qrels, Run run, boolean averageOverAllQrelsQueries, Path dir)
      throws IOException {
    Path qrelsFile = Files.createTempFile(dir, "qrels", ".txt");
    Path runFile = Files.createTempFile(dir, "run", ".txt");
    qrels.writeTrec(qrelsFile);
    run.writeTrec(runFile, "neural");
    return evaluate(qrelsFile, runFile, averageOverAllQrelsQueries);
  }

  static Output evaluate(Path qrelsFile, Path runFile, boolean averageOverAllQrelsQueries) {
    requireAvailable();
    List<String> args = new ArrayList<>(List.of("-q"));
    if (averageOverAllQrelsQueries) {
      args.add("-c");
    }
    for (String measure : MEASURES) {
      args.add("-m");
      args.add(measure);
    }
    args.add(qrelsFile.toString());
    args.add(runFile.toString());
    String[][] lines = new trec_eval().runAndGetOutput(args.toArray(new String[0]));
    Map<String, Map<String, Double>> values = new LinkedHashMap<>();
    for (String[] fields : lines) {
      if (fields.length == 1 && fields[0].isEmpty()) {
        continue;
      }
      if (fields.length != 3) {
        fail("unexpected trec_eval output line: " + String.join(" ", fields));
      }
      values
          .computeIfAbsent(fields[0], m -> new LinkedHashMap<>())
          .put(fields[1], Double.parseDouble(fields[2]));
    }
    if (values.isEmpty()) {
      fail("trec_eval printed nothing for " + runFile);
    }
    return new Output(values);
  }

  /** trec_eval's exit status and nothing else, for inputs it should refuse. */
  static int exitCode(Path qrelsFile, Path runFile) {
    requireAvailable();
    trec_eval te = new trec_eval();
    try {
      te.runAndGetOutput(new String[] {"-m", "ndcg_cut.10", qrelsFile.toString(), runFile.toString()});
    } catch (RuntimeException expectedOnNonZeroExit) {
      // the launcher throws on a non-zero exit; the code is kept either way
    }
    return te.getLastExitCode();
  }
}
