import type { ClassicLevel } from 'classic-level';
import { NodeIdMismatchError } from './errors.js';
import { DATA_END, DATA_START, decodeCounter, metaKey } from './record-codec.js';

/** What a storage node finds in its data directory when it opens it. */
export interface NodeMeta {
  /** Highest dot counter minted before (0 in a new directory). */
  readonly dotCounter: number;
  /** Keys held (by scanning the data records: fine at today's sizes). */
  readonly keyCount: number;
}

/**
 * Claims a new directory for `nodeId` (written with fsync), or checks that an existing one
 * belongs to it, then reads the dot counter and counts the keys.
 *
 * Why refuse another id: the directory's versions carry dots of the id that minted them, and its
 * dot counter is that id's; a node serving them under a new id could mint dots the old id also
 * minted elsewhere.
 * @throws NodeIdMismatchError when the directory belongs to another node id.
 */
export async function loadNodeMeta(db: ClassicLevel<Buffer, Buffer>, dataDir: string, nodeId: string): Promise<NodeMeta> {
  const storedId = await db.get(metaKey('node-id'));
  if (storedId === undefined) await db.put(metaKey('node-id'), Buffer.from(nodeId, 'utf8'), { sync: true });
  else if (storedId.toString('utf8') !== nodeId) throw new NodeIdMismatchError(dataDir, storedId.toString('utf8'), nodeId);
  const dotCounter = decodeCounter(await db.get(metaKey('dot-counter')));
  let keyCount = 0;
  for await (const _ of db.keys({ gte: DATA_START, lt: DATA_END })) keyCount += 1;
  return { dotCounter, keyCount };
}
