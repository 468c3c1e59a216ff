package org.neuralsolr.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.cloud.ZkController;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.SolrQueryRequest;
import org.neuralsolr.model.NeuralModelRegistry;

/**
 * Model changes ({@code action=load|reload|unload}) on a SolrCloud collection: the core that
 * receives the request changes its own models and keeps the change in the collection's configset
 * (see {@code NeuralModelRegistry}), then sends it with {@code distrib=false} to every other active
 * replica of the collection, which change their models alone. A replica that is down loads the
 * kept models when it comes back.
 *
 * <p>The requests go through the CoreContainer's default HTTP client, which Solr sets up with the
 * inter-node authentication (PKI): with security.json in force each replica sees the original
 * user and authorizes the change as the receiving node did.
 *
 * <p>A load that fails on some replica is undone: the replicas that loaded the model unload it
 * again (see {@link #undoLoad}), so the collection never serves a model on some replicas only.
 */
final class CollectionModels {
  /** The id of a collection-wide load, sent with it to the other replicas, which keep it with the model. */
  static final String LOAD_ID_PARAM = "loadId";
  /** Marks an unload that undoes the load of that id: no usage check (see below). */
  static final String UNDO_PARAM = "undo";

  private CollectionModels() {}

  static boolean inCloud(SolrCore core) {
    return core.getCoreDescriptor().getCloudDescriptor() != null;
  }

  /** A request one replica passed on to this one: change this core only, keep nothing. */
  static boolean isShardRequest(SolrQueryRequest req) {
    return inCloud(req.getCore()) && !req.getParams().getBool("distrib", true);
  }

  /**
   * An unload sent by {@link #undoLoad}: the model was loaded a moment ago by the load whose id it
   * names, so unloading it restores what the core served before; the usage check (409) is skipped
   * because a model that solrconfig.xml declares without a package is "used" by its plugins yet
   * must still be undone. An {@code undo} naming another load (or none this core made) is a 400,
   * so the param cannot be used to unload a model in use.
   */
  static boolean isUndo(SolrQueryRequest req, NeuralModelRegistry registry, String name) {
    String loadId = req.getParams().get(UNDO_PARAM);
    if (loadId == null) {
      return false;
    }
    if (!isShardRequest(req) || !registry.loadedIn(name, loadId)) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "param '" + UNDO_PARAM + "': model '" + name + "' of core '" + req.getCore().getName()
              + "' was not loaded by load '" + loadId + "' of its collection; only that load's own undo may name it");
    }
    return true;
  }

  /** What the other replicas answered to one change. */
  static final class FanOut {
    /** Per replica core: {@code ok}, {@code failed: ...} or {@code not active: ...}; the API's {@code replicas{}}. */
    final SimpleOrderedMap<Object> replicas = new SimpleOrderedMap<>();
    final List<Replica> succeeded = new ArrayList<>();
    /** Failed replicas whose answer never came (connection, timeout): they may have made the change. */
    final List<Replica> unanswered = new ArrayList<>();
    /** Per failed replica ({@code core on node}): why. */
    final Map<String, String> failed = new LinkedHashMap<>();
  }

  /** Sends the change to every other active replica of the collection. */
  static FanOut forward(SolrCore core, SolrParams params) {
    ZkController zk = core.getCoreContainer().getZkController();
    String collectionName = core.getCoreDescriptor().getCloudDescriptor().getCollectionName();
    DocCollection collection = zk.getClusterState().getCollection(collectionName);
    Set<String> live = zk.getZkStateReader().getClusterState().getLiveNodes();
    FanOut out = new FanOut();
    for (Replica r : collection.getReplicas()) {
      if (r.getCoreName().equals(core.getName()) && r.getNodeName().equals(zk.getNodeName())) {
        continue;
      }
      if (!r.isActive(live)) {
        out.replicas.add(r.getCoreName(), "not active: applies the configset's models when it loads");
        continue;
      }
      try {
        send(core, r, params);
        out.replicas.add(r.getCoreName(), "ok");
        out.succeeded.add(r);
      } catch (Exception e) {
        out.replicas.add(r.getCoreName(), "failed: " + why(e));
        out.failed.put(r.getCoreName() + " on " + r.getNodeName(), why(e));
        if (!(e instanceof SolrException)) { // a SolrException is the replica's own answer: it refused
          out.unanswered.add(r);
        }
      }
    }
    return out;
  }

  /**
   * Unloads model {@code name} from the replicas that loaded it in load {@code loadId} (and those
   * whose answer was lost), after a load that failed elsewhere; {@code fanOut.replicas} says what became of each. The
   * caller unloads it from its own core and from the configset.
   */
  static void undoLoad(SolrCore core, String name, String loadId, FanOut fanOut) {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("action", "unload");
    p.set("name", name);
    p.set(UNDO_PARAM, loadId);
    for (Replica r : fanOut.succeeded) {
      try {
        send(core, r, p);
        fanOut.replicas.setVal(fanOut.replicas.indexOf(r.getCoreName(), 0), "loaded, then unloaded again (the load failed elsewhere)");
      } catch (Exception e) {
        fanOut.replicas.setVal(fanOut.replicas.indexOf(r.getCoreName(), 0), "loaded, and unloading it again failed: " + why(e));
        fanOut.failed.put(r.getCoreName() + " on " + r.getNodeName() + " (undo)", why(e));
      }
    }
    for (Replica r : fanOut.unanswered) {
      try {
        send(core, r, p);
        fanOut.replicas.setVal(fanOut.replicas.indexOf(r.getCoreName(), 0), fanOut.replicas.get(r.getCoreName()) + "; it had loaded it: unloaded again");
      } catch (Exception e) {
        if (e instanceof SolrException && ((SolrException) e).code() == SolrException.ErrorCode.BAD_REQUEST.code) {
          continue; // its answer: it does not have the model (400 unknown model), as expected of a failed load
        }
        // it may have loaded the model and still serves it; the configset no longer keeps the model,
        // so its core's next load drops it
        fanOut.replicas.setVal(fanOut.replicas.indexOf(r.getCoreName(), 0), fanOut.replicas.get(r.getCoreName()) + "; unloading it again failed: " + why(e));
        fanOut.failed.put(r.getCoreName() + " on " + r.getNodeName() + " (undo)", why(e));
      }
    }
  }

  /**
   * The replica's answer, with its HTTP status; its first line only and at most 500 characters,
   * since a node that fails before Solr answers (401 from a servlet filter, a proxy) sends an HTML page.
   */
  static String why(Exception e) {
    String m = String.valueOf(e.getMessage());
    int eol = m.indexOf('\n');
    m = eol < 0 ? m : m.substring(0, eol);
    m = m.length() > 500 ? m.substring(0, 500) + "..." : m;
    return e instanceof SolrException && ((SolrException) e).code() > 0 ? "HTTP " + ((SolrException) e).code() + ": " + m : m;
  }

  private static void send(SolrCore core, Replica r, SolrParams params) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams(params);
    p.set("distrib", false);
    p.set("wt", "javabin");
    GenericSolrRequest request = new GenericSolrRequest(SolrRequest.METHOD.POST, "/neural/models", p).setRequiresCollection(true);
    core.getCoreContainer().getDefaultHttpSolrClient().requestWithBaseUrl(r.getBaseUrl(), r.getCoreName(), request);
  }
}
