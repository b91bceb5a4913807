import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Version,
  contextOf,
  covers,
  liveVersions,
  mergeVersions,
  mintVersion,
  sameVersions,
} from './dotted-version.js';
import { type VectorClock, compare } from './vector-clock.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (v: Version): string => new TextDecoder().decode(v.value);
const dots = (vs: readonly Version[]): string[] => vs.map((v) => `${v.dot.node}${v.dot.counter}`).sort();

function put(local: readonly Version[], node: string, context: VectorClock, value: string, nowMs = 0, tombstone = false) {
  return mintVersion(local, { context, node, value: bytes(value), tombstone, nowMs, maxClockEntries: 10 });
}

describe('mintVersion', () => {
  it('two writes with the same context at different nodes both survive as siblings', () => {
    const base = put([], 'A', [], 'v0').versions;
    const ctx = contextOf(base);
    const atA = put(base, 'A', ctx, 'from-A').versions;
    const atB = put(base, 'B', ctx, 'from-B').versions;
    const merged = mergeVersions(atA, atB);
    expect(merged.map(text).sort()).toEqual(['from-A', 'from-B']);
    // Their contexts are equal; only the dots tell them apart. Plain clocks (context + 1 at the
    // minting node) would order them, but neither saw the other.
    expect(compare(merged[0]!.context, merged[1]!.context)).toBe('equal');
  });

  it('two blind writes at the same node both survive: the second dot does not hide the first', () => {
    const first = put([], 'A', [], 'x').versions;
    const second = put(first, 'A', [], 'y');
    expect(dots(second.versions)).toEqual(['A1', 'A2']);
    expect(second.versions.map(text).sort()).toEqual(['x', 'y']);
  });

  it('a write with the context of a read supersedes exactly the versions read', () => {
    // Replica R holds siblings A1 and B1; a client read only A1 (from a replica lacking B1).
    const a1 = put([], 'A', [], 'a').minted;
    const b1 = put([], 'B', [], 'b').minted;
    const atB = mergeVersions([a1], [b1]);
    const { versions, minted } = put(atB, 'B', contextOf([a1]), 'c');
    expect(dots(versions)).toEqual(['B1', 'B2']);
    expect(minted.dot).toEqual({ node: 'B', counter: 2 });
    // With the context of the whole set, only the new version remains.
    expect(dots(put(atB, 'C', contextOf(atB), 'd').versions)).toEqual(['C1']);
  });

  it('the new dot is one above every counter of the node seen locally or in the context', () => {
    const remote = put([], 'A', [], 'r', 0).minted; // A1, known here only through a context
    const ctx = contextOf([{ ...remote, dot: { node: 'A', counter: 7 } }]);
    expect(put([], 'A', ctx, 'v').minted.dot.counter).toBe(8);
    const local = put(put([], 'A', [], 'x').versions, 'A', [], 'y').versions; // A1, A2
    expect(put(local, 'A', [], 'z').minted.dot.counter).toBe(3);
    const floored = mintVersion([], {
      context: [], node: 'A', value: bytes('f'), tombstone: false, nowMs: 0, maxClockEntries: 10, minCounter: 40,
    });
    expect(floored.minted.dot.counter).toBe(40);
  });

  it('stores the context pruned to the bound but supersedes with the full context', () => {
    let set: Version[] = [];
    for (let i = 0; i < 5; i++) set = mergeVersions(set, [put([], `N${i}`, [], `v${i}`, i).minted]);
    const { versions, minted } = mintVersion(set, {
      context: contextOf(set), node: 'X', value: bytes('w'), tombstone: false, nowMs: 9, maxClockEntries: 2,
    });
    expect(dots(versions)).toEqual(['X1']);
    expect(minted.context.map((c) => c.node)).toEqual(['N3', 'N4']);
  });

  it('a tombstone is a version: it supersedes what its context covers and is filtered by liveVersions', () => {
    const v = put([], 'A', [], 'x').versions;
    const del = put(v, 'A', contextOf(v), '', 5, true);
    expect(dots(del.versions)).toEqual(['A2']);
    expect(liveVersions(del.versions)).toEqual([]);
    const sibling = put(del.versions, 'B', [], 'y').versions;
    expect(liveVersions(sibling).map(text)).toEqual(['y']);
  });
});

describe('contextOf, covers and sameVersions', () => {
  it('the context of a set covers every dot in it, with the dot time as timestamp', () => {
    const set = mergeVersions(put([], 'A', [], 'a', 11).versions, put([], 'B', [], 'b', 22).versions);
    const ctx = contextOf(set);
    for (const v of set) expect(covers(ctx, v.dot)).toBe(true);
    expect(ctx).toEqual([
      { node: 'A', counter: 1, timestampMs: 11 },
      { node: 'B', counter: 1, timestampMs: 22 },
    ]);
    expect(covers(ctx, { node: 'A', counter: 2 })).toBe(false);
  });

  it('sameVersions compares sets by dot, ignoring order', () => {
    const a = put([], 'A', [], 'a').minted;
    const b = put([], 'B', [], 'b').minted;
    expect(sameVersions([a, b], [b, a])).toBe(true);
    expect(sameVersions([a], [a, b])).toBe(false);
    expect(sameVersions([a], [b])).toBe(false);
  });
});

// A random history on three replicas: writes minted at one replica with the context read from
// another (or none), and full-set syncs between replicas. Every replica state along the way is
// a set a real cluster can hold.
type Step =
  | { readonly kind: 'put'; readonly at: number; readonly readFrom: number | null; readonly tombstone: boolean }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number };

const REPLICAS = ['A', 'B', 'C'];
const replica = fc.integer({ min: 0, max: REPLICAS.length - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), at: replica, readFrom: fc.option(replica), tombstone: fc.boolean() }),
  fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica }),
);

function reachableStates(steps: readonly Step[]): Version[][] {
  const state: Version[][] = REPLICAS.map(() => []);
  const seen: Version[][] = [[]];
  steps.forEach((s, t) => {
    if (s.kind === 'put') {
      const ctx = s.readFrom === null ? [] : contextOf(state[s.readFrom]!);
      state[s.at] = put(state[s.at]!, REPLICAS[s.at]!, ctx, `w${t}`, t, s.tombstone).versions;
      seen.push(state[s.at]!);
    } else {
      state[s.to] = mergeVersions(state[s.to]!, state[s.from]!);
      seen.push(state[s.to]!);
    }
  });
  return seen;
}

const threeStates = fc
  .tuple(fc.array(stepArb, { minLength: 1, maxLength: 25 }), fc.nat(), fc.nat(), fc.nat())
  .map(([steps, i, j, k]) => {
    const s = reachableStates(steps);
    return [s[i % s.length]!, s[j % s.length]!, s[k % s.length]!] as const;
  });

describe('mergeVersions laws over reachable replica states', () => {
  it('is commutative', () => {
    fc.assert(fc.property(threeStates, ([a, b]) => void expect(mergeVersions(a, b)).toEqual(mergeVersions(b, a))));
  });

  it('is associative', () => {
    fc.assert(
      fc.property(threeStates, ([a, b, c]) =>
        void expect(mergeVersions(mergeVersions(a, b), c)).toEqual(mergeVersions(a, mergeVersions(b, c))),
      ),
    );
  });

  it('is idempotent, and merging a set with itself keeps each dot once', () => {
    fc.assert(
      fc.property(threeStates, ([a, b]) => {
        const m = mergeVersions(a, b);
        expect(mergeVersions(m, m)).toEqual(m);
        expect(mergeVersions(m, a)).toEqual(m);
        expect(new Set(dots(m)).size).toBe(m.length);
      }),
    );
  });

  it('replicas converge after full syncs, holding exactly the writes no other write covered', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 25 }), fc.array(fc.tuple(replica, replica)), (steps, order) => {
        const minted: Version[] = [];
        const state: Version[][] = REPLICAS.map(() => []);
        steps.forEach((s, t) => {
          if (s.kind === 'put') {
            const ctx = s.readFrom === null ? [] : contextOf(state[s.readFrom]!);
            const r = put(state[s.at]!, REPLICAS[s.at]!, ctx, `w${t}`, t, s.tombstone);
            state[s.at] = r.versions;
            minted.push(r.minted);
          } else {
            state[s.to] = mergeVersions(state[s.to]!, state[s.from]!);
          }
        });
        // Some random syncs, then a full round so every replica has heard from every other.
        for (const [from, to] of order) state[to] = mergeVersions(state[to]!, state[from]!);
        for (let round = 0; round < 2; round++) {
          for (const [to] of REPLICAS.entries()) {
            for (const [from] of REPLICAS.entries()) state[to] = mergeVersions(state[to]!, state[from]!);
          }
        }
        expect(state[1]).toEqual(state[0]);
        expect(state[2]).toEqual(state[0]);
        const expected = minted.filter((v) => !minted.some((w) => w !== v && covers(w.context, v.dot)));
        expect(dots(state[0]!)).toEqual(dots(expected));
        expect(state[0]!.map(text).sort()).toEqual(expected.map(text).sort());
      }),
    );
  });
});
