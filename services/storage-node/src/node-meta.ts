import { randomBytes } from 'node:crypto';
import type { ClassicLevel } from 'classic-level';
import type { Logger } from '@quorumkv/service-kit';
import { NodeIdMismatchError } from './errors.js';
import { repairUnrepresentableCounters } from './legacy-repair.js';
import { DATA_END, DATA_START, decodeUint64, encodeUint64, metaKey } from './record-codec.js';

/** What a storage node finds in (and writes to) its data directory when it opens it. */
export interface NodeMeta {
  /** The epoch of this incarnation: every dot it mints carries it. Never 0. */
  readonly epoch: bigint;
  /** The epoch of the incarnation that opened the directory before, if any. */
  readonly previousEpoch: bigint | undefined;
  /** Counters of `epoch` already used at open (by the repair of broken versions; usually 0). */
  readonly counter: number;
  /** Keys held (by scanning the data records: fine at today's sizes). */
  readonly keyCount: number;
}

/** A random non-zero 64-bit epoch (0 is the actor of records written before epochs). */
export function randomEpoch(): bigint {
  return randomBytes(8).readBigUInt64BE();
}

/**
 * Claims a new directory for `nodeId` (written with fsync), or checks that an existing one
 * belongs to it; starts a new incarnation; counts the keys.
 *
 * The epoch: every open draws a new one, distinct from the previous, and writes it with fsync
 * before the node serves. Why random rather than a counter kept in the folder: the folder is
 * exactly what can be lost (a replaced disk under the same `--id`, a restore from backup), and a
 * counter kept there would then start again and repeat an epoch. 64 random bits make a repeat
 * among one node's incarnations vanishingly unlikely (≈ n²/2^65 after n restarts). The record
 * is the node's account of its incarnations (logged, reported by Stats); making it durable before
 * serving means that account never misses an epoch whose dots exist elsewhere.
 *
 * A folder from before epochs holds a node-wide counter (`dot-counter`). It is not needed any
 * more — this incarnation counts from 0 under its own epoch — and is deleted; when it is past
 * 2^53 - 1 (left by a forged context) the versions it made unreadable are repaired first.
 *
 * Why refuse another id: the directory's versions carry dots of the id that minted them; a node
 * serving them under a new id would answer for another node's writes.
 * @throws NodeIdMismatchError when the directory belongs to another node id.
 */
export async function loadNodeMeta(
  db: ClassicLevel<Buffer, Buffer>,
  options: { readonly dataDir: string; readonly nodeId: string; readonly logger: Logger; readonly newEpoch?: () => bigint },
): Promise<NodeMeta> {
  const { dataDir, nodeId, logger } = options;
  const storedId = await db.get(metaKey('node-id'));
  if (storedId === undefined) await db.put(metaKey('node-id'), Buffer.from(nodeId, 'utf8'), { sync: true });
  else if (storedId.toString('utf8') !== nodeId) throw new NodeIdMismatchError(dataDir, storedId.toString('utf8'), nodeId);

  const previousEpoch = decodeUint64(await db.get(metaKey('epoch')));
  const epoch = drawEpoch(options.newEpoch ?? randomEpoch, previousEpoch);
  await db.put(metaKey('epoch'), encodeUint64(epoch), { sync: true });

  let counter = 0;
  const legacyCounter = decodeUint64(await db.get(metaKey('dot-counter')));
  if (legacyCounter !== undefined) {
    if (legacyCounter > BigInt(Number.MAX_SAFE_INTEGER)) {
      const repaired = await repairUnrepresentableCounters(db, { node: nodeId, epoch });
      counter = repaired.counter;
      logger.warn(
        { legacyCounter: legacyCounter.toString(), epoch: epoch.toString(16), keys: repaired.keys, versions: repaired.versions },
        'node-wide dot counter was past 2^53 - 1 (a forged context, before contexts were signed): versions it made unreadable were given fresh dots of this epoch',
      );
    }
    // Deleted only now: a crash during the repair leaves it, and the next open repairs again.
    await db.del(metaKey('dot-counter'), { sync: true });
  }

  let keyCount = 0;
  for await (const _ of db.keys({ gte: DATA_START, lt: DATA_END })) keyCount += 1;
  return { epoch, previousEpoch, counter, keyCount };
}

function drawEpoch(newEpoch: () => bigint, previous: bigint | undefined): bigint {
  for (let i = 0; i < 8; i++) {
    const e = BigInt.asUintN(64, newEpoch());
    if (e !== 0n && e !== previous) return e;
  }
  throw new Error('the epoch source keeps returning 0 or the previous epoch');
}
