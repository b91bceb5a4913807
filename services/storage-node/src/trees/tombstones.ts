/**
 * The storage node's half of the tombstone purge (the anti-entropy worker decides, see its
 * `tombstone-purge.ts`): list the keys of an arc whose every version is a tombstone written
 * before a cutoff, and purge a listed key only if its set is still exactly what was listed.
 */
import { sameDigest, versionSetDigest, type KeyDigest } from '@quorumkv/merkle';
import { inArc, sha1Position } from '@quorumkv/ring';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import type { Version } from '@quorumkv/vclock';
import type { StorageEngine } from '../engine.js';
import { decodeRecord } from '../record-codec.js';
import type { Arc } from './tree-keeper.js';

/** The engine operations the purge uses. */
export type TombstoneEngine = Pick<StorageEngine, 'scanRange' | 'purgeIf'>;

/** Most keys one listing page or one purge call covers. */
export const MAX_TOMBSTONE_PAGE = 4_096;

/** Whether every version is a tombstone written before `cutoffMs`: a key that may be purged. */
export function purgeable(versions: readonly Version[], cutoffMs: number): boolean {
  return versions.length > 0 && versions.every((v) => v.tombstone && v.writtenAtMs < cutoffMs);
}

/** One page of an arc's purge candidates. */
export interface TombstoneListing {
  readonly keys: KeyDigest[];
  /** The last key scanned; empty when the arc is done. */
  readonly next: Uint8Array;
  readonly scanned: number;
}

function checkInArc(key: Uint8Array, arc: Arc, field: string): number {
  const position = sha1Position(key);
  if (!inArc(position, arc.start, arc.end)) throw new InvalidArgumentError(field, `a key at ring position ${position} is outside the arc (${arc.start}, ${arc.end}]`);
  return position;
}

/** Scans up to `limit` keys of the arc after `afterKey` and lists the purge candidates among them. */
export async function listTombstones(engine: TombstoneEngine, arc: Arc, cutoffMs: number, afterKey: Uint8Array, limit: number): Promise<TombstoneListing> {
  const n = limit === 0 ? 512 : limit;
  if (n > MAX_TOMBSTONE_PAGE) throw new InvalidArgumentError('limit', `${n} is over the limit of ${MAX_TOMBSTONE_PAGE}`);
  const after = afterKey.length === 0 ? undefined : { position: checkInArc(afterKey, arc, 'after_key'), key: afterKey };
  const page = await engine.scanRange(arc.start, arc.end, { ...(after ? { after } : {}), limit: n, records: true });
  const keys: KeyDigest[] = [];
  for (const e of page) {
    if (e.record === undefined) continue;
    let versions: Version[];
    try {
      versions = decodeRecord(e.record).versions;
    } catch {
      continue;
    }
    if (purgeable(versions, cutoffMs)) keys.push({ key: e.key, digest: e.digest });
  }
  const last = page[page.length - 1];
  return { keys, next: page.length < n || last === undefined ? new Uint8Array(0) : last.key, scanned: page.length };
}

/**
 * Purges each key whose set still has the listed digest and is still all tombstones older than
 * the cutoff (checked under the key's lock, so a write since the listing keeps the key).
 */
export async function purgeTombstones(engine: TombstoneEngine, arc: Arc, cutoffMs: number, keys: readonly KeyDigest[]): Promise<{ purged: number; changed: number }> {
  if (keys.length > MAX_TOMBSTONE_PAGE) throw new InvalidArgumentError('keys', `${keys.length} keys is over the limit of ${MAX_TOMBSTONE_PAGE}`);
  for (const k of keys) checkInArc(k.key, arc, 'keys');
  const done = await Promise.all(keys.map((k) => engine.purgeIf(k.key, (versions) => purgeable(versions, cutoffMs) && sameDigest(versionSetDigest(versions), k.digest))));
  const purged = done.filter(Boolean).length;
  return { purged, changed: keys.length - purged };
}
