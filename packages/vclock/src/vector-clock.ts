/**
 * Vector clocks: one counter per actor, each with the wall-clock time it last advanced.
 *
 * An actor is one *incarnation* of a storage node: its id and the epoch it drew when it opened
 * (see {@link Actor}). A clock is kept canonical — entries sorted by actor, one entry per actor,
 * no zero counters — so two clocks that mean the same history are equal arrays, and every
 * operation here is one linear merge-walk. Operations accept non-canonical input too (they
 * normalise it first, after an O(n) check), so a hand-built clock cannot silently produce a
 * wrong order.
 */

/**
 * Who minted an event: a storage node id and the epoch of the incarnation that minted it.
 *
 * Why the epoch is part of the identity: a node counts its dots in memory and in the same
 * unsynced batches as the data, so after a power loss (or with its folder replaced under the
 * same id) it would count again from a lower number and mint dots other replicas already hold
 * for different values. Every open draws a new random 64-bit epoch, so two incarnations are two
 * actors whose counters never meet. Epoch 0 is the single actor of each node before epochs
 * existed (records written by older versions).
 */
export interface Actor {
  readonly node: string;
  /** Random 64-bit incarnation id; 0n for versions written before epochs existed. */
  readonly epoch: bigint;
}

/** One actor's counter in a vector clock. */
export interface ClockEntry extends Actor {
  /** Non-negative integer below 2^53. A zero counter means the same as no entry. */
  readonly counter: number;
  /** Wall-clock time (ms since epoch) when this entry last advanced; prune drops the oldest. */
  readonly timestampMs: number;
}

/** A vector clock. Canonical form: sorted by actor, one entry per actor, counters > 0. */
export type VectorClock = readonly ClockEntry[];

/** How two clocks relate: `'before'` means the first happened before the second. */
export type Order = 'before' | 'after' | 'equal' | 'concurrent';

/** The canonical empty clock. */
export const EMPTY_CLOCK: VectorClock = Object.freeze([]);

/** Total order on actors: by node id, then by epoch. Negative when `a` sorts first. */
export function compareActors(a: Actor, b: Actor): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.epoch === b.epoch ? 0 : a.epoch < b.epoch ? -1 : 1;
}

/** Whether two actors are the same incarnation of the same node. */
export function sameActor(a: Actor, b: Actor): boolean {
  return a.node === b.node && a.epoch === b.epoch;
}

/** The larger of two entries of the same actor: higher counter, then later timestamp. */
function maxEntry(a: ClockEntry, b: ClockEntry): ClockEntry {
  if (a.counter !== b.counter) return a.counter > b.counter ? a : b;
  return a.timestampMs >= b.timestampMs ? a : b;
}

function isCanonical(c: VectorClock): boolean {
  for (let i = 0; i < c.length; i++) {
    const e = c[i] as ClockEntry;
    if (!(e.counter > 0)) return false;
    if (i > 0 && compareActors(c[i - 1] as ClockEntry, e) >= 0) return false;
  }
  return true;
}

function canonical(c: VectorClock): VectorClock {
  return isCanonical(c) ? c : normalize(c);
}

/**
 * Canonical form of any collection of entries: sorted by actor, duplicates collapsed to the
 * entry with the highest counter (then the latest timestamp), zero counters dropped.
 */
export function normalize(entries: Iterable<ClockEntry>): VectorClock {
  const sorted = [...entries].filter((e) => e.counter > 0).sort(compareActors);
  const out: ClockEntry[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && sameActor(last, e)) out[out.length - 1] = maxEntry(last, e);
    else out.push(e);
  }
  return out;
}

/** The counter `c` holds for `actor` (0 when absent). */
export function counterOf(c: VectorClock, actor: Actor): number {
  for (const e of c) if (e.counter > 0 && sameActor(e, actor)) return e.counter;
  return 0;
}

/**
 * Walks two canonical clocks in actor order and reports whether some entry of `a` exceeds `b`
 * and whether some entry of `b` exceeds `a`.
 */
function exceed(a: VectorClock, b: VectorClock): { aAhead: boolean; bAhead: boolean } {
  let i = 0;
  let j = 0;
  let aAhead = false;
  let bAhead = false;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareActors(x, y);
    if (order < 0) {
      aAhead = true;
      i++;
    } else if (order > 0) {
      bAhead = true;
      j++;
    } else {
      const xc = (x as ClockEntry).counter;
      const yc = (y as ClockEntry).counter;
      if (xc > yc) aAhead = true;
      else if (yc > xc) bAhead = true;
      i++;
      j++;
    }
    if (aAhead && bAhead) break;
  }
  return { aAhead, bAhead };
}

/** How `a` relates to `b`. Timestamps play no part in the order. */
export function compare(a: VectorClock, b: VectorClock): Order {
  const { aAhead, bAhead } = exceed(canonical(a), canonical(b));
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** Whether `a` has seen everything `b` has: `a >= b` entry by entry (equal clocks descend). */
export function descends(a: VectorClock, b: VectorClock): boolean {
  return !exceed(canonical(a), canonical(b)).bAhead;
}

/**
 * Least upper bound: the entry-wise maximum; each entry keeps the timestamp of the entry that
 * won (on equal counters, the later timestamp, so the result does not depend on argument order).
 */
export function merge(a: VectorClock, b: VectorClock): VectorClock {
  const x = canonical(a);
  const y = canonical(b);
  if (y.length === 0) return x;
  if (x.length === 0) return y;
  const out: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const p = x[i];
    const q = y[j];
    const order = p === undefined ? 1 : q === undefined ? -1 : compareActors(p, q);
    if (order < 0) {
      out.push(p as ClockEntry);
      i++;
    } else if (order > 0) {
      out.push(q as ClockEntry);
      j++;
    } else {
      out.push(maxEntry(p as ClockEntry, q as ClockEntry));
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Advances `actor`'s counter by one, stamped `nowMs`. The result is strictly after `c`.
 *
 * In quorumkv only a storage node increments, and only its own entry, inside one local
 * read-modify-write (see {@link mintVersion}); a stateless coordinator never does.
 * @throws RangeError when the counter would pass 2^53 - 1 (it could no longer be told apart
 *   from its successor).
 */
export function increment(c: VectorClock, actor: Actor, nowMs: number): VectorClock {
  const base = canonical(c);
  const counter = counterOf(base, actor) + 1;
  if (!Number.isSafeInteger(counter)) throw new RangeError(`counter of ${actor.node} would pass 2^53 - 1`);
  const next: ClockEntry = { node: actor.node, epoch: actor.epoch, counter, timestampMs: nowMs };
  const out = base.filter((e) => !sameActor(e, actor));
  out.push(next);
  return out.sort(compareActors);
}

/**
 * Keeps at most `maxEntries` entries, dropping the oldest timestamps first (ties: the smaller
 * actor goes first, so the result is deterministic). The book bounds clocks at 10 entries.
 *
 * Why this is safe but lossy: a pruned clock claims to have seen less than it did, so it can
 * only make versions look concurrent that are not (an extra sibling the next write resolves),
 * never make a concurrent version look superseded. Every restart of a node adds an actor (a new
 * epoch); the entries of past incarnations stop advancing, so they are the oldest and go first.
 */
export function prune(c: VectorClock, maxEntries: number): VectorClock {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`maxEntries must be a non-negative integer, got ${maxEntries}`);
  }
  const base = canonical(c);
  if (base.length <= maxEntries) return base;
  const newestFirst = [...base].sort((a, b) => b.timestampMs - a.timestampMs || -compareActors(a, b));
  return newestFirst.slice(0, maxEntries).sort(compareActors);
}
