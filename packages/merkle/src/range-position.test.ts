import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exchange } from './exchange.js';
import { InvalidPositionError } from './errors.js';
import { keyPosition, segmentAt } from './hashing.js';
import { rangePosition, segmentArc, type RingArc } from './range-position.js';
import { digestArb, keyArb } from './testing/arbitraries.js';
import { MemoryReplica } from './testing/memory-replica.js';

const TWO32 = 2 ** 32;
const u32 = fc.integer({ min: 0, max: TWO32 - 1 });
/** A range (start, end] (the whole circle when equal), and an offset into it. */
const rangeArb = fc.record({ start: u32, end: u32, at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) });
const len = (start: number, end: number): number => (end > start ? end - start : end + TWO32 - start);
const pointIn = (r: { start: number; end: number; at: number }): number => (r.start + 1 + Math.floor(r.at * len(r.start, r.end))) % TWO32;

function inArc(p: number, arc: RingArc): boolean {
  if (arc.empty) return false;
  if (arc.after < arc.through) return p > arc.after && p <= arc.through;
  if (arc.after > arc.through) return p > arc.after || p <= arc.through;
  return true;
}

describe('rangePosition', () => {
  it('is ⌊rel · 2^32 / len⌋ exactly, for any range and any ring position in it', () => {
    fc.assert(
      fc.property(rangeArb, (r) => {
        const p = pointIn(r);
        const rel = BigInt((p - r.start - 1 + TWO32) % TWO32);
        expect(rangePosition(p, r.start, r.end)).toBe(Number((rel << 32n) / BigInt(len(r.start, r.end))));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps ring order: a later key in the range never gets an earlier position', () => {
    fc.assert(
      fc.property(rangeArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r, at2) => {
        const [x, y] = [r.at, at2].sort((m, n) => m - n) as [number, number];
        expect(rangePosition(pointIn({ ...r, at: x }), r.start, r.end)).toBeLessThanOrEqual(rangePosition(pointIn({ ...r, at: y }), r.start, r.end));
      }),
    );
  });

  it('refuses a ring position outside the range', () => {
    expect(() => rangePosition(10, 10, 20)).toThrow(InvalidPositionError);
    expect(() => rangePosition(21, 10, 20)).toThrow(InvalidPositionError);
    expect(rangePosition(20, 10, 20)).toBe(Math.floor((9 * TWO32) / 10));
    expect(() => rangePosition(-1, 0, 0)).toThrow(/got -1/);
  });
});

describe('segmentArc', () => {
  it('holds exactly the ring positions whose key falls in the segment, at any depth', () => {
    fc.assert(
      fc.property(rangeArb, fc.integer({ min: 0, max: 24 }), (r, depth) => {
        const p = pointIn(r);
        const s = segmentAt(rangePosition(p, r.start, r.end), depth);
        expect(inArc(p, segmentArc(r.start, r.end, depth, s))).toBe(true);
        if (s > 0) expect(inArc(p, segmentArc(r.start, r.end, depth, s - 1))).toBe(false);
        if (s < 2 ** depth - 1) expect(inArc(p, segmentArc(r.start, r.end, depth, s + 1))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('tiles the range: segment arcs follow each other from start to end', () => {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 8 }), (start, end, depth) => {
        let at = start;
        for (let s = 0; s < 2 ** depth; s++) {
          const arc = segmentArc(start, end, depth, s);
          expect(arc.after).toBe(at);
          at = arc.through;
        }
        expect(at).toBe(end);
      }),
    );
  });

  it('gives a range shorter than its segment count empty arcs', () => {
    // Two positions (101, 102) over 8 segments: segment 0 holds 101, segment 4 holds 102.
    expect(segmentArc(100, 102, 3, 0)).toEqual({ after: 100, through: 101, empty: false });
    expect(segmentArc(100, 102, 3, 1)).toEqual({ after: 101, through: 101, empty: true });
    expect(segmentArc(100, 102, 3, 4)).toEqual({ after: 101, through: 102, empty: false });
  });
});

describe('exchange with range positions', () => {
  it('finds exactly the differing keys of a range when both replicas place keys by ring arc', async () => {
    await fc.assert(
      fc.asyncProperty(u32, u32, fc.uniqueArray(fc.tuple(keyArb, digestArb, fc.boolean()), { maxLength: 80, selector: ([k]) => Buffer.from(k).toString('hex') }), async (start, end, rows) => {
        // keyPosition stands in for the ring position here; only keys inside the range are kept.
        const inRange = (p: number): boolean => (start < end ? p > start && p <= end : start > end ? p > start || p <= end : true);
        const position = (k: Uint8Array): number => rangePosition(keyPosition(k), start, end);
        const a = new MemoryReplica(7, position);
        const b = new MemoryReplica(5, position);
        let differing = 0;
        for (const [k, d, same] of rows) {
          if (!inRange(keyPosition(k))) continue;
          a.set(k, d);
          if (same) b.set(k, d);
          else differing += 1;
        }
        const r = await exchange(a, b, { pause: () => Promise.resolve(), position });
        expect(r.divergent).toHaveLength(differing);
        expect(r.divergent.every((x) => x.b === undefined && x.a !== undefined)).toBe(true);
      }),
    );
  });
});
