package org.neuralsolr.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.PluginInfo;
import org.apache.solr.core.SolrConfig;
import org.apache.solr.core.SolrCore;
import org.neuralsolr.model.NeuralModelRegistry;

/**
 * Which plugins of a core's solrconfig.xml name a model: any argument called {@code model} (or
 * ending in {@code .model}, such as a handler default {@code hl.neural.model}) whose value is the
 * model's name, in update processors (their field mappings), query parsers, search components and
 * request handlers. Unloading a model one of them names would break it, so the API refuses.
 */
final class ModelReferences {
  private ModelReferences() {}

  /** Descriptions such as {@code updateProcessor 'neural-dense' (fields/vector/model)}. */
  static List<String> of(SolrCore core, String model) {
    List<String> found = new ArrayList<>();
    for (SolrConfig.SolrPluginInfo type : SolrConfig.plugins) {
      for (PluginInfo info : core.getSolrConfig().getPluginInfos(type.clazz.getName())) {
        scan(info, model, found);
      }
    }
    return found;
  }

  private static void scan(PluginInfo info, String model, List<String> found) {
    if (info.className != null && info.className.equals(NeuralModelRegistry.class.getName())) {
      return;
    }
    List<String> paths = new ArrayList<>();
    walk(info.initArgs, "", model, paths);
    for (String path : paths) {
      found.add(info.type + " '" + (info.name == null ? info.className : info.name) + "' (" + path + ")");
    }
    for (PluginInfo child : info.children) {
      scan(child, model, found);
    }
  }

  private static void walk(Object value, String path, String model, List<String> paths) {
    if (value instanceof NamedList) {
      NamedList<?> nl = (NamedList<?>) value;
      for (int i = 0; i < nl.size(); i++) {
        String name = nl.getName(i);
        Object v = nl.getVal(i);
        String p = path.isEmpty() ? String.valueOf(name) : path + "/" + name;
        if (name != null && (name.equals("model") || name.endsWith(".model")) && model.equals(String.valueOf(v))) {
          paths.add(p);
        } else {
          walk(v, p, model, paths);
        }
      }
    } else if (value instanceof List) {
      for (Object o : (List<?>) value) {
        walk(o, path, model, paths);
      }
    } else if (value instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        walk(new NamedList<>(Map.of(String.valueOf(e.getKey()), e.getValue())), path, model, paths);
      }
    }
  }
}
