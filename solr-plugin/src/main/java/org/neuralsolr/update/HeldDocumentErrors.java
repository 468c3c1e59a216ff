package org.neuralsolr.update;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrException.ErrorCode;
import org.apache.solr.common.ToleratedUpdateError;
import org.apache.solr.common.ToleratedUpdateError.CmdType;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.update.AddUpdateCommand;
import org.apache.solr.update.SolrCmdDistributor.SolrError;
import org.apache.solr.update.processor.DistributedUpdateProcessor.DistributedUpdatesAsyncException;

/**
 * The errors of documents that failed while a {@link NeuralUpdateProcessor} behind a {@code
 * TolerantUpdateProcessorFactory} held them. The tolerant processor charges an error to the
 * document whose {@code processAdd} threw it, but a held document fails after its own {@code
 * processAdd} has returned. The one way the tolerant processor takes errors after the fact is the
 * way a leader reports the forwarded documents it refused: a {@link
 * DistributedUpdatesAsyncException} thrown from {@code finish()}, each error carrying {@link
 * ToleratedUpdateError} metadata that names the document. It lists them in the response's {@code
 * errors} and fails the request only if they exceed {@code maxErrors}.
 */
final class HeldDocumentErrors {
  private final List<SolrError> errors = new ArrayList<>();

  /** The finish of the processors after the neural one. */
  interface Finish {
    void run() throws IOException;
  }

  void add(AddUpdateCommand cmd, Exception cause) {
    int code = cause instanceof SolrException ? ((SolrException) cause).code() : ErrorCode.SERVER_ERROR.code;
    String message = String.valueOf(cause.getMessage());
    SolrException reported = new SolrException(ErrorCode.getErrorCode(code), message, cause);
    ToleratedUpdateError tolerated = new ToleratedUpdateError(CmdType.ADD, cmd.getPrintableId(), message);
    NamedList<String> metadata = new NamedList<>();
    metadata.add(tolerated.getMetadataKey(), tolerated.getMetadataValue());
    reported.setMetadata(metadata);
    SolrError error = new SolrError();
    error.e = reported;
    error.statusCode = code;
    errors.add(error);
  }

  /**
   * Runs {@code next} and then throws the held documents' errors, together with those of remote
   * shards that {@code next} (the distributed processor) threw, if there are any.
   */
  void finish(Finish next) throws IOException {
    List<SolrError> all = new ArrayList<>(errors);
    try {
      next.run();
    } catch (DistributedUpdatesAsyncException remote) {
      if (errors.isEmpty()) {
        throw remote;
      }
      all.addAll(remote.errors);
    }
    if (!all.isEmpty()) {
      throw new DistributedUpdatesAsyncException(all);
    }
  }
}
