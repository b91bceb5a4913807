import { KeyBusyError } from './errors.js';

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
  /** Keys with a holder, each with the holders waiting for it in arrival order. */
  private readonly waiting = new Map<string, (() => void)[]>();

  /**
   * @param maxWaiters holders that may wait for one key; one more is refused at once with
   *   {@link KeyBusyError}. Why a bound: under overload a hot key's queue would grow with every
   *   write in flight, each holding its request (and value) in memory, and the last of them would
   *   start long after its coordinator gave up.
   */
  constructor(private readonly maxWaiters = 64) {}

  /**
   * Runs `fn` once every earlier holder of `key` has finished, and releases the key when the
   * promise `fn` returns settles (resolved or rejected; a synchronous throw counts as a
   * rejection). Holders of one key run in arrival order. When nobody holds the key, `fn` runs
   * at once, synchronously: the uncontended path (nearly every write) costs no extra turn.
   */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const queue = this.waiting.get(key);
    if (queue === undefined) {
      this.waiting.set(key, []);
      return this.hold(key, fn);
    }
    if (queue.length >= this.maxWaiters) return Promise.reject(new KeyBusyError(queue.length, this.maxWaiters));
    return new Promise<T>((resolve, reject) => {
      queue.push(() => {
        this.hold(key, fn).then(resolve, reject);
      });
    });
  }

  /** Number of keys that currently have a holder or waiters. */
  get lockedKeys(): number {
    return this.waiting.size;
  }

  private hold<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = fn();
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const release = (): void => {
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (next === undefined) this.waiting.delete(key);
      else next();
    };
    result.then(release, release);
    return result;
  }
}
