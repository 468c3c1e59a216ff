package org.neuralsolr.search;

import java.io.IOException;
import org.apache.lucene.search.IndexSearcher;
import org.neuralsolr.model.TextRole;
import org.neuralsolr.model.TokenStatesEncoder;

/** Document token vectors encoded on the fly from stored text: a dense model's token states. */
final class EncodedTokenVectors implements DocumentTokenVectors {
  private final TokenStatesEncoder encoder;
  private final String modelName;
  private final DocumentTexts texts;

  EncodedTokenVectors(TokenStatesEncoder encoder, String modelName, DocumentTexts texts) {
    this.encoder = encoder;
    this.modelName = modelName;
    this.texts = texts;
  }

  @Override
  public TokenVectors[] read(IndexSearcher searcher, int[] docs) throws IOException {
    TokenStatesEncoder.TokenStates[] states = encoder.encode(texts.read(searcher, docs), TextRole.DOCUMENT);
    TokenVectors[] out = new TokenVectors[states.length];
    for (int i = 0; i < states.length; i++) {
      out[i] = new TokenVectors(states[i].vectors, states[i].count, states[i].dimension);
    }
    return out;
  }

  @Override
  public String describe() {
    return "token states of '" + modelName + "' encoded from " + texts.fields();
  }
}
