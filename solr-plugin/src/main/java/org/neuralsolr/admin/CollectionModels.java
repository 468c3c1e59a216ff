package org.neuralsolr.admin;

import java.util.Set;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.cloud.ZkController;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.SolrQueryRequest;

/**
 * Model changes ({@code action=load|reload|unload}) on a SolrCloud collection: the core that
 * receives the request changes its own models and keeps the change in the collection's configset
 * (see {@code NeuralModelRegistry}), then sends it with {@code distrib=false} to every other active
 * replica of the collection, which change their models alone. A replica that is down loads the
 * kept models when it comes back.
 */
final class CollectionModels {
  private CollectionModels() {}

  static boolean inCloud(SolrCore core) {
    return core.getCoreDescriptor().getCloudDescriptor() != null;
  }

  /** A request one replica passed on to this one: change this core only, keep nothing. */
  static boolean isShardRequest(SolrQueryRequest req) {
    return inCloud(req.getCore()) && !req.getParams().getBool("distrib", true);
  }

  /** Per other replica of the collection: {@code ok}, or why not. */
  static SimpleOrderedMap<Object> forward(SolrCore core, SolrParams params) {
    ZkController zk = core.getCoreContainer().getZkController();
    String collectionName = core.getCoreDescriptor().getCloudDescriptor().getCollectionName();
    DocCollection collection = zk.getClusterState().getCollection(collectionName);
    Set<String> live = zk.getZkStateReader().getClusterState().getLiveNodes();
    SimpleOrderedMap<Object> out = new SimpleOrderedMap<>();
    for (Replica r : collection.getReplicas()) {
      if (r.getCoreName().equals(core.getName()) && r.getNodeName().equals(zk.getNodeName())) {
        continue;
      }
      if (!r.isActive(live)) {
        out.add(r.getCoreName(), "not active: applies the configset's models when it loads");
        continue;
      }
      ModifiableSolrParams p = new ModifiableSolrParams(params);
      p.set("distrib", false);
      p.set("wt", "javabin");
      GenericSolrRequest request = new GenericSolrRequest(SolrRequest.METHOD.POST, "/neural/models", p).setRequiresCollection(true);
      try {
        core.getCoreContainer().getDefaultHttpSolrClient().requestWithBaseUrl(r.getBaseUrl(), r.getCoreName(), request);
        out.add(r.getCoreName(), "ok");
      } catch (Exception e) {
        out.add(r.getCoreName(), "failed: " + e.getMessage());
      }
    }
    return out;
  }
}
