import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Digest } from './digest.js';
import { InvalidDepthError, InvalidDigestError, InvalidIndexError, InvalidPositionError } from './errors.js';
import { keyPosition, segmentAt } from './hashing.js';
import { depthForKeys, HASH_BYTES, MAX_DEPTH, MerkleTree, TREE_OVERHEAD_BYTES } from './merkle-tree.js';
import { digestArb, entriesArb, keyArb, treeOf } from './testing/arbitraries.js';
import { keyId } from './segment-diff.js';

const depthArb = fc.integer({ min: 0, max: 10 });

/** Random writes, overwrites and deletes over a small pool of keys, so keys are hit repeatedly. */
const historyArb = fc
  .uniqueArray(keyArb, { minLength: 1, maxLength: 15, selector: keyId })
  .chain((pool) =>
    fc.tuple(fc.constant(pool), fc.array(fc.record({ k: fc.nat(pool.length - 1), d: fc.option(digestArb, { nil: undefined }) }), { maxLength: 80 })),
  );

describe('MerkleTree updates', () => {
  it('any sequence of inserts, updates and deletes gives the tree a rebuild from scratch gives', () => {
    fc.assert(
      fc.property(historyArb, depthArb, ([pool, ops], depth) => {
        const live = new MerkleTree(depth);
        const state = new Map<number, Digest>();
        for (const { k, d } of ops) {
          live.update(pool[k] as Uint8Array, state.get(k), d);
          if (d === undefined) state.delete(k);
          else state.set(k, d);
        }
        const rebuilt = treeOf([...state].map(([k, digest]) => ({ key: pool[k] as Uint8Array, digest })), depth);
        expect(live.equals(rebuilt)).toBe(true);
        expect(live.keyCount).toBe(state.size);
        expect(live.rootHash()).toEqual(rebuilt.rootHash());
      }),
    );
  });

  it('an empty tree and a tree whose keys were all removed are equal: absence contributes nothing', () => {
    fc.assert(
      fc.property(entriesArb(), depthArb, (entries, depth) => {
        const t = treeOf(entries, depth);
        for (const e of entries) t.update(e.key, e.digest, undefined);
        expect(t.equals(new MerkleTree(depth))).toBe(true);
        expect(t.rootHash()).toEqual(new Uint8Array(HASH_BYTES));
      }),
    );
  });

  it('changes exactly the segment of the key: the local diff of two states is the segments of the keys that differ', () => {
    fc.assert(
      fc.property(entriesArb(), fc.array(fc.tuple(fc.nat(), fc.option(digestArb, { nil: undefined })), { maxLength: 10 }), depthArb, (entries, changes, depth) => {
        const a = treeOf(entries, depth);
        const b = treeOf(entries, depth);
        const changed = new Map<string, { key: Uint8Array; old: Digest | undefined; now: Digest | undefined }>();
        for (const [i, d] of changes) {
          if (entries.length === 0) break;
          const e = entries[i % entries.length]!;
          const prev = changed.get(keyId(e.key));
          const old = prev === undefined ? e.digest : prev.now;
          b.update(e.key, old, d);
          changed.set(keyId(e.key), { key: e.key, old: e.digest, now: d });
        }
        const expected = new Set<number>();
        for (const c of changed.values()) {
          const same = c.old !== undefined && c.now !== undefined && Buffer.compare(c.old, c.now) === 0;
          if (!same) expected.add(segmentAt(keyPosition(c.key), depth));
        }
        expect(a.differingSegments(b)).toEqual([...expected].sort((x, y) => x - y));
      }),
    );
  });

  it('places a key by the position it is given: its top bits pick the segment', () => {
    fc.assert(
      fc.property(keyArb, digestArb, fc.integer({ min: 0, max: 2 ** 32 - 1 }), depthArb, (key, digest, position, depth) => {
        const t = new MerkleTree(depth);
        t.update(key, undefined, digest, position);
        expect(t.differingSegments(new MerkleTree(depth))).toEqual([segmentAt(position, depth)]);
      }),
    );
    const t = new MerkleTree(4);
    expect(() => t.update(new Uint8Array([1]), undefined, new Uint8Array(16), 2 ** 32)).toThrow(InvalidPositionError);
    expect(t.keyCount).toBe(0);
  });

  it('refuses a digest that is not 16 bytes, and changes nothing', () => {
    const t = new MerkleTree(4);
    expect(() => t.update(new Uint8Array([1]), undefined, new Uint8Array(8))).toThrow(InvalidDigestError);
    expect(t.equals(new MerkleTree(4))).toBe(true);
  });
});

describe('MerkleTree levels, folds and merges', () => {
  it('a tree folded to a shallower depth equals the tree built at that depth', () => {
    fc.assert(
      fc.property(entriesArb(), depthArb, fc.nat(), (entries, depth, k) => {
        const shallow = k % (depth + 1);
        expect(treeOf(entries, depth).fold(shallow).equals(treeOf(entries, shallow))).toBe(true);
      }),
    );
  });

  it('branch hashes at any level are the segments of the tree of that depth, so trees of different depths agree on every shared level', () => {
    fc.assert(
      fc.property(entriesArb(), depthArb, fc.nat(), fc.nat(), (entries, depth, p, b) => {
        const parentDepth = p % (depth + 1);
        const bits = b % (depth - parentDepth + 1);
        const tree = treeOf(entries, depth);
        const parents = Array.from({ length: 2 ** parentDepth }, (_, i) => i);
        const all = tree.branchHashes(parentDepth, parents, bits);
        // The segments of a tree of depth parentDepth + bits, read one by one as its leaves.
        const leaves = treeOf(entries, parentDepth + bits);
        const expected = leaves.branchHashes(parentDepth + bits, Array.from({ length: leaves.segmentCount }, (_, i) => i), 0);
        expect(all).toEqual(expected);
        expect(tree.branchHashes(0, [0], 0)).toEqual(tree.rootHash());
      }),
    );
  });

  it('merging the trees of disjoint key sets gives the tree of their union, at the shallower depth', () => {
    fc.assert(
      fc.property(entriesArb(), fc.nat(), depthArb, depthArb, (entries, cut, d1, d2) => {
        const split = entries.length === 0 ? 0 : cut % entries.length;
        const left = treeOf(entries.slice(0, split), d1);
        const right = treeOf(entries.slice(split), d2);
        const merged = MerkleTree.mergeAll([left, right]);
        expect(merged.depth).toBe(Math.min(d1, d2));
        expect(merged.equals(treeOf(entries, Math.min(d1, d2)))).toBe(true);
        expect(merged.keyCount).toBe(entries.length);
      }),
    );
  });

  it('a clone is independent of its original', () => {
    const t = new MerkleTree(3);
    const c = t.clone();
    c.update(new Uint8Array([1]), undefined, new Uint8Array(16));
    expect(t.keyCount).toBe(0);
    expect(c.equals(t)).toBe(false);
  });

  it('refuses depths and indices that do not exist, naming them', () => {
    expect(() => new MerkleTree(MAX_DEPTH + 1)).toThrow(InvalidDepthError);
    expect(() => new MerkleTree(1.5)).toThrow(/depth must be an integer from 0 to 24, got 1.5/);
    const t = new MerkleTree(4);
    expect(() => t.branchHashes(2, [0], 3)).toThrow(/parentDepth \+ bits must be an integer from 0 to 4, got 5/);
    expect(() => t.branchHashes(2, [4], 1)).toThrow(InvalidIndexError);
    expect(() => t.fold(5)).toThrow(InvalidDepthError);
    expect(() => t.merge(new MerkleTree(3))).toThrow(InvalidDepthError);
  });
});

describe('MerkleTree memory and sizing', () => {
  it('holds 8 bytes per segment plus a fixed overhead', () => {
    expect(new MerkleTree(16).memoryBytes()).toBe(8 * 65536 + TREE_OVERHEAD_BYTES);
    expect(new MerkleTree(0).memoryBytes()).toBe(8 + TREE_OVERHEAD_BYTES);
  });

  it('depthForKeys picks about two keys per segment within its bounds', () => {
    expect(depthForKeys(100_000)).toBe(16);
    expect(depthForKeys(0)).toBe(4);
    expect(depthForKeys(1e9)).toBe(20);
    expect(depthForKeys(1000, { keysPerSegment: 1, minDepth: 0, maxDepth: 24 })).toBe(10);
  });
});
