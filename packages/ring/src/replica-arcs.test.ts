import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashRing } from './hash-ring.js';
import { arcLength, inArc, sha1Position } from './position.js';
import { arcIndexAt, arcsOfNode, arcsOverlap, replicaArcs } from './replica-arcs.js';

function ringOf(nodes: number, vnodes: number, zones = 0): HashRing {
  const ring = new HashRing({ vnodes });
  for (let i = 0; i < nodes; i++) ring.addNode(`node-${i}`, zones > 0 ? { zone: `z${i % zones}` } : {});
  return ring;
}

const keys = Array.from({ length: 3_000 }, (_, i) => `key-${i}`);

describe('replicaArcs', () => {
  it('tiles the circle: consecutive arcs meet, and their lengths add up to 2^32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 24 }), (nodes, vnodes) => {
        const arcs = replicaArcs(ringOf(nodes, vnodes), 3);
        let total = 0;
        arcs.forEach((a, i) => {
          const next = arcs[(i + 1) % arcs.length];
          expect(next?.start).toBe(a.end);
          total += arcLength(a.start, a.end);
        });
        expect(total).toBe(2 ** 32);
      }),
      { numRuns: 60 },
    );
  });

  it('gives every key of an arc the preference list the ring gives the key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 3 }), (nodes, vnodes, zones) => {
        const ring = ringOf(nodes, vnodes, zones);
        const arcs = replicaArcs(ring, 3);
        const ends = Uint32Array.from(arcs.map((a) => a.end));
        for (const key of keys.slice(0, 300)) {
          const p = sha1Position(key);
          const arc = arcs[arcIndexAt(ends, p)];
          expect(arc && inArc(p, arc.start, arc.end)).toBe(true);
          expect(arc?.replicas).toEqual(ring.preferenceList(key, 3));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a ring with one position is one whole-circle arc; an empty ring has none', () => {
    const one = replicaArcs(ringOf(1, 1), 3);
    expect(one).toHaveLength(1);
    expect(one[0]?.start).toBe(one[0]?.end);
    expect(replicaArcs(new HashRing(), 3)).toEqual([]);
  });

  it('a node replicates about n/nodes of the circle', () => {
    const arcs = replicaArcs(ringOf(5, 128), 3);
    const mine = arcsOfNode(arcs, 'node-2');
    const share = mine.reduce((s, a) => s + arcLength(a.start, a.end), 0) / 2 ** 32;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.75);
  });
});

describe('arcsOverlap', () => {
  it('agrees with a point-by-point check on a small circle of positions', () => {
    const pos = fc.integer({ min: 0, max: 40 });
    fc.assert(
      fc.property(pos, pos, pos, pos, (s1, e1, s2, e2) => {
        const a = { start: s1, end: e1 };
        const b = { start: s2, end: e2 };
        // Positions 0..40 plus the wrap region stand for the circle: sample both.
        const samples = [...Array.from({ length: 42 }, (_, i) => i), 2 ** 32 - 1, 2 ** 31];
        const expected = samples.some((p) => inArc(p, s1, e1) && inArc(p, s2, e2));
        expect(arcsOverlap(a, b)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
