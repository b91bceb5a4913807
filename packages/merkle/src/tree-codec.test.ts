import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TreeFormatError } from './errors.js';
import { MerkleTree } from './merkle-tree.js';
import { digestArb, entriesArb, keyArb, treeOf } from './testing/arbitraries.js';

function reason(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof TreeFormatError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('tree serialization', () => {
  it('round-trips any tree: same segments, key count and root, and it keeps taking updates alike', () => {
    fc.assert(
      fc.property(entriesArb(), fc.integer({ min: 0, max: 10 }), keyArb, digestArb, (entries, depth, key, digest) => {
        const tree = treeOf(entries, depth);
        const loaded = MerkleTree.fromBytes(tree.toBytes());
        expect(loaded.equals(tree)).toBe(true);
        expect(loaded.rootHash()).toEqual(tree.rootHash());
        expect(loaded.keyCount).toBe(entries.length);
        tree.update(key, undefined, digest);
        loaded.update(key, undefined, digest);
        expect(loaded.equals(tree)).toBe(true);
      }),
    );
  });

  it('refuses bytes with any one bit flipped', () => {
    const bytes = treeOf([{ key: new Uint8Array([7]), digest: new Uint8Array(16).fill(3) }], 3).toBytes();
    fc.assert(
      fc.property(fc.nat(bytes.length * 8 - 1), (bit) => {
        const bad = Uint8Array.from(bytes);
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(reason(() => MerkleTree.fromBytes(bad))).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it('names what is wrong: truncated, foreign, of another format or length', () => {
    const bytes = new MerkleTree(2).toBytes();
    expect(reason(() => MerkleTree.fromBytes(bytes.subarray(0, 10)))).toBe('truncated');
    expect(reason(() => MerkleTree.fromBytes(bytes.subarray(0, bytes.length - 1)))).toBe('truncated');
    expect(reason(() => MerkleTree.fromBytes(Uint8Array.of(...bytes, 0)))).toBe('bad-length');
    expect(reason(() => MerkleTree.fromBytes(Uint8Array.of(0x50, ...bytes.subarray(1))))).toBe('bad-magic');
    const v2 = Uint8Array.from(bytes);
    v2[4] = 2;
    expect(reason(() => MerkleTree.fromBytes(v2))).toBe('unsupported-format');
    const deep = Uint8Array.from(bytes);
    deep[5] = 25;
    expect(reason(() => MerkleTree.fromBytes(deep))).toBe('bad-depth');
  });

  it('reads a tree from a view into a larger buffer (as LevelDB hands values)', () => {
    const tree = treeOf([{ key: new Uint8Array([1, 2]), digest: new Uint8Array(16).fill(9) }], 5);
    const bytes = tree.toBytes();
    const pool = new Uint8Array(bytes.length + 13);
    pool.set(bytes, 13);
    expect(MerkleTree.fromBytes(pool.subarray(13)).equals(tree)).toBe(true);
  });
});
