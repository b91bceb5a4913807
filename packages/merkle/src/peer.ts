/**
 * What an exchange asks of each replica: the three reads a storage node serves for one range's
 * tree. The anti-entropy service implements {@link PeerTree} over the storage node's RPCs; a
 * storage node answers them with {@link MerkleTree} methods and a scan of its segment index
 * ({@link localPeer} puts the two together in one process).
 */
import type { Digest } from './digest.js';
import type { MerkleTree, TreeSummary } from './merkle-tree.js';

/** One key and the digest of its version set. */
export interface KeyDigest {
  readonly key: Uint8Array;
  readonly digest: Digest;
}

/** One replica's tree of one range, as an exchange reads it. Answers may come from a live tree. */
export interface PeerTree {
  /** Depth, key count and root ({@link MerkleTree.summary}). */
  summary(): Promise<TreeSummary>;
  /**
   * For each parent (node index at `parentDepth`), the hashes of its 2^bits descendants at
   * `parentDepth + bits`, concatenated in order ({@link MerkleTree.branchHashes}).
   */
  branches(parentDepth: number, parents: readonly number[], bits: number): Promise<Uint8Array>;
  /**
   * Every key, with its digest, whose segment at `depth` is one of `segments` (its position's
   * top `depth` bits, see `keyPosition`), in any order. `depth` is at most the tree's depth, so a
   * deeper replica lists a shallow segment as the keys of all its segments below it.
   */
  segmentEntries(depth: number, segments: readonly number[]): Promise<readonly KeyDigest[]>;
}

/** Lists the keys of segments, as {@link PeerTree.segmentEntries}. */
export type SegmentLister = (depth: number, segments: readonly number[]) => Promise<readonly KeyDigest[]> | readonly KeyDigest[];

/**
 * A {@link PeerTree} over a tree in this process and a lister of its keys (a storage node's
 * index scan, or an in-memory map in tests). Errors thrown by the tree (a depth or index out of
 * range) become rejections.
 */
export function localPeer(tree: MerkleTree, list: SegmentLister): PeerTree {
  return {
    summary: () => Promise.resolve(tree.summary()),
    branches: (parentDepth, parents, bits) => {
      try {
        return Promise.resolve(tree.branchHashes(parentDepth, parents, bits));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    segmentEntries: async (depth, segments) => list(depth, segments),
  };
}
