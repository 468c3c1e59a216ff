package org.neuralsolr.it;

import java.util.Map;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.request.GenericSolrRequest;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.util.NamedList;

/** Reads a core's info beans over HTTP, as the Admin UI's Plugins / Stats page does. */
final class MBeanStats {
  private MBeanStats() {}

  /** The {@code stats} of bean {@code key} in category {@code cat} of {@code core}. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> of(SolrClient client, String core, String cat, String key) throws Exception {
    ModifiableSolrParams p = new ModifiableSolrParams();
    p.set("stats", "true");
    p.set("cat", cat);
    p.set("key", key);
    NamedList<Object> rsp = client.request(new GenericSolrRequest(SolrRequest.METHOD.GET, "/admin/mbeans", p).setRequiresCollection(true), core);
    NamedList<Object> beans = (NamedList<Object>) rsp.get("solr-mbeans");
    NamedList<Object> category = (NamedList<Object>) beans.get(cat);
    NamedList<Object> bean = (NamedList<Object>) category.get(key);
    if (bean == null) {
      throw new AssertionError("no info bean " + cat + "/" + key + " in core " + core + ": " + category);
    }
    Object stats = bean.get("stats");
    return stats instanceof NamedList ? ((NamedList<Object>) stats).asShallowMap() : (Map<String, Object>) stats;
  }

  static double number(Map<String, Object> stats, String name) {
    Object v = stats.get(name);
    if (!(v instanceof Number)) {
      throw new AssertionError("no number " + name + " in " + stats.keySet());
    }
    return ((Number) v).doubleValue();
  }
}
