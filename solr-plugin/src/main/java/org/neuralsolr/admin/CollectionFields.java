package org.neuralsolr.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.cloud.CloudDescriptor;
import org.apache.solr.cloud.ZkController;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.response.SolrQueryResponse;
import org.apache.solr.schema.SchemaField;
import org.neuralsolr.schema.MultiVectorField;

/**
 * {@code /neural/fields} of a SolrCloud collection: like a distributed query, the core that
 * receives the request asks one active replica of each shard (its leader when active) for its own
 * answer ({@code distrib=false}) and sums them: documents, postings, untrained token vectors and,
 * per codebook id, segments and documents. {@code shards} keeps each shard's answer; {@code
 * distrib=false} answers for the receiving core alone, as a standalone core always does.
 */
final class CollectionFields {
  private CollectionFields() {}

  static boolean distributed(SolrQueryRequest req) {
    CloudDescriptor cloud = req.getCore().getCoreDescriptor().getCloudDescriptor();
    return cloud != null && req.getParams().getBool("distrib", true);
  }

  @SuppressWarnings("unchecked")
  static void handle(SolrQueryRequest req, SolrQueryResponse rsp) throws Exception {
    SolrCore core = req.getCore();
    ZkController zk = core.getCoreContainer().getZkController();
    String collectionName = core.getCoreDescriptor().getCloudDescriptor().getCollectionName();
    DocCollection collection = zk.getClusterState().getCollection(collectionName);
    Set<String> live = zk.getZkStateReader().getClusterState().getLiveNodes();
    SimpleOrderedMap<Object> shards = new SimpleOrderedMap<>();
    List<NamedList<Object>> answers = new ArrayList<>();
    for (Slice slice : collection.getActiveSlices()) {
      Replica replica = oneActiveReplica(slice, live);
      if (replica == null) {
        throw new SolrException(
            ErrorCode.SERVICE_UNAVAILABLE, "shard " + slice.getName() + " of collection " + collectionName + " has no active replica: its fields cannot be counted");
      }
      NamedList<Object> fields = (NamedList<Object>) ask(core, replica).get("fields");
      answers.add(fields);
      SimpleOrderedMap<Object> shard = new SimpleOrderedMap<>();
      shard.add("core", replica.getCoreName());
      shard.add("node", replica.getNodeName());
      shard.add("fields", fields);
      shards.add(slice.getName(), shard);
    }
    rsp.add("collection", collectionName);
    rsp.add("fields", merge(req, answers));
    rsp.add("shards", shards);
  }

  /** The shard's leader if active, else another active replica, else null. */
  private static Replica oneActiveReplica(Slice slice, Set<String> live) {
    Replica leader = slice.getLeader();
    if (leader != null && leader.isActive(live)) {
      return leader;
    }
    for (Replica r : slice.getReplicas()) {
      if (r.isActive(live)) {
        return r;
      }
    }
    return null;
  }

  private static NamedList<Object> ask(SolrCore core, Replica replica) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("distrib", false);
    p.set("wt", "javabin");
    GenericSolrRequest request = new GenericSolrRequest(SolrRequest.METHOD.GET, "/neural/fields", p).setRequiresCollection(true);
    return core.getCoreContainer().getDefaultHttpSolrClient().requestWithBaseUrl(replica.getBaseUrl(), replica.getCoreName(), request).getResponse();
  }

  /** Sums the shards' answers field by field; settings (kind, type, dimension...) are the schema's. */
  @SuppressWarnings("unchecked")
  private static SimpleOrderedMap<Object> merge(SolrQueryRequest req, List<NamedList<Object>> answers) {
    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    if (answers.isEmpty()) {
      return out;
    }
    for (Map.Entry<String, Object> e : answers.get(0)) {
      String name = e.getKey();
      NamedList<Object> first = (NamedList<Object>) e.getValue();
      SimpleOrderedMap<Object> f = new SimpleOrderedMap<>();
      for (Map.Entry<String, Object> setting : first) {
        if (!setting.getKey().equals("codebook")) {
          f.add(setting.getKey(), setting.getValue());
        }
      }
      long documents = 0;
      long postings = 0;
      long untrainedSegments = 0;
      long untrainedTokenVectors = 0;
      Map<String, SimpleOrderedMap<Object>> books = new LinkedHashMap<>();
      for (NamedList<Object> shard : answers) {
        NamedList<Object> s = (NamedList<Object>) shard.get(name);
        if (s == null) {
          continue;
        }
        documents += number(s.get("documents"));
        postings += number(s.get("postings"));
        NamedList<Object> cb = (NamedList<Object>) s.get("codebook");
        if (cb != null) {
          untrainedSegments += number(cb.get("untrainedSegments"));
          untrainedTokenVectors += number(cb.get("untrainedTokenVectors"));
          for (Object o : (List<Object>) cb.get("codebooks")) {
            addCodebook(books, (NamedList<Object>) o);
          }
        }
      }
      f.setVal(f.indexOf("documents", 0), documents);
      if (f.get("postings") != null) {
        f.setVal(f.indexOf("postings", 0), postings);
        f.setVal(f.indexOf("meanTermsPerDocument", 0), documents == 0 ? 0 : (double) postings / documents);
      }
      NamedList<Object> firstCodebook = (NamedList<Object>) first.get("codebook");
      if (firstCodebook != null) {
        SchemaField sf = req.getSchema().getField(name);
        SimpleOrderedMap<Object> cb = new SimpleOrderedMap<>();
        cb.add("trainingThreshold", firstCodebook.get("trainingThreshold"));
        cb.add("untrainedSegments", untrainedSegments);
        cb.add("untrainedTokenVectors", untrainedTokenVectors);
        cb.add("state",
            NeuralAdminHandler.codebookState((MultiVectorField) sf.getType(), untrainedTokenVectors, firstCodebook.get("collection") != null, name));
        cb.add("configuredCentroids", firstCodebook.get("configuredCentroids"));
        cb.add("trainingSample", firstCodebook.get("trainingSample"));
        cb.add("codebooks", new ArrayList<>(books.values()));
        if (firstCodebook.get("collection") != null) {
          cb.add("collection", firstCodebook.get("collection"));
        }
        f.add("codebook", cb);
      }
      out.add(name, f);
    }
    return out;
  }

  /** A codebook is one id: the shards' segments and documents using it add up. */
  private static void addCodebook(Map<String, SimpleOrderedMap<Object>> books, NamedList<Object> c) {
    String id = (String) c.get("id");
    SimpleOrderedMap<Object> o = books.get(id);
    if (o == null) {
      o = new SimpleOrderedMap<>();
      for (Map.Entry<String, Object> e : c) {
        o.add(e.getKey(), e.getValue());
      }
      o.add("shards", 1);
      books.put(id, o);
      return;
    }
    o.setVal(o.indexOf("segments", 0), number(o.get("segments")) + number(c.get("segments")));
    o.setVal(o.indexOf("documents", 0), number(o.get("documents")) + number(c.get("documents")));
    o.setVal(o.indexOf("shards", 0), number(o.get("shards")) + 1);
    String oldest = (String) o.get("oldestSegmentWritten");
    String written = (String) c.get("oldestSegmentWritten");
    if (written != null && (oldest == null || written.compareTo(oldest) < 0)) {
      o.setVal(o.indexOf("oldestSegmentWritten", 0), written);
    }
  }

  private static long number(Object o) {
    return o instanceof Number ? ((Number) o).longValue() : 0;
  }
}
