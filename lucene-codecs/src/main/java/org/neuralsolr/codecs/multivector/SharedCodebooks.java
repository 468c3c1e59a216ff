package org.neuralsolr.codecs.multivector;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One heap copy per codebook id. With a shared codebook every segment stores the same codebook;
 * each segment reader would otherwise hold its own copy of the centroids (and of their transposed
 * index once queried), tens of MB each at ColBERT scale. Entries are weak: a codebook no open
 * segment uses is collected.
 */
final class SharedCodebooks {

  private static final ConcurrentHashMap<Key, Ref> CODEBOOKS = new ConcurrentHashMap<>();
  private static final ReferenceQueue<ResidualCodebook> CLEARED = new ReferenceQueue<>();

  private SharedCodebooks() {}

  /** The instance to keep for a codebook just read: an equal one already in use, or this one. */
  static ResidualCodebook canonical(ResidualCodebook read) {
    for (Object r; (r = CLEARED.poll()) != null; ) {
      CODEBOOKS.remove(((Ref) r).key, r);
    }
    Key key = new Key(read.id());
    while (true) {
      Ref ref = CODEBOOKS.get(key);
      ResidualCodebook existing = ref == null ? null : ref.get();
      if (existing != null && existing.sameContentAs(read)) {
        return existing;
      }
      Ref mine = new Ref(key, read);
      if (ref == null ? CODEBOOKS.putIfAbsent(key, mine) == null : CODEBOOKS.replace(key, ref, mine)) {
        return read;
      }
    }
  }

  private record Key(byte[] id) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(id, k.id);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(id);
    }
  }

  private static final class Ref extends WeakReference<ResidualCodebook> {
    final Key key;

    Ref(Key key, ResidualCodebook codebook) {
      super(codebook, CLEARED);
      this.key = key;
    }
  }
}
