/**
 * Repairing one key: read its version set on each replica, merge them (the same `mergeVersions`
 * as read repair), and merge the result into every replica that lacks part of it.
 *
 * Why a clock merge and never last-write-wins: the sets hold concurrent versions (siblings) and
 * tombstones with their causal contexts; the merge keeps every version no other version's
 * context covers, so a repair can neither drop a sibling a client has not seen nor bring back a
 * value a delete superseded. It is idempotent and commutes with writes: a repair racing a write
 * cannot lose that write (the node merges under the key's lock).
 */
import type { Digest } from '@quorumkv/merkle';
import { mergeKeyVersions, sameVersions, type KeyVersions } from '@quorumkv/vclock';
import type { ByteMeter, StorageLink } from './storage-link.js';

/** One replica of the key and, when an exchange listed it, the digest it had then. */
export interface RepairSide {
  readonly link: StorageLink;
  /**
   * The digest the exchange saw; `null` when it saw the key absent (nothing to read there),
   * `undefined` when unknown (read it).
   */
  readonly digest?: Digest | null;
}

/** What repairing one key did. */
export interface KeyRepairResult {
  /** Replicas the merged set was written to. */
  readonly written: number;
  /** Replicas whose read or merge failed (the key stays diverged there). */
  readonly failed: readonly { readonly node: string; readonly error: unknown }[];
}

/**
 * See the file comment. A replica the exchange saw without the key is not read (a wiped replica
 * needs only the other side's set); every other one is, since only its current set tells what
 * it lacks.
 */
export async function repairKey(epoch: number, key: Uint8Array, sides: readonly RepairSide[], meter: ByteMeter): Promise<KeyRepairResult> {
  const failed: { node: string; error: unknown }[] = [];
  const reads = await Promise.all(
    sides.map(async (side): Promise<KeyVersions | undefined> => {
      if (side.digest === null) return { versions: [], applied: [] };
      try {
        return await side.link.read(epoch, key, meter);
      } catch (error) {
        failed.push({ node: side.link.node, error });
        return undefined;
      }
    }),
  );
  // With the request ids each replica applied: a write minted twice under one id is kept once,
  // as the storage nodes keep it (`collapseDuplicateMints`), so the repaired sets agree for good.
  const { versions: merged, applied } = mergeKeyVersions(reads.filter((r): r is KeyVersions => r !== undefined));
  if (merged.length === 0) return { written: 0, failed };
  let written = 0;
  await Promise.all(
    sides.map(async (side, i) => {
      const held = reads[i];
      if (held === undefined || sameVersions(held.versions, merged)) return;
      try {
        await side.link.merge(epoch, key, merged, meter, applied);
        written += 1;
      } catch (error) {
        failed.push({ node: side.link.node, error });
      }
    }),
  );
  return { written, failed };
}
