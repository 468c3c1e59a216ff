package org.neuralsolr.highlight;

import java.io.IOException;
import java.util.Map;
import org.apache.solr.common.params.HighlightParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.SolrCore;
import org.apache.solr.handler.component.HighlightComponent;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.handler.component.ShardRequest;
import org.apache.solr.handler.component.ShardResponse;
import org.apache.solr.highlight.SolrHighlighter;
import org.apache.solr.util.SolrResponseUtil;
import org.apache.solr.util.SolrPluginUtils;

/**
 * Solr's highlight component plus {@code hl.method=neural}, a {@link NeuralHighlighter}. Declared
 * under Solr's own name, it replaces the default component, so every other {@code hl.method} works
 * as before:
 *
 * <pre>{@code
 * <searchComponent name="highlight" class="org.neuralsolr.highlight.NeuralHighlightComponent">
 *   <lst name="neural">
 *     <str name="model">bge-small</str>        <!-- hl.neural.model's default (method dense) -->
 *     <int name="maxSentences">2048</int>      <!-- sentences one request may score -->
 *   </lst>
 * </searchComponent>
 * }</pre>
 *
 * <p>Params: {@code hl.method=neural}, {@code hl.fl}, {@code hl.snippets} (per field too), {@code
 * hl.neural.method} ({@code dense} by default, {@code cross-encoder} or {@code maxsim}), {@code
 * hl.neural.model}, {@code hl.neural.text} (the query text; by default the main query's text, {@code
 * q} without its local params), {@code hl.neural.details=true} (every sentence's score), for {@code
 * maxsim} {@code hl.neural.field} and {@code hl.neural.encode} ({@code document} or {@code
 * sentences}); see docs/highlighting.md.
 *
 * <p>In SolrCloud each shard highlights its own hits in the fetch stage, as for Solr's highlighters,
 * and the coordinator merges the {@value NeuralHighlighter#DETAILS_SECTION} section as it merges
 * {@code highlighting}; a sentence's score depends on its document and the query only, so the
 * snippets do not depend on the sharding.
 */
public class NeuralHighlightComponent extends HighlightComponent {
  static final int DEFAULT_MAX_SENTENCES = 2048;

  private NeuralHighlighter neural;

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    String model = null;
    int maxSentences = DEFAULT_MAX_SENTENCES;
    if (info.initArgs != null && info.initArgs.get("neural") instanceof NamedList<?> args) {
      model = (String) args.get("model");
      Object max = args.get("maxSentences");
      if (max != null) {
        maxSentences = Integer.parseInt(max.toString());
      }
    }
    if (maxSentences < 1) {
      throw new IllegalArgumentException("neural highlighter: maxSentences must be at least 1, got " + maxSentences);
    }
    neural = new NeuralHighlighter(model == null || model.isBlank() ? null : model, maxSentences);
  }

  static boolean isNeural(SolrParams params) {
    return NeuralHighlighter.METHOD_NAME.equals(params.get(HighlightParams.METHOD));
  }

  @Override
  public SolrHighlighter getHighlighter(SolrParams params) {
    return isNeural(params) ? neural : super.getHighlighter(params);
  }

  @Override
  public void process(ResponseBuilder rb) throws IOException {
    if (!rb.doHighlights || !isNeural(rb.req.getParams())) {
      super.process(rb);
      return;
    }
    String text = rb.req.getParams().get(NeuralHighlighter.TEXT);
    if (text == null && rb.getQparser() != null) {
      text = rb.getQparser().getString();
    }
    String[] defaultFields = rb.getQparser() != null ? rb.getQparser().getDefaultHighlightFields() : null;
    NeuralHighlighter.Highlights h = neural.highlight(rb.getResults().docList, text, rb.req, defaultFields);
    rb.rsp.add(highlightingResponseField(), convertHighlights(h.snippets()));
    rb.rsp.add(NeuralHighlighter.DETAILS_SECTION, h.details());
  }

  @Override
  public void finishStage(ResponseBuilder rb) {
    super.finishStage(rb);
    if (!rb.doHighlights || rb.getStage() != ResponseBuilder.STAGE_GET_FIELDS || !isNeural(rb.req.getParams())) {
      return;
    }
    Map.Entry<String, Object>[] merged = newDetailsArray(rb.resultIds.size());
    for (ShardRequest sreq : rb.finished) {
      if ((sreq.purpose & ShardRequest.PURPOSE_GET_HIGHLIGHTS) == 0) {
        continue;
      }
      for (ShardResponse srsp : sreq.responses) {
        if (srsp.getException() != null) {
          continue;
        }
        Object details = SolrResponseUtil.getSubsectionFromShardResponse(rb, srsp, NeuralHighlighter.DETAILS_SECTION, false);
        if (details instanceof NamedList<?> nl) {
          @SuppressWarnings("unchecked")
          NamedList<Object> d = (NamedList<Object>) nl;
          SolrPluginUtils.copyNamedListIntoArrayByDocPosInResponse(d, rb.resultIds, merged);
        }
      }
    }
    rb.rsp.add(NeuralHighlighter.DETAILS_SECTION, SolrPluginUtils.removeNulls(merged, new org.apache.solr.common.util.SimpleOrderedMap<>()));
  }

  @SuppressWarnings("unchecked")
  private static Map.Entry<String, Object>[] newDetailsArray(int size) {
    return (Map.Entry<String, Object>[]) new NamedList.NamedListEntry<?>[size];
  }

  @Override
  public String getDescription() {
    return "Highlighting, and neural highlighting (hl.method=neural)";
  }
}
