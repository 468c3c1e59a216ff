package org.neuralsolr.codecs.multivector.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.IOUtils;
import org.neuralsolr.codecs.multivector.CodebookSource;
import org.neuralsolr.codecs.multivector.MaxSimQuery;
import org.neuralsolr.codecs.multivector.MultiVectorDocValuesFormat;
import org.neuralsolr.codecs.multivector.MultiVectorField;
import org.neuralsolr.codecs.multivector.PlaidQuery;
import org.neuralsolr.codecs.multivector.ResidualCodebook;

/**
 * Measures the multi-vector codec in one run and prints ratios: storage per token vector for each
 * nbits, what compression costs in top-10 overlap with exact (float32) MaxSim, and what PLAID
 * costs and saves against exhaustive MaxSim. A program, not a test: absolute times on shared
 * machines drift, so compare the ratios.
 *
 * <p>Input, by options (all files little-endian):
 *
 * <ul>
 *   <li>{@code --vectors F --counts C [--dim D]}: the documents' token vectors, row after row,
 *       documents one after another, as float32, and the number of token vectors of each document
 *       as int32 (raw {@code .f32}/{@code .i32} files, then {@code --dim} is required), or the same
 *       two arrays as NumPy {@code .npy} files (float32 {@code (n, dim)} and int32/int64 {@code
 *       (docs,)});
 *   <li>{@code --queries F --query-counts C}: query token vectors in the same layout; without
 *       them, each query is {@value #SAMPLED_QUERY_TOKENS} random token vectors of a random
 *       document (said in the output);
 *   <li>neither: synthetic clustered data (said in the output): {@code --docs} documents
 *       (default 2000) of 32 to 256 unit token vectors of {@code --dim} dimensions (default 128),
 *       drawn around 4096 "term" directions with topic-skewed frequencies, and queries of 32 terms
 *       of a topic.
 * </ul>
 *
 * <p>Other options: {@code --num-queries} (default 30), {@code --k} (default 10), {@code --nbits}
 * (default {@code 1,2,4}), {@code --centroids} (default 0: 2^floor(log2(16·√n))), {@code --work}
 * (index directory, default a temporary one, deleted afterwards), {@code --max-docs} (only the
 * first documents of {@code --vectors}), {@code --sweep NBITS} (on the
 * index with that nbits, also time PLAID over a grid of nprobe × ndocs).
 *
 * <p>Run from the repository root (heap: about 3 × the vector data, e.g. {@code -Xmx10g} for
 * 1.7M vectors of 384 dimensions):
 *
 * <pre>
 * mvn -q -o -pl lucene-codecs test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp
 * java -Xmx4g -cp lucene-codecs/target/classes:lucene-codecs/target/test-classes:$(cat lucene-codecs/target/bench.cp) \
 *   org.neuralsolr.codecs.multivector.bench.MultiVectorBenchmark [options]
 * </pre>
 */
public final class MultiVectorBenchmark {

  static final int SAMPLED_QUERY_TOKENS = 32;

  private final Map<String, String> options;
  private final List<float[]> docs = new ArrayList<>(); // flat token matrices
  private final List<float[]> queries = new ArrayList<>();
  private int dim;
  private long totalTokens;

  private MultiVectorBenchmark(Map<String, String> options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].startsWith("--") == false) {
        throw new IllegalArgumentException("expected --option value, got " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    new MultiVectorBenchmark(options).run();
  }

  private int intOption(String name, int defaultValue) {
    return options.containsKey(name) ? Integer.parseInt(options.get(name)) : defaultValue;
  }

  private void run() throws Exception {
    Random random = new Random(42);
    loadOrGenerate(random);
    int k = intOption("k", 10);
    int centroids = intOption("centroids", 0);
    System.out.printf(
        Locale.ROOT,
        "data: %d documents, %d token vectors (%.1f per document), dim %d, %d queries (%.1f tokens each)%n",
        docs.size(),
        totalTokens,
        (double) totalTokens / docs.size(),
        dim,
        queries.size(),
        queries.stream().mapToInt(q -> q.length / dim).average().orElse(0));

    List<Integer> nbitsList = new ArrayList<>();
    nbitsList.add(0);
    for (String s : options.getOrDefault("nbits", "1,2,4").split(",")) {
      nbitsList.add(Integer.parseInt(s.trim()));
    }
    Path work =
        options.containsKey("work")
            ? Paths.get(options.get("work"))
            : Files.createTempDirectory("multivector-bench");
    Map<Integer, List<Set<Integer>>> exhaustiveTop = new HashMap<>();
    try {
      for (int nbits : nbitsList) {
        Path path = work.resolve("nbits" + nbits);
        try (Directory dir = new MMapDirectory(path)) {
          System.out.printf(Locale.ROOT, "%n== nbits=%d%s%n", nbits, nbits == 0 ? " (exact float32 baseline)" : "");
          index(dir, nbits, train(nbits, centroids, random));
          reportStorage(dir, nbits);
          try (DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader); // one thread: times compare
            searcher.setQueryCache(null);
            QueryFactory exhaustiveQuery = q -> new MaxSimQuery("mv", q);
            QueryFactory plaidQuery = q -> new PlaidQuery("mv", q, k);
            // warm up, then time both on each query in turn, so that load changes hit both alike
            timeQueries(searcher, List.of(exhaustiveQuery, plaidQuery), k, queries.subList(0, Math.min(3, queries.size())));
            List<List<Set<Integer>>> tops = new ArrayList<>();
            double[] ms = timeQueries(searcher, List.of(exhaustiveQuery, plaidQuery), k, queries, tops);
            List<Set<Integer>> exhaustive = tops.get(0), plaid = tops.get(1);
            double exhaustiveMs = ms[0], plaidMs = ms[1];
            exhaustiveTop.put(nbits, exhaustive);
            System.out.printf(Locale.ROOT, "exhaustive MaxSim: %.1f ms/query%n", exhaustiveMs);
            if (nbits > 0) {
              System.out.printf(
                  Locale.ROOT,
                  "top-%d overlap, exhaustive nbits=%d vs exhaustive float32: %.3f%n",
                  k,
                  nbits,
                  overlap(exhaustive, exhaustiveTop.get(0)));
            }
            System.out.printf(
                Locale.ROOT,
                "PLAID (defaults): %.1f ms/query; exhaustive/PLAID time ratio %.1fx; top-%d overlap with exhaustive on this index %.3f, with exhaustive float32 %.3f%n",
                plaidMs,
                exhaustiveMs / plaidMs,
                k,
                overlap(plaid, exhaustive),
                overlap(plaid, exhaustiveTop.get(0)));
            if (Integer.toString(nbits).equals(options.get("sweep"))) {
              sweep(searcher, k, exhaustive, exhaustiveMs);
            }
          }
        }
        IOUtils.rm(path);
      }
    } finally {
      if (options.containsKey("work") == false) {
        IOUtils.rm(work);
      }
    }
  }

  /** PLAID's time and overlap over a grid of nprobe × ndocs ({@code --sweep NBITS}). */
  private void sweep(IndexSearcher searcher, int k, List<Set<Integer>> exhaustive, double exhaustiveMs)
      throws IOException {
    for (int nprobe : new int[] {1, 2, 4, 8}) {
      for (int ndocs : new int[] {32, 64, 128, 256, 512}) {
        if (ndocs < k) {
          continue;
        }
        QueryFactory plaid =
            q -> new PlaidQuery("mv", q, k, nprobe, PlaidQuery.DEFAULT_CANDIDATE_CAP, ndocs, Float.NEGATIVE_INFINITY, null);
        List<List<Set<Integer>>> tops = new ArrayList<>();
        double ms = timeQueries(searcher, List.of(plaid), k, queries, tops)[0];
        List<Set<Integer>> top = tops.get(0);
        System.out.printf(
            Locale.ROOT,
            "  sweep nprobe=%d ndocs=%d: %.1f ms/query (%.1fx faster than exhaustive), top-%d overlap %.3f%n",
            nprobe,
            ndocs,
            ms,
            exhaustiveMs / ms,
            k,
            overlap(top, exhaustive));
      }
    }
  }

  // ---------------------------------------------------------------- indexing and storage

  /**
   * Trains the codebook the way a flush of all the data would (a uniform sample of at most {@link
   * MultiVectorField#DEFAULT_TRAINING_SAMPLE} vectors, {@code 2^floor(log2(16·√n))} centroids
   * unless {@code --centroids}), timed, and hands it to every flush through a {@link
   * CodebookSource}: the index then has one codebook fitted to its full size, as an index with a
   * shared codebook has.
   */
  private ResidualCodebook train(int nbits, int centroids, Random random) {
    int k = centroids > 0 ? centroids : (int) Long.highestOneBit((long) (16 * Math.sqrt(totalTokens)));
    int sampleSize = (int) Math.min(totalTokens, MultiVectorField.DEFAULT_TRAINING_SAMPLE);
    float[][] sample = new float[sampleSize][];
    for (int i = 0; i < sampleSize; i++) {
      float[] doc = docs.get(random.nextInt(docs.size()));
      int t = random.nextInt(doc.length / dim);
      sample[i] = java.util.Arrays.copyOfRange(doc, t * dim, (t + 1) * dim);
    }
    long start = System.nanoTime();
    ResidualCodebook codebook = ResidualCodebook.train(sample, nbits, k, random.nextLong());
    System.out.printf(
        Locale.ROOT,
        "codebook training: %d centroids from a sample of %d of the %d vectors, %.1f s%n",
        codebook.numCentroids(),
        sampleSize,
        totalTokens,
        (System.nanoTime() - start) / 1e9);
    return codebook;
  }

  private void index(Directory dir, int nbits, ResidualCodebook codebook) throws IOException {
    FieldType type = MultiVectorField.createFieldType(dim, nbits, VectorSimilarityFunction.DOT_PRODUCT);
    CodebookSource timed =
        new CodebookSource() {
          @Override
          public ResidualCodebook codebook(String field, int dimension, int bits) {
            return codebook;
          }

          @Override
          public void trained(String field, ResidualCodebook trained) {
            throw new AssertionError("the writer should not train");
          }
        };
    DocValuesFormat format = new MultiVectorDocValuesFormat(timed);
    Codec codec =
        new Lucene912Codec() {
          @Override
          public DocValuesFormat getDocValuesFormatForField(String field) {
            return format;
          }
        };
    IndexWriterConfig iwc = new IndexWriterConfig().setCodec(codec).setUseCompoundFile(false);
    iwc.setRAMBufferSizeMB(1024);
    long start = System.nanoTime();
    try (IndexWriter writer = new IndexWriter(dir, iwc)) {
      for (float[] flat : docs) {
        Document doc = new Document();
        doc.add(new MultiVectorField("mv", rows(flat), type));
        writer.addDocument(doc);
      }
      writer.commit();
      long flushed = System.nanoTime();
      writer.forceMerge(1);
      System.out.printf(
          Locale.ROOT,
          "indexing: %.1f s to add, encode and flush %d segment(s) (%.1f µs per token vector), %.1f s to merge into one%n",
          (flushed - start) / 1e9,
          segmentCount(dir),
          (flushed - start) / 1e3 / totalTokens,
          (System.nanoTime() - flushed) / 1e9);
    }
  }

  private static int segmentCount(Directory dir) throws IOException {
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      return reader.leaves().size();
    }
  }

  private void reportStorage(Directory dir, int nbits) throws IOException {
    long data = 0, meta = 0, codebooks = 0;
    for (String file : dir.listAll()) {
      long length = dir.fileLength(file);
      if (file.endsWith(".mvd")) {
        data += length;
      } else if (file.endsWith(".mvm")) {
        meta += length;
      } else if (file.endsWith(".mvc")) {
        codebooks += length;
      }
    }
    double perToken = (double) (data + meta) / totalTokens;
    double payload = nbits == 0 ? dim * 4.0 : 4 + dim * nbits / 8.0;
    System.out.printf(
        Locale.ROOT,
        "storage: %.2f bytes per token vector (payload + postings + per-document data + metadata; float32 would be %d), goal %s %.2f (+5%% = %.2f): %s; codebooks %d bytes (%.2f per token vector) reported separately%n",
        perToken,
        dim * 4,
        nbits == 0 ? "4 + 4·dim =" : "4 + dim·nbits/8 =",
        payload,
        payload * 1.05,
        perToken <= payload * 1.05 ? "within" : "OVER",
        codebooks,
        (double) codebooks / totalTokens);
  }

  // ---------------------------------------------------------------- queries

  @FunctionalInterface
  private interface QueryFactory {
    Query create(float[][] query);
  }

  private double[] timeQueries(
      IndexSearcher searcher, List<QueryFactory> factories, int k, List<float[]> queries)
      throws IOException {
    return timeQueries(searcher, factories, k, queries, new ArrayList<>());
  }

  /**
   * Runs every query with each factory in turn; returns the mean milliseconds per query of each
   * factory and adds, per factory, the top documents of each query to {@code tops}.
   */
  private double[] timeQueries(
      IndexSearcher searcher,
      List<QueryFactory> factories,
      int k,
      List<float[]> queries,
      List<List<Set<Integer>>> tops)
      throws IOException {
    long[] elapsed = new long[factories.size()];
    for (int f = 0; f < factories.size(); f++) {
      tops.add(new ArrayList<>());
    }
    for (float[] q : queries) {
      float[][] query = rows(q);
      for (int f = 0; f < factories.size(); f++) {
        long start = System.nanoTime();
        TopDocs hits = searcher.search(factories.get(f).create(query), k);
        elapsed[f] += System.nanoTime() - start;
        Set<Integer> docs = new HashSet<>();
        for (ScoreDoc hit : hits.scoreDocs) {
          docs.add(hit.doc);
        }
        tops.get(f).add(docs);
      }
    }
    double[] ms = new double[factories.size()];
    for (int f = 0; f < ms.length; f++) {
      ms[f] = elapsed[f] / 1e6 / queries.size();
    }
    return ms;
  }

  private static double overlap(List<Set<Integer>> a, List<Set<Integer>> b) {
    double sum = 0;
    for (int i = 0; i < a.size(); i++) {
      Set<Integer> common = new HashSet<>(a.get(i));
      common.retainAll(b.get(i));
      sum += b.get(i).isEmpty() ? 1 : (double) common.size() / b.get(i).size();
    }
    return sum / a.size();
  }

  private float[][] rows(float[] flat) {
    float[][] rows = new float[flat.length / dim][dim];
    for (int t = 0; t < rows.length; t++) {
      System.arraycopy(flat, t * dim, rows[t], 0, dim);
    }
    return rows;
  }

  // ---------------------------------------------------------------- data

  private void loadOrGenerate(Random random) throws IOException {
    int numQueries = intOption("num-queries", 30);
    if (options.containsKey("vectors")) {
      int[] counts = readInts(Paths.get(options.get("counts")));
      // --max-docs: the first documents only, to fit a smaller heap
      readMatrices(Paths.get(options.get("vectors")), counts, intOption("max-docs", counts.length), docs);
      System.out.println("input: real vectors from " + options.get("vectors"));
      if (options.containsKey("queries")) {
        int[] qcounts = readInts(Paths.get(options.get("query-counts")));
        List<float[]> all = new ArrayList<>();
        readMatrices(Paths.get(options.get("queries")), qcounts, qcounts.length, all);
        queries.addAll(all.subList(0, Math.min(numQueries, all.size())));
        System.out.println("queries: real query vectors from " + options.get("queries"));
      } else {
        for (int i = 0; i < numQueries; i++) {
          float[] doc = docs.get(random.nextInt(docs.size()));
          int tokens = doc.length / dim;
          int n = Math.min(SAMPLED_QUERY_TOKENS, tokens);
          float[] q = new float[n * dim];
          for (int t = 0; t < n; t++) {
            System.arraycopy(doc, random.nextInt(tokens) * dim, q, t * dim, dim);
          }
          queries.add(q);
        }
        System.out.println(
            "queries: SAMPLED, " + SAMPLED_QUERY_TOKENS + " random token vectors of random documents");
      }
    } else {
      generate(random, intOption("docs", 2000), intOption("dim", 128), numQueries);
      System.out.println("input: SYNTHETIC clustered token vectors (no --vectors given)");
    }
    for (float[] d : docs) {
      totalTokens += d.length / dim;
    }
  }

  /** Token vectors as term directions plus context noise; documents and queries have topics. */
  private void generate(Random random, int numDocs, int dim, int numQueries) {
    this.dim = dim;
    int terms = 4096, topics = 64;
    float[][] termVectors = new float[terms][dim];
    for (float[] t : termVectors) {
      for (int j = 0; j < dim; j++) {
        t[j] = (float) random.nextGaussian();
      }
      normalize(t, 0, dim);
    }
    // each topic prefers 256 terms; a token picks a topic term 70% of the time (Zipf-like rank)
    int[][] topicTerms = new int[topics][256];
    for (int[] tt : topicTerms) {
      for (int i = 0; i < tt.length; i++) {
        tt[i] = random.nextInt(terms);
      }
    }
    for (int d = 0; d < numDocs; d++) {
      int topic = random.nextInt(topics);
      int tokens = 32 + random.nextInt(225);
      float[] doc = new float[tokens * dim];
      for (int t = 0; t < tokens; t++) {
        token(random, termVectors, pickTerm(random, topicTerms[topic], terms), doc, t * dim);
      }
      docs.add(doc);
    }
    for (int i = 0; i < numQueries; i++) {
      int topic = random.nextInt(topics);
      float[] q = new float[SAMPLED_QUERY_TOKENS * dim];
      for (int t = 0; t < SAMPLED_QUERY_TOKENS; t++) {
        token(random, termVectors, pickTerm(random, topicTerms[topic], terms), q, t * dim);
      }
      queries.add(q);
    }
  }

  private static int pickTerm(Random random, int[] topicTerms, int terms) {
    if (random.nextFloat() < 0.7f) {
      double u = random.nextDouble(); // rank ~ Zipf: smaller ranks much more frequent
      return topicTerms[(int) (topicTerms.length * u * u * u)];
    }
    return random.nextInt(terms);
  }

  private static void token(Random random, float[][] termVectors, int term, float[] out, int offset) {
    int dim = termVectors[term].length;
    for (int j = 0; j < dim; j++) {
      out[offset + j] = termVectors[term][j] + 0.6f * (float) random.nextGaussian() / (float) Math.sqrt(dim);
    }
    normalize(out, offset, dim);
  }

  private static void normalize(float[] v, int offset, int dim) {
    double s = 0;
    for (int j = 0; j < dim; j++) {
      s += (double) v[offset + j] * v[offset + j];
    }
    float inv = (float) (1 / Math.sqrt(s));
    for (int j = 0; j < dim; j++) {
      v[offset + j] *= inv;
    }
  }

  // ---------------------------------------------------------------- file formats

  /**
   * Reads one token matrix per count, for the first {@code limit} counts, from a float32 file (raw,
   * or .npy of shape (n, dim)).
   */
  private void readMatrices(Path path, int[] counts, int limit, List<float[]> out)
      throws IOException {
    long dataOffset = 0;
    long floats;
    try (FileChannel channel = FileChannel.open(path)) {
      if (path.toString().endsWith(".npy")) {
        Npy npy = Npy.header(path);
        if (npy.shape.length != 2 || npy.descr.equals("<f4") == false) {
          throw new IllegalArgumentException(path + ": expected a float32 (n, dim) array, got " + npy);
        }
        if (dim != 0 && dim != npy.shape[1]) {
          throw new IllegalArgumentException(path + ": dimension " + npy.shape[1] + " != " + dim);
        }
        dim = (int) npy.shape[1];
        dataOffset = npy.dataOffset;
      } else if (dim == 0) {
        dim = intOption("dim", 0);
        if (dim <= 0) {
          throw new IllegalArgumentException("--dim is required with raw float32 files");
        }
      }
      floats = (channel.size() - dataOffset) / Float.BYTES;
      long expected = 0;
      for (int count : counts) {
        expected += (long) count * dim;
      }
      if (expected != floats) {
        throw new IllegalArgumentException(
            "counts sum to " + expected / dim + " vectors, " + path + " has " + floats / dim);
      }
      channel.position(dataOffset);
      ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      buffer.flip();
      for (int count : Arrays.copyOf(counts, Math.min(limit, counts.length))) {
        float[] matrix = new float[count * dim];
        for (int i = 0; i < matrix.length; ) {
          if (buffer.remaining() < Float.BYTES) {
            buffer.compact();
            channel.read(buffer);
            buffer.flip();
          }
          int n = Math.min(matrix.length - i, buffer.remaining() / Float.BYTES);
          buffer.asFloatBuffer().get(matrix, i, n);
          buffer.position(buffer.position() + n * Float.BYTES);
          i += n;
        }
        if (count > 0) {
          out.add(matrix);
        }
      }
    }
  }

  private static int[] readInts(Path path) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    String descr = "<i4";
    if (path.toString().endsWith(".npy")) {
      Npy npy = Npy.header(path);
      if (npy.shape.length != 1) {
        throw new IllegalArgumentException(path + ": expected a 1-d array, got " + npy);
      }
      descr = npy.descr;
      bytes.position((int) npy.dataOffset);
    }
    if (descr.equals("<i8")) {
      long[] longs = new long[bytes.remaining() / Long.BYTES];
      bytes.asLongBuffer().get(longs);
      int[] out = new int[longs.length];
      for (int i = 0; i < longs.length; i++) {
        out[i] = Math.toIntExact(longs[i]);
      }
      return out;
    }
    if (descr.equals("<i4") == false) {
      throw new IllegalArgumentException(path + ": expected int32 or int64 counts, got " + descr);
    }
    int[] out = new int[bytes.remaining() / Integer.BYTES];
    bytes.asIntBuffer().get(out);
    return out;
  }

  /** The header of a NumPy .npy file (version 1 to 3, C order, little-endian data). */
  private static final class Npy {
    String descr;
    long[] shape;
    long dataOffset;

    static Npy header(Path path) throws IOException {
      try (DataInputStream in = new DataInputStream(Files.newInputStream(path))) {
        byte[] magic = new byte[6];
        in.readFully(magic);
        if (magic[0] != (byte) 0x93
            || new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY") == false) {
          throw new IllegalArgumentException(path + " is not a .npy file");
        }
        int major = in.readUnsignedByte();
        in.readUnsignedByte();
        byte[] lengthBytes = new byte[major == 1 ? 2 : 4];
        in.readFully(lengthBytes);
        ByteBuffer lb = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = major == 1 ? Short.toUnsignedInt(lb.getShort()) : lb.getInt();
        byte[] header = new byte[headerLength];
        in.readFully(header);
        String dict = new String(header, StandardCharsets.ISO_8859_1);
        Npy npy = new Npy();
        npy.descr = match(dict, "'descr':\\s*'([^']+)'");
        if (match(dict, "'fortran_order':\\s*(\\w+)").equals("False") == false) {
          throw new IllegalArgumentException(path + ": Fortran order is not supported");
        }
        List<Long> shape = new ArrayList<>();
        for (String d : match(dict, "'shape':\\s*\\(([^)]*)\\)").split(",")) {
          if (d.isBlank() == false) {
            shape.add(Long.parseLong(d.trim()));
          }
        }
        npy.shape = shape.stream().mapToLong(Long::longValue).toArray();
        npy.dataOffset = 6 + 2 + lengthBytes.length + headerLength;
        return npy;
      }
    }

    private static String match(String dict, String regex) {
      Matcher m = Pattern.compile(regex).matcher(dict);
      if (m.find() == false) {
        throw new IllegalArgumentException("bad .npy header: " + dict);
      }
      return m.group(1);
    }

    @Override
    public String toString() {
      return descr + " " + java.util.Arrays.toString(shape);
    }
  }
}
