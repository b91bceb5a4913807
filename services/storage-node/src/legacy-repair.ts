import type { ClassicLevel } from 'classic-level';
import { storage } from '@quorumkv/proto';
import { type Actor, toSafeNumber } from '@quorumkv/vclock';
import { DATA_END, DATA_START } from './record-codec.js';

/** What {@link repairUnrepresentableCounters} changed. */
export interface RepairOutcome {
  /** Keys whose record was rewritten. */
  readonly keys: number;
  /** Versions given a fresh dot. */
  readonly versions: number;
  /** The highest counter of `actor` the fresh dots used. */
  readonly counter: number;
}

const safe = (n: bigint): boolean => toSafeNumber(n) !== undefined;

/**
 * Makes readable again the versions an unsigned, forged context left behind before this fix: a
 * node told "you have minted 2^53 - 1" minted the dot 2^53, which no number can tell apart from
 * 2^53 + 1, stored it, and minted it again for every later write, so those records failed to
 * decode. Each version whose dot is missing or past 2^53 - 1 gets a fresh dot of `actor` (the
 * current incarnation), and context entries past 2^53 - 1 are dropped.
 *
 * Why that is safe: the broken dots were never replicated (replicas refused the record), so a
 * fresh dot is a new identity for a write only this node held, and several writes that shared
 * 2^53 become distinct siblings again instead of one hiding the others. Dropping a context entry
 * makes a version claim to have seen less, which can only keep more siblings alive. Records that
 * decode are not touched; records broken in other ways are left for the read path to report.
 */
export async function repairUnrepresentableCounters(db: ClassicLevel<Buffer, Buffer>, actor: Actor): Promise<RepairOutcome> {
  let counter = 0;
  let keys = 0;
  let versions = 0;
  const batch = db.batch();
  for await (const [key, value] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
    let set: storage.VersionSet;
    try {
      set = storage.VersionSet.decode(value);
    } catch {
      continue;
    }
    let changed = false;
    for (const v of set.versions) {
      if (v.dot === undefined || v.dot.node === '' || v.dot.counter === 0n || !safe(v.dot.counter)) {
        counter += 1;
        v.dot = { node: actor.node, epoch: actor.epoch, counter: BigInt(counter) };
        versions += 1;
        changed = true;
      }
      const context = v.context.filter((e) => safe(e.counter) && safe(e.timestampMs));
      if (context.length !== v.context.length) {
        v.context = context;
        changed = true;
      }
      if (!safe(v.writtenAtMs)) {
        v.writtenAtMs = 0n;
        changed = true;
      }
    }
    if (!changed) continue;
    keys += 1;
    batch.put(key, Buffer.from(storage.VersionSet.encode(set).finish()));
  }
  if (keys > 0) await batch.write({ sync: true });
  else await batch.close();
  return { keys, versions, counter };
}
