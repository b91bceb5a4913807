/**
 * Filling a fresh tree from a scan, paced. How a storage node rebuilds a range's tree while it
 * keeps taking writes:
 *
 * 1. With no write batch between LevelDB and its tree update (pause the batcher, let the batch in
 *    flight finish and update the live tree), open the scan's iterator — classic-level takes its
 *    snapshot synchronously when the iterator is created — and, in the same synchronous step,
 *    start sending every later update to the fresh tree as well as the live one.
 * 2. `fillTree(fresh, scan, { pacer })`.
 * 3. Swap the fresh tree in (and compare it with the live one: a difference is drift, a bug or a
 *    lost update, worth a metric).
 *
 * Why it is exact: a write after the snapshot arrives as (old → new) while the scan brings `old`
 * (or nothing, for a new key); XOR commutes, so old ⊕ (old ⊕ new) = new whichever comes first.
 * A write the snapshot already holds must not be sent to the fresh tree, hence step 1's order.
 */
import type { MerkleTree } from './merkle-tree.js';
import type { KeyDigest } from './peer.js';
import type { Pacer } from './pacer.js';

/** Options of {@link fillTree}. */
export interface FillTreeOptions {
  /** Paces keys per second. Without one, the scan runs as fast as it can. */
  readonly pacer?: Pacer;
  /** Keys between two calls to the pacer. @default 256 */
  readonly chunk?: number;
  readonly signal?: AbortSignal;
}

/** Adds every entry to `tree` (as a key that was absent); returns how many. */
export async function fillTree(
  tree: MerkleTree,
  entries: AsyncIterable<KeyDigest> | Iterable<KeyDigest>,
  options: FillTreeOptions = {},
): Promise<number> {
  const chunk = Math.max(1, options.chunk ?? 256);
  let added = 0;
  for await (const e of entries) {
    if (added % chunk === 0) {
      options.signal?.throwIfAborted();
      await options.pacer?.take(chunk, options.signal);
    }
    tree.update(e.key, undefined, e.digest);
    added += 1;
  }
  return added;
}
