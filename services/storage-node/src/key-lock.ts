/**
 * Per-key mutual exclusion for read-modify-writes.
 *
 * Why: a coordinate or merge reads a key's sibling set, computes the new set and writes it back.
 * LevelDB has no transactions, so two such operations on one key that interleave (both read
 * the old set, both write) would lose one write — and for coordinate, both could mint a dot from
 * the same counter, giving two different values the same identity. Holding the key's lock from
 * the read until the write is on disk makes every RMW of a key see the previous one's result.
 * Different keys never wait for each other.
 */
export class KeyedMutex {
  /** The tail of each key's queue: resolves when the last queued holder releases. */
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` once every earlier holder of `key` has finished, and releases the key when `fn`
   * settles (resolved or rejected). Holders of one key run in arrival order.
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // `previous` only ever resolves (it is built from `mine` promises), so the chain never rejects.
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Number of keys that currently have a holder or waiters. */
  get lockedKeys(): number {
    return this.tails.size;
  }
}
