import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Actor,
  type ClockEntry,
  type VectorClock,
  compare,
  compareActors,
  counterOf,
  descends,
  increment,
  merge,
  normalize,
  prune,
} from './vector-clock.js';

const NODES = ['a', 'b', 'c', 'd', 'e'];
/** A few epochs, 0 (before epochs existed) among them, so one node often appears as two actors. */
const EPOCHS = [0n, 1n, 0xffff_ffff_ffff_ffffn];

const entryArb: fc.Arbitrary<ClockEntry> = fc.record({
  node: fc.constantFrom(...NODES),
  epoch: fc.constantFrom(...EPOCHS),
  counter: fc.integer({ min: 0, max: 4 }),
  timestampMs: fc.integer({ min: 0, max: 1_000 }),
});
const actorArb: fc.Arbitrary<Actor> = fc.record({ node: fc.constantFrom(...NODES, 'z'), epoch: fc.constantFrom(...EPOCHS, 42n) });
/** Canonical clocks over a few actors and small counters, so related pairs are common. */
const clockArb: fc.Arbitrary<VectorClock> = fc.array(entryArb, { maxLength: 7 }).map(normalize);

const INVERSE = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;

function e(node: string, counter: number, timestampMs = 0, epoch = 1n): ClockEntry {
  return { node, epoch, counter, timestampMs };
}

const actorKey = (a: Actor): string => `${a.node}/${a.epoch}`;

function counters(c: VectorClock): Record<string, number> {
  return Object.fromEntries(c.map((x) => [actorKey(x), x.counter]));
}

describe('vector clock order laws', () => {
  it('compare is antisymmetric: swapping the arguments inverts the order', () => {
    fc.assert(fc.property(clockArb, clockArb, (a, b) => compare(b, a) === INVERSE[compare(a, b)]));
  });

  it('compare agrees with descends: a descends b exactly when a is after or equal to b', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const o = compare(a, b);
        return descends(a, b) === (o === 'after' || o === 'equal');
      }),
    );
  });

  it('compare says equal exactly when the counters are equal, whatever the timestamps', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const same = JSON.stringify(counters(a)) === JSON.stringify(counters(b));
        return (compare(a, b) === 'equal') === same;
      }),
    );
  });

  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        expect(merge(a, b)).toEqual(merge(b, a));
        expect(merge(merge(a, b), c)).toEqual(merge(a, merge(b, c)));
        expect(merge(a, a)).toEqual(a);
      }),
    );
  });

  it('merge is the least upper bound: per node, the larger of the two counters', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const m = merge(a, b);
        expect(descends(m, a)).toBe(true);
        expect(descends(m, b)).toBe(true);
        const expected: Record<string, number> = {};
        for (const x of [...a, ...b]) expected[actorKey(x)] = Math.max(expected[actorKey(x)] ?? 0, x.counter);
        expect(counters(m)).toEqual(expected);
      }),
    );
  });

  it('increment yields a clock strictly after the original, stamped with the given time', () => {
    fc.assert(
      fc.property(clockArb, actorArb, fc.nat(), (c, actor, now) => {
        const next = increment(c, actor, now);
        expect(compare(next, c)).toBe('after');
        expect(compare(c, next)).toBe('before');
        expect(counterOf(next, actor)).toBe(counterOf(c, actor) + 1);
        expect(next.find((x) => compareActors(x, actor) === 0)?.timestampMs).toBe(now);
      }),
    );
  });

  it('two epochs of one node are two actors: advancing one never advances, nor covers, the other', () => {
    fc.assert(
      fc.property(clockArb, fc.constantFrom(...NODES), fc.constantFrom(...EPOCHS), fc.constantFrom(...EPOCHS), (c, node, e1, e2) => {
        fc.pre(e1 !== e2);
        const next = increment(c, { node, epoch: e1 }, 7);
        expect(counterOf(next, { node, epoch: e2 })).toBe(counterOf(c, { node, epoch: e2 }));
        // An event of the other incarnation that this clock had not seen stays unseen.
        const unseen = [e(node, counterOf(c, { node, epoch: e2 }) + 1, 0, e2)];
        expect(descends(next, unseen)).toBe(false);
      }),
    );
  });

  it('refuses to increment a counter past 2^53 - 1', () => {
    expect(() => increment([e('a', Number.MAX_SAFE_INTEGER)], { node: 'a', epoch: 1n }, 0)).toThrow(RangeError);
  });

  it('non-canonical input (unsorted, duplicated, zero counters) is ordered by its meaning', () => {
    const messy = [e('b', 2), e('a', 1), e('b', 1), e('c', 0)];
    expect(compare(messy, [e('a', 1), e('b', 2)])).toBe('equal');
    expect(descends([e('a', 1), e('b', 2)], messy)).toBe(true);
    expect(merge(messy, [])).toEqual([e('a', 1), e('b', 2)]);
  });
});

describe('normalize', () => {
  it('sorts by node, then epoch, and keeps per actor the highest counter with its timestamp', () => {
    expect(normalize([e('b', 1, 5), e('a', 3, 1), e('b', 4, 2), e('a', 3, 9), e('a', 1, 1, 0n)])).toEqual([
      e('a', 1, 1, 0n),
      e('a', 3, 9),
      e('b', 4, 2),
    ]);
  });
});

describe('merge timestamps', () => {
  it('each merged entry carries the timestamp of the entry with the higher counter', () => {
    expect(merge([e('a', 2, 10), e('b', 1, 50)], [e('a', 1, 99), e('b', 3, 20)])).toEqual([
      e('a', 2, 10),
      e('b', 3, 20),
    ]);
  });
});

describe('prune', () => {
  it('keeps the newest entries, dropping the oldest timestamps first', () => {
    const c = normalize([e('a', 1, 40), e('b', 1, 10), e('c', 1, 30), e('d', 1, 20)]);
    expect(prune(c, 2)).toEqual([e('a', 1, 40), e('c', 1, 30)]);
    expect(prune(c, 10)).toEqual(c);
    expect(prune(c, 0)).toEqual([]);
  });

  it('returns min(size, bound) entries, and no dropped entry is newer than a kept one', () => {
    fc.assert(
      fc.property(clockArb, fc.integer({ min: 0, max: 6 }), (c, max) => {
        const p = prune(c, max);
        expect(p.length).toBe(Math.min(c.length, max));
        expect(normalize(p)).toEqual(p);
        const dropped = c.filter((x) => !p.some((y) => compareActors(x, y) === 0));
        for (const d of dropped) for (const k of p) expect(d.timestampMs).toBeLessThanOrEqual(k.timestampMs);
        expect(descends(c, p)).toBe(true);
      }),
    );
  });

  it('rejects a negative or fractional bound', () => {
    expect(() => prune([], -1)).toThrow(RangeError);
    expect(() => prune([], 1.5)).toThrow(RangeError);
  });
});

describe("the book's D1…D5 example", () => {
  it('Sy and Sz write concurrently after D2; Sx reconciles them into D5 that descends both', () => {
    const [Sx, Sy, Sz] = ['Sx', 'Sy', 'Sz'].map((node) => ({ node, epoch: 0n })) as [Actor, Actor, Actor];
    const d1 = increment([], Sx, 1);
    expect(counters(d1)).toEqual({ 'Sx/0': 1 });
    const d2 = increment(d1, Sx, 2);
    expect(counters(d2)).toEqual({ 'Sx/0': 2 });
    const d3 = increment(d2, Sy, 3);
    const d4 = increment(d2, Sz, 4);
    expect(counters(d3)).toEqual({ 'Sx/0': 2, 'Sy/0': 1 });
    expect(counters(d4)).toEqual({ 'Sx/0': 2, 'Sz/0': 1 });
    expect(compare(d1, d2)).toBe('before');
    expect(compare(d2, d3)).toBe('before');
    expect(compare(d3, d4)).toBe('concurrent');
    const d5 = increment(merge(d3, d4), Sx, 5);
    expect(counters(d5)).toEqual({ 'Sx/0': 3, 'Sy/0': 1, 'Sz/0': 1 });
    expect(compare(d5, d3)).toBe('after');
    expect(compare(d5, d4)).toBe('after');
  });
});
