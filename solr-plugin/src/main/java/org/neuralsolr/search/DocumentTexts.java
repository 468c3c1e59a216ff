package org.neuralsolr.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.IndexSearcher;

/**
 * A document's text for a model: the stored values of the {@code textFields}, in that order, joined
 * with single spaces (as the update processor joins its source fields). A document without any of
 * them has the empty text, which every mode can still score.
 */
final class DocumentTexts {
  private final List<String> fields;
  private final Set<String> fieldSet;

  DocumentTexts(List<String> fields) {
    this.fields = List.copyOf(fields);
    this.fieldSet = Set.copyOf(fields);
  }

  List<String> fields() {
    return fields;
  }

  List<String> read(IndexSearcher searcher, int[] docs) throws IOException {
    StoredFields stored = searcher.storedFields();
    List<String> texts = new ArrayList<>(docs.length);
    for (int doc : docs) {
      Document d = stored.document(doc, fieldSet);
      StringBuilder text = new StringBuilder();
      for (String field : fields) {
        for (IndexableField value : d.getFields(field)) {
          String s = value.stringValue();
          if (s != null && !s.isEmpty()) {
            if (text.length() > 0) {
              text.append(' ');
            }
            text.append(s);
          }
        }
      }
      texts.add(text.toString());
    }
    return texts;
  }
}
