import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Dot, type Version, contextOf, covers, mergeVersions, mintVersion } from './dotted-version.js';
import { type AppliedMint, collapseDuplicateMints, unionAppliedMints } from './duplicate-mints.js';
import type { VectorClock } from './vector-clock.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (v: Version): string => new TextDecoder().decode(v.value);
const dotName = (d: Dot): string => `${d.node}${d.counter}`;
const dots = (vs: readonly Version[]): string[] => vs.map((v) => dotName(v.dot)).sort();

function put(local: readonly Version[], node: string, context: VectorClock, value: string): { versions: Version[]; minted: Version } {
  return mintVersion(local, { context, actor: { node, epoch: 1n }, value: bytes(value), tombstone: false, nowMs: 0, maxClockEntries: 10 });
}
const entry = (requestId: string, v: Version): AppliedMint => ({ requestId: bytes(requestId), dot: v.dot, appliedAtMs: 0 });

describe('collapseDuplicateMints', () => {
  // A's answer was lost, so the coordinator had B mint the same request again.
  const k = put([], 'A', [], 'x').minted;
  const d = put([], 'B', [], 'x').minted;
  const applied = [entry('r1', k), entry('r1', d)];

  it('keeps one of two mints of one request id: the smallest dot, on every replica', () => {
    expect(dots(collapseDuplicateMints(mergeVersions([k], [d]), applied))).toEqual(['A1']);
    expect(dots(collapseDuplicateMints(mergeVersions([d], [k]), [...applied].reverse()))).toEqual(['A1']);
  });

  it('an update with the context of the late mint supersedes the early one too (no superseded sibling returns)', () => {
    // The client was answered with d's context and updated from it, on a replica without k.
    const update = put([d], 'C', contextOf([d]), 'y');
    const merged = mergeVersions([k], update.versions);
    expect(dots(merged)).toEqual(['A1', 'C1']); // what a plain merge returns: the old value beside the update
    const collapsed = collapseDuplicateMints(merged, applied);
    expect(collapsed.map(text)).toEqual(['y']);
  });

  it('the canonical mint gone while its entry is known means the write was superseded: the duplicate goes too', () => {
    const update = put([k], 'A', contextOf([k]), 'y'); // A's set after an update that read k
    const collapsed = collapseDuplicateMints(mergeVersions(update.versions, [d]), applied);
    expect(collapsed.map(text)).toEqual(['y']);
  });

  it("keeps a concurrent sibling the duplicate's node held below it (a clock entry would have covered it)", () => {
    const other = put([], 'B', [], 'other client'); // (B,1), blind, from someone else
    const dup = put(other.versions, 'B', [], 'x'); // (B,2): the duplicate of A1
    const collapsed = collapseDuplicateMints(mergeVersions([k], dup.versions), [entry('r1', k), entry('r1', dup.minted)]);
    expect(collapsed.map(text).sort()).toEqual(['other client', 'x']);
    expect(dots(collapsed)).toEqual(['A1', 'B1']);
  });

  it('without the entries (the de-duplication window passed) both mints stay, as siblings', () => {
    expect(dots(collapseDuplicateMints(mergeVersions([k], [d]), [entry('r1', k)]))).toEqual(['A1', 'B1']);
    expect(dots(collapseDuplicateMints(mergeVersions([k], [d]), []))).toEqual(['A1', 'B1']);
  });

  it('leaves versions of other request ids and of writes without one untouched', () => {
    const e = put([], 'C', [], 'z').minted;
    const collapsed = collapseDuplicateMints(mergeVersions(mergeVersions([k], [d]), [e]), [...applied, entry('r2', e)]);
    expect(dots(collapsed)).toEqual(['A1', 'C1']);
  });

  it('unionAppliedMints keeps each (request id, dot) once, with its earliest time', () => {
    const u = unionAppliedMints([{ ...entry('r1', k), appliedAtMs: 5 }], [{ ...entry('r1', k), appliedAtMs: 3 }, entry('r1', d)]);
    expect(u.map((e) => [new TextDecoder().decode(e.requestId), dotName(e.dot), e.appliedAtMs]).sort()).toEqual([
      ['r1', 'A1', 3],
      ['r1', 'B1', 0],
    ]);
  });
});

// ---- property: replicas that mint retries of the same requests and sync in any order ----

interface State {
  readonly versions: Version[];
  readonly applied: AppliedMint[];
}

const EMPTY: State = { versions: [], applied: [] };

/** A sync: what a storage node does when another's record arrives (merge, union, collapse). */
function mergeStates(a: State, b: State): State {
  const applied = unionAppliedMints(a.applied, b.applied);
  return { versions: collapseDuplicateMints(mergeVersions(a.versions, b.versions), applied), applied };
}

type Cmd =
  | { readonly t: 'write'; readonly replica: number; readonly req: number; readonly ctxFrom: number }
  | { readonly t: 'sync'; readonly from: number; readonly to: number }
  | { readonly t: 'snap'; readonly replica: number };

const REPLICAS = 3;
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant('write' as const), replica: fc.nat(REPLICAS - 1), req: fc.nat(5), ctxFrom: fc.integer({ min: -1, max: REPLICAS - 1 }) }),
  fc.record({ t: fc.constant('sync' as const), from: fc.nat(REPLICAS - 1), to: fc.nat(REPLICAS - 1) }),
  fc.record({ t: fc.constant('snap' as const), replica: fc.nat(REPLICAS - 1) }),
);

/**
 * Runs a history: each request id is one logical write whose payload (value, context) is fixed
 * at its first attempt; an attempt at a replica that already remembers the id mints nothing
 * (the storage node's de-duplication), any other mints again — the duplicate mint.
 */
function run(cmds: readonly Cmd[]): { states: State[]; contexts: VectorClock[]; requests: Set<number> } {
  const replicas: State[] = Array.from({ length: REPLICAS }, () => EMPTY);
  const counters = Array.from({ length: REPLICAS }, () => 0);
  const payload = new Map<number, VectorClock>();
  const snaps: State[] = [];
  const contexts: VectorClock[] = [];
  const requests = new Set<number>();
  for (const c of cmds) {
    if (c.t === 'sync') {
      replicas[c.to] = mergeStates(replicas[c.to] as State, replicas[c.from] as State);
    } else if (c.t === 'snap') {
      snaps.push(replicas[c.replica] as State);
    } else {
      const local = replicas[c.replica] as State;
      const id = bytes(`r${c.req}`);
      if (local.applied.some((e) => Buffer.compare(e.requestId, id) === 0)) continue;
      let context = payload.get(c.req);
      if (context === undefined) {
        context = c.ctxFrom < 0 ? [] : contextOf((replicas[c.ctxFrom] as State).versions);
        payload.set(c.req, context);
      }
      const node = `n${c.replica}`;
      const { versions, minted } = mintVersion(local.versions, {
        context,
        actor: { node, epoch: 1n },
        value: bytes(`r${c.req}`),
        tombstone: false,
        nowMs: 0,
        maxClockEntries: 10,
        minCounter: (counters[c.replica] as number) + 1,
      });
      counters[c.replica] = minted.dot.counter;
      contexts.push(context);
      requests.add(c.req);
      const applied = unionAppliedMints(local.applied, [{ requestId: id, dot: minted.dot, appliedAtMs: 0 }]);
      replicas[c.replica] = { versions: collapseDuplicateMints(versions, applied), applied };
    }
  }
  return { states: [...replicas, ...snaps], contexts, requests };
}

/** A state as comparable data: versions by dot with their content, entries as a sorted list. */
function canonical(s: State): unknown {
  const versions = [...s.versions]
    .map((v) => `${dotName(v.dot)}=${text(v)}${v.tombstone ? '†' : ''}[${v.context.map((e) => `${e.node}:${e.counter}`).join(',')}]`)
    .sort();
  const applied = s.applied.map((e) => `${new TextDecoder().decode(e.requestId)}/${dotName(e.dot)}`).sort();
  return { versions, applied };
}

/** Folds `states` in the order of `perm`, grouped by the binary tree `splits` describes. */
function foldTree(states: readonly State[], splits: readonly number[], depth = 0): State {
  if (states.length === 0) return EMPTY;
  if (states.length === 1) return states[0] as State;
  const at = 1 + ((splits[depth % Math.max(1, splits.length)] ?? 0) % (states.length - 1));
  return mergeStates(foldTree(states.slice(0, at), splits, depth + 1), foldTree(states.slice(at), splits, depth + 1));
}

function permute<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs.map((x, i) => ({ x, k: keys[i % Math.max(1, keys.length)] ?? 0, i })).sort((a, b) => a.k - b.k || a.i - b.i).map((e) => e.x);
}

describe('collapseDuplicateMints over replica histories with retried requests', () => {
  const history = fc.array(cmdArb, { minLength: 1, maxLength: 40 });
  const order = fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 });

  it('merging the same states in any order and grouping, duplicates included, gives one result', () => {
    fc.assert(
      fc.property(history, order, order, order, order, (cmds, p1, s1, p2, s2) => {
        const { states } = run(cmds);
        const withDuplicates = [...states, ...states.slice(0, 2)];
        const a = foldTree(permute(withDuplicates, p1), s1);
        const b = foldTree(permute(withDuplicates, p2), s2);
        expect(canonical(a)).toEqual(canonical(b));
        expect(canonical(mergeStates(a, a))).toEqual(canonical(a));
      }),
      { numRuns: 300 },
    );
  });

  it('after a full merge each logical write is there at most once, and exactly once unless a later write superseded it', () => {
    fc.assert(
      fc.property(history, (cmds) => {
        const { states, contexts, requests } = run(cmds);
        const all = states.reduce(mergeStates, EMPTY);
        for (const req of requests) {
          const held = all.versions.filter((v) => text(v) === `r${req}`);
          expect(held.length).toBeLessThanOrEqual(1);
          const mints = all.applied.filter((e) => new TextDecoder().decode(e.requestId) === `r${req}`).map((e) => e.dot);
          const superseded = mints.some((d) => contexts.some((c) => covers(c, d)));
          if (!superseded) expect(held.length).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
