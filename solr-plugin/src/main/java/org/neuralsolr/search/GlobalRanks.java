package org.neuralsolr.search;

import java.security.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrDocumentList;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.Utils;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.LocalSolrQueryRequest;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.request.SolrRequestHandler;
import org.apache.solr.request.SolrRequestInfo;
import org.apache.solr.response.ResultContext;
import org.apache.solr.response.SolrQueryResponse;
import org.noggit.JSONUtil;
import org.neuralsolr.search.RankFusion.RankedList;

/**
 * The top documents of each sub-query of a fusion over the whole collection, and how the
 * coordinator hands them to the shards.
 *
 * <p>Each sub-query runs as a search of its own through the request's handler, with the request's
 * params (so its {@code fq}, {@code df} and handler defaults apply) but its own {@code q}, the top
 * {@code depth} rows, only the uniqueKey and score, and ties broken by uniqueKey. In SolrCloud that
 * search is itself distributed, so ranks and scores are the collection's, not a shard's; standalone
 * it is local. Shards receive the lists as JSON, {@code [[["id","score"],...],...]}, scores written
 * as Java writes a float so that they are read back bit for bit.
 */
final class GlobalRanks {
  /** Params of the request that a sub-query's search must not inherit. */
  private static final String[] DROPPED = {
    CommonParams.DEBUG, CommonParams.DEBUG_QUERY, CommonParams.EXPLAIN_STRUCT, "rq", "cursorMark", "defType",
    "shards.info", CommonParams.SEGMENT_TERMINATE_EARLY, "json.facet"
  };
  /** Components a sub-query's search turns off. */
  private static final String[] OFF = {"facet", "hl", "stats", "group", "spellcheck", "mlt", "expand", "terms"};

  private GlobalRanks() {}

  /**
   * Runs {@code query} (the value of param {@code param}) for its top {@code depth} documents.
   *
   * @param level how deep this search nests in fusions (a sub-query may itself be a fusion)
   * @param badRequest turns a message into the parser's HTTP 400
   */
  static RankedList search(
      SolrQueryRequest req, String param, String query, int depth, String keyField, int level,
      Function<String, SolrException> badRequest) {
    ModifiableSolrParams p = new ModifiableSolrParams(req.getParams());
    for (String name : DROPPED) {
      p.remove(name);
    }
    for (String name : OFF) {
      p.set(name, false);
    }
    p.set(CommonParams.Q, query);
    p.set(CommonParams.START, 0);
    p.set(CommonParams.ROWS, depth);
    p.set(CommonParams.FL, keyField + ",score");
    p.set(CommonParams.SORT, "score desc," + keyField + " asc");
    p.set(CommonParams.OMIT_HEADER, true);
    p.set(FusionQParser.LEVEL_PARAM, level);

    SolrCore core = req.getCore();
    String path = handlerPath(req);
    SolrRequestHandler handler = core.getRequestHandler(path);
    SolrQueryResponse rsp = new SolrQueryResponse();
    try (LocalSolrQueryRequest sub = new LocalSolrQueryRequest(core, p) {
      @Override
      public Principal getUserPrincipal() {
        return req.getUserPrincipal();
      }
    }) {
      sub.getContext().put(CommonParams.PATH, path); // a distributed search sends its shards to the same handler
      SolrRequestInfo.setRequestInfo(new SolrRequestInfo(sub, rsp));
      try {
        core.execute(handler, sub, rsp);
        Exception e = rsp.getException();
        if (e instanceof SolrException && ((SolrException) e).code() == ErrorCode.BAD_REQUEST.code) {
          throw badRequest.apply("sub-query param '" + param + "': " + e.getMessage());
        } else if (e != null) {
          throw new SolrException(ErrorCode.getErrorCode(e instanceof SolrException ? ((SolrException) e).code() : 500),
              "{!fuse}: sub-query param '" + param + "' failed: " + e.getMessage(), e);
        }
        return toRankedList(rsp.getValues().get("response"), keyField);
      } finally {
        SolrRequestInfo.clearRequestInfo();
      }
    }
  }

  /** The handler the request came through (its defaults apply to the sub-queries too), else /select. */
  private static String handlerPath(SolrQueryRequest req) {
    Object path = req.getContext().get(CommonParams.PATH);
    if (path instanceof String && req.getCore().getRequestHandler((String) path) != null) {
      return (String) path;
    }
    return "/select";
  }

  private static RankedList toRankedList(Object response, String keyField) {
    List<String> ids = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    Iterable<SolrDocument> docs;
    if (response instanceof ResultContext) { // a local search
      docs = () -> ((ResultContext) response).getProcessedDocuments();
    } else if (response instanceof SolrDocumentList) { // merged from the shards
      docs = (SolrDocumentList) response;
    } else {
      throw new SolrException(ErrorCode.SERVER_ERROR, "{!fuse}: a sub-query's search returned " + response);
    }
    for (SolrDocument d : docs) {
      ids.add(String.valueOf(d.getFirstValue(keyField)));
      scores.add(((Number) d.getFirstValue("score")).floatValue());
    }
    float[] s = new float[scores.size()];
    for (int i = 0; i < s.length; i++) {
      s[i] = scores.get(i);
    }
    return new RankedList(ids, s);
  }

  /** The lists as the param shards receive. */
  static String encode(List<RankedList> lists) {
    List<List<List<String>>> json = new ArrayList<>();
    for (RankedList list : lists) {
      List<List<String>> pairs = new ArrayList<>(list.size());
      for (int i = 0; i < list.size(); i++) {
        pairs.add(List.of(list.ids().get(i), Float.toString(list.scores()[i])));
      }
      json.add(pairs);
    }
    return JSONUtil.toJSON(json, -1);
  }

  /** The lists handed over under {@code name}, checked: {@code expected} lists of [id, finite score]. */
  static List<RankedList> decode(SolrParams params, String name, int expected) {
    String encoded = params.get(name);
    Object json;
    try {
      json = Utils.fromJSONString(encoded);
    } catch (RuntimeException e) {
      throw bad(name, "is not JSON");
    }
    if (!(json instanceof List) || ((List<?>) json).size() != expected) {
      throw bad(name, "must hold " + expected + " ranked lists");
    }
    List<RankedList> lists = new ArrayList<>();
    for (Object list : (List<?>) json) {
      if (!(list instanceof List)) {
        throw bad(name, "must hold lists of [id, score] pairs");
      }
      List<?> pairs = (List<?>) list;
      List<String> ids = new ArrayList<>(pairs.size());
      float[] scores = new float[pairs.size()];
      for (int i = 0; i < pairs.size(); i++) {
        Object pair = pairs.get(i);
        if (!(pair instanceof List) || ((List<?>) pair).size() != 2 || !(((List<?>) pair).get(0) instanceof String)) {
          throw bad(name, "must hold lists of [id, score] pairs");
        }
        ids.add((String) ((List<?>) pair).get(0));
        try {
          scores[i] = Float.parseFloat(String.valueOf(((List<?>) pair).get(1)));
        } catch (NumberFormatException e) {
          throw bad(name, "holds a score that is not a number");
        }
        if (!Float.isFinite(scores[i])) {
          throw bad(name, "holds a non-finite score");
        }
      }
      lists.add(new RankedList(ids, scores));
    }
    return lists;
  }

  private static SolrException bad(String name, String what) {
    return new SolrException(ErrorCode.BAD_REQUEST, "{!fuse}: param '" + name + "' " + what);
  }
}
