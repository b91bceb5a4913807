/**
 * Merkle trees saved at a clean shutdown and trusted at the next start only if nothing can have
 * written since: the engine's meta records `tree/<start>-<end>` (the tree's bytes, checksummed)
 * and `trees-epoch`, the incarnation that saved them.
 *
 * Why the incarnation and not a flag: every open of the data folder draws a new epoch and keeps
 * the previous one. Trees saved by incarnation E are trusted by the next open only when its
 * previous epoch is E — that is, when no other open came in between. After a crash the process
 * that wrote after the save is itself an incarnation (its epoch is the previous one), and a tool
 * that opened the folder to change data (a test injecting divergence, a repair) is one too; in
 * both cases the trees are rebuilt from the index instead of trusted.
 */
import { MerkleTree, TreeFormatError } from '@quorumkv/merkle';
import type { Logger } from '@quorumkv/service-kit';
import type { MetaStore } from '../meta-store.js';
import { decodeUint64, encodeUint64 } from '../record-codec.js';
import type { StoredTree } from './tree-keeper.js';

function treeName(t: { start: number; end: number }): `tree/${string}` {
  return `tree/${t.start}-${t.end}`;
}

/**
 * Saves `trees` as the ones incarnation `epoch` leaves: the marker first removed (a crash half
 * way leaves none, so nothing half written is trusted), the old trees deleted, the new ones
 * written, the marker last.
 */
export async function saveTrees(meta: MetaStore, epoch: bigint, trees: readonly StoredTree[]): Promise<void> {
  await meta.del('trees-epoch');
  for (const [name] of await meta.list('tree/')) await meta.del(name as `tree/${string}`);
  for (const t of trees) await meta.put(treeName(t), Buffer.from(t.tree.toBytes()));
  await meta.put('trees-epoch', encodeUint64(epoch));
}

/**
 * The trees saved by incarnation `previousEpoch`, or none when the marker names another (or
 * none). A tree whose bytes fail their checksum is left out (its arc is built from the index).
 */
export async function loadTrees(meta: MetaStore, previousEpoch: bigint | undefined, logger: Logger): Promise<StoredTree[]> {
  const marker = decodeUint64(await meta.get('trees-epoch'));
  if (marker === undefined || previousEpoch === undefined || marker !== previousEpoch) {
    if (marker !== undefined) logger.info({ savedBy: marker.toString(16), previous: previousEpoch?.toString(16) }, 'saved Merkle trees are not trusted (the folder was opened since): building them from the index');
    return [];
  }
  const out: StoredTree[] = [];
  for (const [name, bytes] of await meta.list('tree/')) {
    const m = /^tree\/(\d+)-(\d+)$/.exec(name);
    if (m === null) continue;
    try {
      out.push({ start: Number(m[1]), end: Number(m[2]), tree: MerkleTree.fromBytes(bytes) });
    } catch (err) {
      if (!(err instanceof TreeFormatError)) throw err;
      logger.warn({ arc: name, reason: err.message }, 'a saved Merkle tree is damaged: its arc is built from the index');
    }
  }
  return out;
}
