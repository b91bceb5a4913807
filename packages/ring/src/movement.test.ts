import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from './hash-ring.js';
import { type MovedRange, movedRanges } from './moved-ranges.js';
import { RING_SIZE, inArc, sha1Position } from './position.js';

/** Positions of 20k sample keys, hashed once for every test in this file. */
const KEYS = Array.from({ length: 20_000 }, (_, i) => sha1Position(`key-${i}`));

const idsArb = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: min, maxLength: max });

function ringOf(ids: readonly string[], vnodes: number): HashRing {
  const r = new HashRing({ vnodes });
  for (const id of ids) r.addNode(id);
  return r;
}

function relativeStdDev(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

describe('membership changes move few keys', () => {
  it('adding a node to a ring of n moves about 1/(n+1) of the keys, every one of them to the new node', () => {
    fc.assert(
      fc.property(idsArb(2, 11), (ids) => {
        const [joiner, ...rest] = ids as [string, ...string[]];
        const before = ringOf(rest, 128);
        const after = ringOf(rest, 128);
        after.addNode(joiner);
        let moved = 0;
        let movedElsewhere = 0;
        for (const p of KEYS) {
          const to = after.ownerAt(p);
          if (before.ownerAt(p) !== to) {
            moved++;
            if (to !== joiner) movedElsewhere++;
          }
        }
        expect(movedElsewhere).toBe(0);
        // 128 vnodes give a node's share a relative spread of about 1/sqrt(128) ≈ 9%.
        const expected = 1 / (rest.length + 1);
        expect(Math.abs(moved / KEYS.length - expected) / expected).toBeLessThan(0.4);
      }),
      { numRuns: 15 },
    );
  });

  it('removing a node moves only the keys it owned', () => {
    fc.assert(
      fc.property(idsArb(2, 10), fc.nat(), (ids, pick) => {
        const leaver = ids[pick % ids.length]!;
        const before = ringOf(ids, 64);
        const after = ringOf(ids, 64);
        after.removeNode(leaver);
        let wrong = 0;
        let owned = 0;
        for (const p of KEYS) {
          const from = before.ownerAt(p);
          const to = after.ownerAt(p);
          if (from === leaver) owned++;
          if (from === leaver ? to === leaver : to !== from) wrong++;
        }
        expect(wrong).toBe(0);
        expect(owned).toBeGreaterThan(0);
      }),
      { numRuns: 15 },
    );
  });

  it('the spread of load across nodes falls as vnodes rise (1 → 16 → 256)', () => {
    fc.assert(
      fc.property(idsArb(10, 10), (ids) => {
        const spread = [1, 16, 256].map((v) => relativeStdDev([...ringOf(ids, v).shares().values()]));
        expect(spread[1]!).toBeLessThan(spread[0]!);
        expect(spread[2]!).toBeLessThan(spread[1]!);
      }),
      { numRuns: 20 },
    );
  });
});

function containing(ranges: readonly MovedRange[], p: number): MovedRange[] {
  return ranges.filter((r) => inArc(p, r.start, r.end));
}

/** Every key position, every boundary of either ring and the points beside them, and the ends. */
function probes(a: HashRing, b: HashRing): number[] {
  const out = KEYS.slice(0, 3_000);
  out.push(0, RING_SIZE - 1);
  for (const p of [...a.boundaries(), ...b.boundaries()]) out.push(p, (p + 1) % RING_SIZE, (p + RING_SIZE - 1) % RING_SIZE);
  return out;
}

describe('movedRanges', () => {
  it('covers exactly the positions whose owner changed, with the right from and to, without overlaps', () => {
    fc.assert(
      fc.property(idsArb(1, 8), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 8 }), (ids, flags, vnodes) => {
        // Each id is in before, after, or both (flags pick), so joins, leaves and swaps all occur.
        const before = ringOf(ids.filter((_, i) => flags[2 * i] !== false || flags[2 * i + 1] === false), vnodes);
        const after = ringOf(ids.filter((_, i) => flags[2 * i + 1] !== false || flags[2 * i] === false), vnodes);
        const ranges = movedRanges(before, after);
        if (before.size === 0 || after.size === 0) {
          // Nothing is owned on one side, so nothing is handed over.
          expect(ranges).toEqual([]);
          return;
        }
        const wrong: number[] = [];
        for (const p of probes(before, after)) {
          const from = before.ownerAt(p);
          const to = after.ownerAt(p);
          const hit = containing(ranges, p);
          const ok = from === to ? hit.length === 0 : hit.length === 1 && hit[0]!.from === from && hit[0]!.to === to;
          if (!ok) wrong.push(p);
        }
        expect(wrong).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('reports the full circle (start === end) when a single-vnode ring changes its only owner', () => {
    const table: Record<string, number> = { 'a#0': 100, 'b#0': 200 };
    const hash = (k: Uint8Array | string): number => table[String(k)] ?? 0;
    const before = new HashRing({ vnodes: 1, hash });
    before.addNode('a');
    const after = new HashRing({ vnodes: 1, hash });
    after.addNode('b');
    const [only, ...rest] = movedRanges(before, after);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ from: 'a', to: 'b' });
    expect(only!.start).toBe(only!.end);
  });

  it('a join moves the arcs before each of the new node’s vnodes, and nothing when rings are equal or empty', () => {
    const table: Record<string, number> = { 'a#0': 100, 'b#0': 200, 'c#0': 150 };
    const hash = (k: Uint8Array | string): number => table[String(k)] ?? 0;
    const before = new HashRing({ vnodes: 1, hash });
    before.addNode('a');
    before.addNode('b');
    const after = new HashRing({ vnodes: 1, hash });
    after.addNode('a');
    after.addNode('b');
    after.addNode('c');
    expect(movedRanges(before, after)).toEqual([{ start: 100, end: 150, from: 'b', to: 'c' }]);
    expect(movedRanges(after, before)).toEqual([{ start: 100, end: 150, from: 'c', to: 'b' }]);
    expect(movedRanges(before, before)).toEqual([]);
    expect(movedRanges(new HashRing(), after)).toEqual([]);
  });
});
