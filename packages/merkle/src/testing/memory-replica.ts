/**
 * A replica held in memory: a map of keys to digests, its tree kept up to date on every change,
 * and a per-segment index to list segments — what a storage node keeps on disk, for tests and
 * benchmarks of exchanges (and of the anti-entropy service's logic) without a storage node.
 */
import { sameDigest, type Digest } from '../digest.js';
import { InvalidDepthError, InvalidIndexError } from '../errors.js';
import { keyPosition, segmentAt } from '../hashing.js';
import { MerkleTree } from '../merkle-tree.js';
import type { KeyDigest, PeerTree } from '../peer.js';
import { keyId } from '../segment-diff.js';
import type { TreeSummary } from '../merkle-tree.js';

/** See the file comment. Answers as a {@link PeerTree}, from its live state. */
export class MemoryReplica implements PeerTree {
  readonly tree: MerkleTree;
  /** Entries by segment at the tree's depth, then by key. */
  private readonly segments = new Map<number, Map<string, KeyDigest>>();
  private count = 0;

  /** @param position places keys in the tree (see {@link MerkleTree.update}). */
  constructor(
    depth: number,
    private readonly position: (key: Uint8Array) => number = keyPosition,
  ) {
    this.tree = new MerkleTree(depth);
  }

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /** The digest held for `key`, if any. */
  get(key: Uint8Array): Digest | undefined {
    return this.segments.get(segmentAt(this.position(key), this.tree.depth))?.get(keyId(key))?.digest;
  }

  /** Sets (or, with `undefined`, removes) the digest of `key`, updating the tree from the old one. */
  set(key: Uint8Array, digest: Digest | undefined): void {
    const p = this.position(key);
    const segment = segmentAt(p, this.tree.depth);
    const id = keyId(key);
    let bucket = this.segments.get(segment);
    const old = bucket?.get(id)?.digest;
    if (sameDigest(old, digest)) return;
    this.tree.update(key, old, digest, p);
    if (digest === undefined) {
      bucket?.delete(id);
      this.count -= 1;
      return;
    }
    if (bucket === undefined) {
      bucket = new Map();
      this.segments.set(segment, bucket);
    }
    if (old === undefined) this.count += 1;
    bucket.set(id, { key, digest });
  }

  /** Every entry, in no particular order. */
  entries(): KeyDigest[] {
    const out: KeyDigest[] = [];
    for (const bucket of this.segments.values()) out.push(...bucket.values());
    return out;
  }

  summary(): Promise<TreeSummary> {
    return Promise.resolve(this.tree.summary());
  }

  branches(parentDepth: number, parents: readonly number[], bits: number): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.tree.branchHashes(parentDepth, parents, bits));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  segmentEntries(depth: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    const d = this.tree.depth;
    if (!Number.isInteger(depth) || depth < 0 || depth > d) return Promise.reject(new InvalidDepthError('depth', depth, d));
    const out: KeyDigest[] = [];
    const span = 2 ** (d - depth);
    for (const s of segments) {
      if (!Number.isInteger(s) || s < 0 || s >= 2 ** depth) return Promise.reject(new InvalidIndexError(depth, s));
      for (let t = s * span; t < (s + 1) * span; t++) {
        const bucket = this.segments.get(t);
        if (bucket !== undefined) out.push(...bucket.values());
      }
    }
    return Promise.resolve(out);
  }
}
