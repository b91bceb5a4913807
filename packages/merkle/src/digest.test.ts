import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeVersions, mintVersion, type Dot, type Version } from '@quorumkv/vclock';
import { DIGEST_BYTES, sameDigest, versionSetDigest } from './digest.js';

const dotArb: fc.Arbitrary<Dot> = fc.record({
  node: fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }),
  epoch: fc.oneof(fc.constant(0n), fc.constant(7n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  counter: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
});
const dotId = (d: Dot): string => `${d.counter}@${d.node}#${d.epoch}`;
const dotSetArb = fc.uniqueArray(dotArb, { minLength: 1, maxLength: 8, selector: dotId });
const asVersions = (dots: readonly Dot[]): { dot: Dot }[] => dots.map((dot) => ({ dot }));

describe('versionSetDigest', () => {
  it('is the same for the same set of versions in any order, with any duplicates', () => {
    fc.assert(
      fc.property(dotSetArb, fc.func(fc.integer()), fc.nat(), (dots, order, dup) => {
        const shuffled = [...dots].sort((x, y) => order(x) - order(y));
        shuffled.push(dots[dup % dots.length] as Dot);
        expect(sameDigest(versionSetDigest(asVersions(dots)), versionSetDigest(asVersions(shuffled)))).toBe(true);
      }),
    );
  });

  it('differs between different sets of dots', () => {
    fc.assert(
      fc.property(dotSetArb, dotSetArb, (x, y) => {
        const key = (ds: Dot[]): string => ds.map(dotId).sort().join(',');
        fc.pre(key(x) !== key(y));
        expect(sameDigest(versionSetDigest(asVersions(x)), versionSetDigest(asVersions(y)))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps node ids, epochs and counters apart: (ab, 1) is not (a, 1) then (b, 1), nor (a, 2^32 + 1) (a, 1), nor another incarnation\'s (a, 1)', () => {
    const d = (...dots: Dot[]): Uint8Array | undefined => versionSetDigest(asVersions(dots));
    const dot = (node: string, counter: number, epoch = 1n): Dot => ({ node, epoch, counter });
    expect(sameDigest(d(dot('ab', 1)), d(dot('a', 1), dot('b', 1)))).toBe(false);
    expect(sameDigest(d(dot('a', 2 ** 32 + 1)), d(dot('a', 1)))).toBe(false);
    expect(sameDigest(d(dot('a', 1, 5n)), d(dot('a', 1, 6n)))).toBe(false);
    expect(d(dot('n', 1))).toHaveLength(DIGEST_BYTES);
  });

  it('is order-independent for sets whose encoding outgrows the scratch buffer mid-way', () => {
    const dots = Array.from({ length: 40 }, (_, i) => ({ node: `node-with-a-long-identifier-${i}`, epoch: BigInt(i) << 40n, counter: i + 1 }));
    const d = versionSetDigest(asVersions(dots));
    expect(sameDigest(d, versionSetDigest(asVersions([...dots].reverse())))).toBe(true);
    expect(sameDigest(d, versionSetDigest(asVersions(dots.slice(1))))).toBe(false);
  });

  it('is undefined for the empty set: an absent key', () => {
    expect(versionSetDigest([])).toBeUndefined();
  });

  it("gives the minting node's record and a merging node's sorted copy of the same set one digest", () => {
    const enc = new TextEncoder();
    const opts = { tombstone: false, nowMs: 1, maxClockEntries: 10 };
    const z = mintVersion([], { ...opts, actor: { node: 'z', epoch: 9n }, context: [], value: enc.encode('1') });
    // The minter keeps its local versions first and appends the new one: (z,1), (a,1).
    const minted = mintVersion(z.versions, { ...opts, actor: { node: 'a', epoch: 3n }, context: [], value: enc.encode('2') });
    const merged: Version[] = mergeVersions(minted.versions, []);
    expect(minted.versions.map((v) => v.dot.node)).toEqual(['z', 'a']);
    expect(merged.map((v) => v.dot.node)).toEqual(['a', 'z']);
    expect(sameDigest(versionSetDigest(minted.versions), versionSetDigest(merged))).toBe(true);
  });

  it('covers dots only: the same dots with other bytes or timestamps give the same digest', () => {
    const v = (value: string, writtenAtMs: number): Version => ({
      dot: { node: 'n', epoch: 1n, counter: 3 },
      context: [],
      value: new TextEncoder().encode(value),
      tombstone: false,
      writtenAtMs,
    });
    expect(sameDigest(versionSetDigest([v('x', 1)]), versionSetDigest([v('y', 2)]))).toBe(true);
  });
});

describe('sameDigest', () => {
  it('treats two absences as equal and an absence as different from any digest', () => {
    expect(sameDigest(undefined, undefined)).toBe(true);
    expect(sameDigest(undefined, new Uint8Array(16))).toBe(false);
    expect(sameDigest(new Uint8Array(16), new Uint8Array(16))).toBe(true);
  });
});
