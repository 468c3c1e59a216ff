package org.neuralsolr.search;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.BytesRefBuilder;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.ShardParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.search.SortSpec;
import org.apache.solr.search.SortSpecParsing;
import org.apache.solr.search.SyntaxError;
import org.neuralsolr.search.RankFusion.FusedHit;
import org.neuralsolr.search.RankFusion.RankedList;

/**
 * Parses one {@code {!fuse}} query; see {@link FusionQParserPlugin}.
 *
 * <p>Where the global ranks come from decides the role: a shard of a distributed request finds
 * them in the param the coordinator handed over; any other node (the coordinator, a standalone
 * core, a core asked with {@code distrib=false}) searches each sub-query itself, over whatever that
 * request spans, and hands the lists on to its shards through {@link QueryVectorHandoff}.
 */
class FusionQParser extends QParser {
  static final String METHOD = "method";
  static final String QUERIES = "queries";
  static final String K = "k";
  static final String DEPTH = "depth";
  static final String NORM = "norm";
  static final String WEIGHTS = "weights";
  static final int DEFAULT_K = 60;
  static final int DEFAULT_DEPTH = 100;
  /** Prefix of the param that carries the global ranked lists to the shards. */
  static final String RANKS_PARAM_PREFIX = "neural.fuse.";
  /** How deep the sub-queries of the search at hand nest {@code {!fuse}}; set on each sub-query's search. */
  static final String LEVEL_PARAM = "neural.fuseLevel";
  /** Deeper nesting is refused: a sub-query that names itself would recurse forever. */
  static final int MAX_LEVEL = 3;

  private final FusionQParserPlugin plugin;
  private RankFusion fusion;
  private List<String> names;
  private int depth;
  private boolean ranksReceived;

  FusionQParser(String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req, FusionQParserPlugin plugin) {
    super(qstr, localParams, params, req);
    this.plugin = plugin;
  }

  @Override
  public Query parse() {
    String method = localParams.get(METHOD, "rrf").trim();
    RankFusion.Method m = parseEnum(RankFusion.Method.class, METHOD, method, "rrf, linear");
    String normValue = localParams.get(NORM, "minmax").trim();
    RankFusion.Norm norm = parseEnum(RankFusion.Norm.class, NORM, normValue, "minmax, zscore, none");
    int k = LocalParamValues.intParam(localParams, K, DEFAULT_K, 1, Integer.MAX_VALUE, null, FusionQParser::badRequest);
    depth = LocalParamValues.intParam(localParams, DEPTH, DEFAULT_DEPTH, 1, plugin.maxDepth(), "maxDepth", FusionQParser::badRequest);

    String queries = localParams.get(QUERIES);
    names = queries == null ? List.of() : StrUtils.splitSmart(queries, ',').stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    if (names.size() < 2) {
      throw badRequest("param 'queries' must name at least two request params holding the sub-queries, e.g. queries=lex,vec; got '"
          + (queries == null ? "" : queries) + "'");
    }
    List<String> subQueries = new ArrayList<>();
    for (String name : names) {
      String q = params.get(name);
      if (q == null || q.isBlank()) {
        throw badRequest("sub-query param '" + name + "' (listed in 'queries') is missing");
      }
      subQueries.add(q);
    }
    fusion = new RankFusion(m, k, norm, parseWeights(names.size()));
    int level = params.getInt(LEVEL_PARAM, 0);
    if (level >= MAX_LEVEL) {
      throw badRequest("sub-queries nest {!fuse} more than " + MAX_LEVEL + " deep; does a sub-query param name itself in 'queries'?");
    }

    SchemaField key = req.getSchema().getUniqueKeyField();
    if (key == null) {
      throw badRequest("the schema has no uniqueKey, which fusion needs to identify documents across searches");
    }
    String ranksParam = RANKS_PARAM_PREFIX + digest(subQueries);
    List<RankedList> lists;
    if (params.get(ranksParam) != null) {
      lists = GlobalRanks.decode(params, ranksParam, names.size());
      ranksReceived = true;
    } else if (params.getBool(ShardParams.IS_SHARD, false)) {
      // fusing this shard's own lists would rank within the shard, not the collection
      throw new SolrException(
          ErrorCode.BAD_REQUEST,
          "{!fuse}: this shard request lacks the coordinator's global ranks (param " + ranksParam + "); list the "
              + "neural model registry component in the search handler's last-components");
    } else {
      lists = new ArrayList<>();
      for (int i = 0; i < names.size(); i++) {
        lists.add(GlobalRanks.search(req, names.get(i), subQueries.get(i), depth, key.getName(), level + 1, FusionQParser::badRequest));
      }
      QueryVectorHandoff.handOver(req, ranksParam, GlobalRanks.encode(lists));
    }
    List<FusedHit> hits = fusion.fuse(lists);
    BytesRef[] keys = new BytesRef[hits.size()];
    for (int i = 0; i < keys.length; i++) {
      BytesRefBuilder b = new BytesRefBuilder();
      key.getType().readableToIndexed(hits.get(i).id(), b);
      keys[i] = b.toBytesRef();
    }
    return new FusedScoresQuery(key.getName(), keys, hits, names, fusion);
  }

  /**
   * Without a {@code sort} param: score, then uniqueKey, so that equal fused scores (common with
   * RRF) come in the same order however the collection is sharded.
   */
  @Override
  public SortSpec getSortSpec(boolean useGlobalParams) throws SyntaxError {
    SortSpec spec = super.getSortSpec(useGlobalParams);
    SchemaField key = req.getSchema().getUniqueKeyField();
    if (params.get(CommonParams.SORT) != null || key == null) {
      return spec;
    }
    SortSpec byKey = SortSpecParsing.parseSortSpec("score desc," + key.getName() + " asc", req);
    byKey.setOffset(spec.getOffset());
    byKey.setCount(spec.getCount());
    return byKey;
  }

  private double[] parseWeights(int n) {
    double[] w = new double[n];
    String value = localParams.get(WEIGHTS);
    if (value == null) {
      Arrays.fill(w, 1.0);
      return w;
    }
    List<String> parts = StrUtils.splitSmart(value, ',');
    if (parts.size() != n) {
      throw badRequest("param 'weights' must hold one weight per sub-query (" + n + "), got " + parts.size() + ": '" + value + "'");
    }
    for (int i = 0; i < n; i++) {
      try {
        w[i] = Double.parseDouble(parts.get(i).trim());
      } catch (NumberFormatException e) {
        throw badRequest("param 'weights' must hold finite numbers, got '" + parts.get(i).trim() + "'");
      }
      if (!Double.isFinite(w[i])) {
        throw badRequest("param 'weights' must hold finite numbers, got '" + parts.get(i).trim() + "'");
      }
    }
    return w;
  }

  private static <E extends Enum<E>> E parseEnum(Class<E> type, String param, String value, String allowed) {
    try {
      return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw badRequest("param '" + param + "' must be one of " + allowed + ", got '" + value + "'");
    }
  }

  /** Names the lists of this fusion, so that several fusions in one request keep theirs apart. */
  private String digest(List<String> subQueries) {
    StringBuilder sb = new StringBuilder().append(depth);
    for (int i = 0; i < names.size(); i++) {
      sb.append('\u0000').append(names.get(i)).append('\u0000').append(subQueries.get(i));
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static SolrException badRequest(String message) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!fuse}: " + message);
  }

  @Override
  public void addDebugInfo(NamedList<Object> debugInfo) {
    super.addDebugInfo(debugInfo);
    if (fusion == null) {
      return;
    }
    NamedList<Object> fuse = new SimpleOrderedMap<>();
    fuse.add("fusion", fusion.describe());
    fuse.add("queries", names);
    fuse.add("depth", depth);
    fuse.add("ranksFromCoordinator", ranksReceived);
    debugInfo.add("fuse", fuse);
  }
}
