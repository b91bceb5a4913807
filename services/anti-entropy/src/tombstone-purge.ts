/**
 * Purging tombstones from one range, so deleted keys stop counting for ever.
 *
 * A tombstone key is purged only when it is older than the grace period AND every current replica
 * of its range was just seen holding exactly it. Each replica lists its keys whose every version
 * is a tombstone written before the cutoff, with the digest of that set; a key is purged only if
 * every replica listed it with the same digest, and each replica removes it only if its set still
 * has that digest (under the key's lock) — a write that arrived since keeps the key.
 *
 * Why every replica: a replica that missed the delete still holds the old value; if the others
 * dropped the tombstone, the next exchange would find the value on one side only and copy it back
 * — the deleted key would come back. Requiring every replica to list the tombstone means nothing
 * is purged while any replica of the range is unreachable (down, partitioned, being replaced), so
 * a replica that was down past the grace period still receives the tombstone when it returns.
 * The limit (what the README documents): a node taken out of the ring (`qkv cluster remove`) no
 * longer counts, so its ranges purge without it; bringing it back with its old disk could
 * resurrect deleted keys — wipe its data folder before it rejoins, as Cassandra requires for a
 * node down longer than gc_grace_seconds.
 */
import type { KeyDigest } from '@quorumkv/merkle';
import { sameDigest } from '@quorumkv/merkle';
import type { ByteMeter, Arc, StorageLink } from './storage-link.js';
import type { Throttle } from './throttle.js';

/** What purging one range did. */
export interface PurgeOutcome {
  /** Keys every replica listed with the same digest. */
  readonly candidates: number;
  /** Records removed, summed over the replicas. */
  readonly purged: number;
  /** Keys a replica kept because its set changed since the listing. */
  readonly changed: number;
}

/** Options of {@link purgeRange}. */
export interface PurgeOptions {
  readonly throttle: Throttle;
  readonly meter: ByteMeter;
  /** Keys per listing page and per purge call. @default 512 */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

function id(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** Every purge candidate a replica lists for the range (paged). */
async function listAll(link: StorageLink, epoch: number, arc: Arc, cutoffMs: number, options: PurgeOptions): Promise<Map<string, KeyDigest>> {
  const out = new Map<string, KeyDigest>();
  let after: Uint8Array = new Uint8Array(0);
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await link.listTombstones(epoch, arc, cutoffMs, after, options.pageSize ?? 512, options.meter);
    // The node reads each key it scans: the scan is paced like repairs.
    await options.throttle.keys(Math.max(1, page.scanned), options.signal);
    for (const k of page.keys) out.set(id(k.key), k);
    if (page.next.length === 0) return out;
    after = page.next;
  }
}

/**
 * See the file comment. `links` must be every current replica of the range; a failure of any
 * (listing or purge) throws, leaving what was purged so far purged (each purge stands alone).
 */
export async function purgeRange(links: readonly StorageLink[], epoch: number, arc: Arc, cutoffMs: number, options: PurgeOptions): Promise<PurgeOutcome> {
  const [first, ...rest] = await Promise.all(links.map((l) => listAll(l, epoch, arc, cutoffMs, options)));
  if (first === undefined) return { candidates: 0, purged: 0, changed: 0 };
  const agreed: KeyDigest[] = [];
  for (const [k, entry] of first) {
    if (rest.every((other) => sameDigest(other.get(k)?.digest, entry.digest))) agreed.push(entry);
  }
  let purged = 0;
  let changed = 0;
  const size = options.pageSize ?? 512;
  for (let i = 0; i < agreed.length; i += size) {
    options.signal?.throwIfAborted();
    const chunk = agreed.slice(i, i + size);
    await options.throttle.keys(chunk.length, options.signal);
    const results = await Promise.all(links.map((l) => l.purgeTombstones(epoch, arc, cutoffMs, chunk, options.meter)));
    for (const r of results) {
      purged += r.purged;
      changed += r.changed;
    }
  }
  return { candidates: agreed.length, purged, changed };
}
