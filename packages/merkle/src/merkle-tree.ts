/**
 * A Tictac-style Merkle tree over (key, version-set digest) pairs: 2^depth segments, each the
 * XOR of the 64-bit contributions of the keys whose position falls in it; every inner node is
 * the XOR of the segments below it, and the root the XOR of all.
 *
 * Why XOR and not a hash of the children (Cassandra, Riak's older AAE): XOR is its own inverse,
 * so a write replaces its key's old contribution with the new one in O(1) — no rescan, no
 * re-hashing of a branch — and it is commutative, so trees of different ranges merge by XOR and
 * a tree rebuilt from a scan while writes go on can take those writes in any order.
 *
 * Only segments are stored; an inner node is folded from its segments when asked. A tree of
 * depth d answers for every depth up to d, and two trees of different depths compare at the
 * shallower one, so each storage node can size each range's tree to the keys it holds.
 */
import { contribution, hashKey, segmentAt } from './hashing.js';
import { decodeTreeBytes, encodeTreeBytes } from './tree-codec.js';
import type { Digest } from './digest.js';
import { InvalidDepthError, InvalidIndexError, InvalidPositionError } from './errors.js';

/** Deepest tree: 2^24 segments, 128 MiB. */
export const MAX_DEPTH = 24;

/** Bytes of one node hash on the wire and in {@link MerkleTree.rootHash}. */
export const HASH_BYTES = 8;

/**
 * Bytes of a tree besides its segment storage: the tree object, its typed array and array
 * buffer objects (the package's benchmark measures 10,000 trees of depth 0 on Node 20).
 */
export const TREE_OVERHEAD_BYTES = 280;

/** A tree's shape and root, as one replica reports it to an exchange. */
export interface TreeSummary {
  readonly depth: number;
  readonly keyCount: number;
  /** {@link HASH_BYTES} bytes. */
  readonly root: Uint8Array;
}

/** Options of {@link depthForKeys}. */
export interface DepthForKeysOptions {
  /** Keys per segment the depth aims at. @default 2 */
  readonly keysPerSegment?: number;
  /** @default 4 */
  readonly minDepth?: number;
  /** @default 20 */
  readonly maxDepth?: number;
}

/** The smallest depth whose segments hold about `keysPerSegment` of `keys`, within bounds. */
export function depthForKeys(keys: number, options: DepthForKeysOptions = {}): number {
  const min = options.minDepth ?? 4;
  const max = options.maxDepth ?? 20;
  const wanted = Math.ceil(Math.log2(Math.max(1, keys / (options.keysPerSegment ?? 2))));
  return Math.min(max, Math.max(min, wanted));
}

function checkDepth(field: string, depth: number, max: number): void {
  if (!Number.isInteger(depth) || depth < 0 || depth > max) throw new InvalidDepthError(field, depth, max);
}

const keyHash = new Uint32Array(4);
const delta = new Uint32Array(2);

/** See the file comment. Not safe to share across threads; cheap to {@link clone}. */
export class MerkleTree {
  /** Segment hashes: high word at 2i, low word at 2i + 1. */
  private readonly seg: Uint32Array;
  private rootHi = 0;
  private rootLo = 0;
  private keys = 0;

  /** @throws InvalidDepthError unless 0 ≤ depth ≤ {@link MAX_DEPTH}. */
  constructor(readonly depth: number) {
    checkDepth('depth', depth, MAX_DEPTH);
    this.seg = new Uint32Array(2 * 2 ** depth);
  }

  /** Keys with a contribution (updates from absent to present, minus the reverse). */
  get keyCount(): number {
    return this.keys;
  }

  /** 2^depth. */
  get segmentCount(): number {
    return 2 ** this.depth;
  }

  /**
   * Replaces the contribution of `key` with digest `oldDigest` by the one with `newDigest`;
   * `undefined` is "absent" (a new key, a purged key). O(1): three hashes and four XORs.
   *
   * `position` places the key: a 32-bit unsigned integer whose top `depth` bits are its segment.
   * It defaults to {@link keyPosition}; a storage node passes {@link rangePosition} of the key's
   * ring position instead, so that each segment is one arc of the ring (one scan of an index in
   * ring order). Every replica of a range must place keys alike, and always the same key alike.
   *
   * The caller must pass the digest the tree last saw for the key: a wrong one corrupts the
   * segment until the next rebuild from a scan (which is why rebuilds also run periodically).
   * @throws InvalidDigestError or InvalidPositionError, changing nothing.
   */
  update(key: Uint8Array, oldDigest: Digest | undefined, newDigest: Digest | undefined, position?: number): void {
    if (oldDigest === newDigest) return;
    if (position !== undefined && position >>> 0 !== position) throw new InvalidPositionError(position);
    hashKey(key, keyHash);
    const i = 2 * segmentAt(position ?? (keyHash[0] as number), this.depth);
    let hi = 0;
    let lo = 0;
    if (oldDigest !== undefined) {
      contribution(keyHash, oldDigest, delta);
      hi ^= delta[0] as number;
      lo ^= delta[1] as number;
      this.keys -= 1;
    }
    if (newDigest !== undefined) {
      contribution(keyHash, newDigest, delta);
      hi ^= delta[0] as number;
      lo ^= delta[1] as number;
      this.keys += 1;
    }
    this.seg[i] = (this.seg[i] as number) ^ hi;
    this.seg[i + 1] = (this.seg[i + 1] as number) ^ lo;
    this.rootHi ^= hi;
    this.rootLo ^= lo;
  }

  /** The root hash ({@link HASH_BYTES} bytes, big-endian high then low word). */
  rootHash(): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    writeHash(out, 0, this.rootHi, this.rootLo);
    return out;
  }

  /** Depth, key count and root. */
  summary(): TreeSummary {
    return { depth: this.depth, keyCount: this.keys, root: this.rootHash() };
  }

  /**
   * For each of `parents` (node indices at `parentDepth`), in order, the hashes of its 2^bits
   * descendants at `parentDepth + bits`, left to right: {@link HASH_BYTES} each, concatenated.
   * Costs one XOR per segment under the parents.
   * @throws InvalidDepthError when `parentDepth + bits` is deeper than the tree.
   * @throws InvalidIndexError for a parent that does not exist at `parentDepth`.
   */
  branchHashes(parentDepth: number, parents: readonly number[], bits: number): Uint8Array {
    checkDepth('parentDepth', parentDepth, this.depth);
    checkDepth('parentDepth + bits', parentDepth + bits, this.depth);
    checkDepth('bits', bits, this.depth);
    const childDepth = parentDepth + bits;
    const fanout = 2 ** bits;
    const span = 2 ** (this.depth - childDepth);
    const out = new Uint8Array(parents.length * fanout * HASH_BYTES);
    let at = 0;
    for (const p of parents) {
      if (!Number.isInteger(p) || p < 0 || p >= 2 ** parentDepth) throw new InvalidIndexError(parentDepth, p);
      for (let c = 0; c < fanout; c++) {
        const first = (p * fanout + c) * span;
        let hi = 0;
        let lo = 0;
        for (let s = first; s < first + span; s++) {
          hi ^= this.seg[2 * s] as number;
          lo ^= this.seg[2 * s + 1] as number;
        }
        writeHash(out, at, hi, lo);
        at += HASH_BYTES;
      }
    }
    return out;
  }

  /**
   * XORs `other` into this tree: afterwards it is the tree of both trees' keys (the ranges must
   * not overlap). `other` may be deeper; it is folded to this depth.
   * @throws InvalidDepthError when `other` is shallower (fold this tree first).
   */
  merge(other: MerkleTree): void {
    checkDepth('depth of the merged tree', other.depth, MAX_DEPTH);
    if (other.depth < this.depth) throw new InvalidDepthError('depth of the merged tree', other.depth, this.depth);
    const shift = other.depth - this.depth;
    for (let s = 0; s < other.segmentCount; s++) {
      const t = 2 * (s >>> shift);
      this.seg[t] = (this.seg[t] as number) ^ (other.seg[2 * s] as number);
      this.seg[t + 1] = (this.seg[t + 1] as number) ^ (other.seg[2 * s + 1] as number);
    }
    this.rootHi ^= other.rootHi;
    this.rootLo ^= other.rootLo;
    this.keys += other.keys;
  }

  /** The same keys in a tree of `depth` ≤ this depth (every segment is the XOR of its children). */
  fold(depth: number): MerkleTree {
    checkDepth('depth', depth, this.depth);
    const folded = new MerkleTree(depth);
    folded.merge(this);
    return folded;
  }

  /** An independent copy. */
  clone(): MerkleTree {
    return this.fold(this.depth);
  }

  /** Same depth, same key count and the same hash in every segment. */
  equals(other: MerkleTree): boolean {
    if (other.depth !== this.depth || other.keys !== this.keys) return false;
    for (let i = 0; i < this.seg.length; i++) if (this.seg[i] !== other.seg[i]) return false;
    return true;
  }

  /** The segments, at the shallower of the two depths, whose hashes differ (a local diff). */
  differingSegments(other: MerkleTree): number[] {
    const depth = Math.min(this.depth, other.depth);
    const a = depth === this.depth ? this : this.fold(depth);
    const b = depth === other.depth ? other : other.fold(depth);
    const out: number[] = [];
    for (let s = 0; s < a.segmentCount; s++) {
      if (a.seg[2 * s] !== b.seg[2 * s] || a.seg[2 * s + 1] !== b.seg[2 * s + 1]) out.push(s);
    }
    return out;
  }

  /** Heap bytes held: the segment array plus {@link TREE_OVERHEAD_BYTES}. */
  memoryBytes(): number {
    return this.seg.byteLength + TREE_OVERHEAD_BYTES;
  }

  /**
   * The tree as bytes to persist (format, depth, key count, segments, checksum). Whether the
   * persisted copy may be trusted at the next start (a clean shutdown wrote it after the last
   * write) is the caller's to record; see the package README.
   */
  toBytes(): Uint8Array {
    return encodeTreeBytes(this.depth, this.keys, this.seg);
  }

  /** A tree from {@link toBytes} output. @throws TreeFormatError on anything else. */
  static fromBytes(bytes: Uint8Array): MerkleTree {
    const { depth, keyCount, segments } = decodeTreeBytes(bytes, MAX_DEPTH);
    const tree = new MerkleTree(depth);
    tree.seg.set(segments);
    tree.keys = keyCount;
    for (let s = 0; s < tree.segmentCount; s++) {
      tree.rootHi ^= tree.seg[2 * s] as number;
      tree.rootLo ^= tree.seg[2 * s + 1] as number;
    }
    return tree;
  }

  /** A tree at the shallowest depth of `trees` holding all their keys. */
  static mergeAll(trees: readonly MerkleTree[]): MerkleTree {
    const depth = trees.reduce((d, t) => Math.min(d, t.depth), MAX_DEPTH);
    const merged = new MerkleTree(depth);
    for (const t of trees) merged.merge(t);
    return merged;
  }
}

function writeHash(out: Uint8Array, at: number, hi: number, lo: number): void {
  out[at] = hi >>> 24;
  out[at + 1] = hi >>> 16;
  out[at + 2] = hi >>> 8;
  out[at + 3] = hi;
  out[at + 4] = lo >>> 24;
  out[at + 5] = lo >>> 16;
  out[at + 6] = lo >>> 8;
  out[at + 7] = lo;
}
