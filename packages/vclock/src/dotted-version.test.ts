import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CounterOverflowError,
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
/** Dots as `A1` (epoch 1, the default here) or `A1@2` (another epoch). */
const dotName = (v: Version): string => `${v.dot.node}${v.dot.counter}${v.dot.epoch === 1n ? '' : `@${v.dot.epoch}`}`;
const dots = (vs: readonly Version[]): string[] => vs.map(dotName).sort();

function put(local: readonly Version[], node: string, context: VectorClock, value: string, nowMs = 0, tombstone = false, epoch = 1n) {
  return mintVersion(local, { context, actor: { node, epoch }, value: bytes(value), tombstone, nowMs, maxClockEntries: 10 });
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
    expect(minted.dot).toEqual({ node: 'B', epoch: 1n, counter: 2 });
    // With the context of the whole set, only the new version remains.
    expect(dots(put(atB, 'C', contextOf(atB), 'd').versions)).toEqual(['C1']);
  });

  it('the new dot is one above every counter of the node seen locally or in the context', () => {
    const remote = put([], 'A', [], 'r', 0).minted; // A1, known here only through a context
    const ctx = contextOf([{ ...remote, dot: { node: 'A', epoch: 1n, counter: 7 } }]);
    expect(put([], 'A', ctx, 'v').minted.dot.counter).toBe(8);
    const local = put(put([], 'A', [], 'x').versions, 'A', [], 'y').versions; // A1, A2
    expect(put(local, 'A', [], 'z').minted.dot.counter).toBe(3);
    const floored = mintVersion([], {
      context: [], actor: { node: 'A', epoch: 1n }, value: bytes('f'), tombstone: false, nowMs: 0, maxClockEntries: 10, minCounter: 40,
    });
    expect(floored.minted.dot.counter).toBe(40);
    // Counters of the node's other incarnations play no part: they are other actors.
    expect(put(local, 'A', [], 'w', 0, false, 2n).minted.dot).toEqual({ node: 'A', epoch: 2n, counter: 1 });
  });

  it('refuses to mint past 2^53 - 1 instead of reusing the dot 2^53 for every later write', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const claim: VectorClock = [{ node: 'A', epoch: 1n, counter: max, timestampMs: 0 }];
    expect(() => put([], 'A', claim, 'v')).toThrow(CounterOverflowError);
    const almost: VectorClock = [{ node: 'A', epoch: 1n, counter: max - 1, timestampMs: 0 }];
    expect(put([], 'A', almost, 'v').minted.dot.counter).toBe(max);
    expect(() =>
      mintVersion([], { context: [], actor: { node: 'A', epoch: 1n }, value: bytes('f'), tombstone: false, nowMs: 0, maxClockEntries: 10, minCounter: max + 1 }),
    ).toThrow(CounterOverflowError);
  });

  it('a node that restarts with its counter rolled back but a new epoch mints a dot beside, not on top of, the lost one', () => {
    // A minted A1 and replicated it; A then lost its state (power loss) and counts from 1 again.
    const before = put([], 'A', [], 'first', 1).versions;
    const withEpoch = put([], 'A', [], 'second', 2, false, 2n).versions;
    expect(mergeVersions(before, withEpoch).map(text).sort()).toEqual(['first', 'second']);
    // Without a new epoch the two writes share the dot A1 and a merge keeps only one of them.
    const sameEpoch = put([], 'A', [], 'second', 2).versions;
    expect(mergeVersions(before, sameEpoch)).toHaveLength(1);
  });

  it('stores the context pruned to the bound but supersedes with the full context', () => {
    let set: Version[] = [];
    for (let i = 0; i < 5; i++) set = mergeVersions(set, [put([], `N${i}`, [], `v${i}`, i).minted]);
    const { versions, minted } = mintVersion(set, {
      context: contextOf(set), actor: { node: 'X', epoch: 1n }, value: bytes('w'), tombstone: false, nowMs: 9, maxClockEntries: 2,
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
      { node: 'A', epoch: 1n, counter: 1, timestampMs: 11 },
      { node: 'B', epoch: 1n, counter: 1, timestampMs: 22 },
    ]);
    expect(covers(ctx, { node: 'A', epoch: 1n, counter: 2 })).toBe(false);
    expect(covers(ctx, { node: 'A', epoch: 2n, counter: 1 })).toBe(false);
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
// another (or none), full-set syncs between replicas, and crashes that lose a replica's latest
// writes (power loss: it comes back with an earlier state of its own) and start a new epoch.
// Every replica state along the way is a set a real cluster can hold.
type Step =
  | { readonly kind: 'put'; readonly at: number; readonly readFrom: number | null; readonly tombstone: boolean }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }
  | { readonly kind: 'crash'; readonly at: number; readonly back: number };

const REPLICAS = ['A', 'B', 'C'];
const replica = fc.integer({ min: 0, max: REPLICAS.length - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), at: replica, readFrom: fc.option(replica), tombstone: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replica, to: replica }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), at: replica, back: fc.nat() }) },
);

/**
 * Runs a history. A replica's dots carry its current epoch (1, then 2, 3… after each crash) and
 * its counter floor is the highest counter it minted in that epoch, as a storage node keeps it
 * in memory. A crash rolls the replica back to one of its earlier states.
 */
function runHistory(steps: readonly Step[]): { state: Version[][]; seen: Version[][]; minted: Version[] } {
  const state: Version[][] = REPLICAS.map(() => []);
  const history: Version[][][] = REPLICAS.map(() => [[]]);
  const epoch = REPLICAS.map(() => 1n);
  const counter = REPLICAS.map(() => 0);
  const seen: Version[][] = [[]];
  const minted: Version[] = [];
  steps.forEach((s, t) => {
    if (s.kind === 'put') {
      const ctx = s.readFrom === null ? [] : contextOf(state[s.readFrom]!);
      const r = mintVersion(state[s.at]!, {
        context: ctx, actor: { node: REPLICAS[s.at]!, epoch: epoch[s.at]! }, value: bytes(`w${t}`), tombstone: s.tombstone,
        nowMs: t, maxClockEntries: 10, minCounter: counter[s.at]! + 1,
      });
      counter[s.at] = r.minted.dot.counter;
      state[s.at] = r.versions;
      minted.push(r.minted);
      history[s.at]!.push(r.versions);
      seen.push(r.versions);
    } else if (s.kind === 'sync') {
      state[s.to] = mergeVersions(state[s.to]!, state[s.from]!);
      history[s.to]!.push(state[s.to]!);
      seen.push(state[s.to]!);
    } else {
      const past = history[s.at]!;
      state[s.at] = past[s.back % past.length]!;
      epoch[s.at] = epoch[s.at]! + 1n;
      counter[s.at] = 0;
    }
  });
  return { state, seen, minted };
}

function reachableStates(steps: readonly Step[]): Version[][] {
  return runHistory(steps).seen;
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

  it('never gives two writes one dot, even when replicas crash, lose their latest writes and count again', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const { minted } = runHistory(steps);
        expect(new Set(minted.map(dotName)).size).toBe(minted.length);
      }),
    );
  });

  it('replicas converge after full syncs, holding exactly the writes no other write covered', () => {
    fc.assert(
      fc.property(fc.array(stepArb.filter((s) => s.kind !== 'crash'), { maxLength: 25 }), fc.array(fc.tuple(replica, replica)), (steps, order) => {
        const { state, minted } = runHistory(steps);
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
