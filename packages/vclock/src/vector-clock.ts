/**
 * Vector clocks: one counter per node, each with the wall-clock time it last advanced.
 *
 * A clock is kept canonical — entries sorted by node id, one entry per node, no zero counters —
 * so two clocks that mean the same history are equal arrays, and every operation here is one
 * linear merge-walk. Operations accept non-canonical input too (they normalise it first, after
 * an O(n) check), so a hand-built clock cannot silently produce a wrong order.
 */

/** One node's counter in a vector clock. */
export interface ClockEntry {
  readonly node: string;
  /** Non-negative integer below 2^53. A zero counter means the same as no entry. */
  readonly counter: number;
  /** Wall-clock time (ms since epoch) when this entry last advanced; prune drops the oldest. */
  readonly timestampMs: number;
}

/** A vector clock. Canonical form: sorted by node, one entry per node, counters > 0. */
export type VectorClock = readonly ClockEntry[];

/** How two clocks relate: `'before'` means the first happened before the second. */
export type Order = 'before' | 'after' | 'equal' | 'concurrent';

/** The canonical empty clock. */
export const EMPTY_CLOCK: VectorClock = Object.freeze([]);

function byNode(a: ClockEntry, b: ClockEntry): number {
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The larger of two entries of the same node: higher counter, then later timestamp. */
function maxEntry(a: ClockEntry, b: ClockEntry): ClockEntry {
  if (a.counter !== b.counter) return a.counter > b.counter ? a : b;
  return a.timestampMs >= b.timestampMs ? a : b;
}

function isCanonical(c: VectorClock): boolean {
  for (let i = 0; i < c.length; i++) {
    const e = c[i] as ClockEntry;
    if (!(e.counter > 0)) return false;
    if (i > 0 && (c[i - 1] as ClockEntry).node >= e.node) return false;
  }
  return true;
}

function canonical(c: VectorClock): VectorClock {
  return isCanonical(c) ? c : normalize(c);
}

/**
 * Canonical form of any collection of entries: sorted by node, duplicates collapsed to the
 * entry with the highest counter (then the latest timestamp), zero counters dropped.
 */
export function normalize(entries: Iterable<ClockEntry>): VectorClock {
  const best = new Map<string, ClockEntry>();
  for (const e of entries) {
    if (!(e.counter > 0)) continue;
    const seen = best.get(e.node);
    best.set(e.node, seen === undefined ? e : maxEntry(seen, e));
  }
  return [...best.values()].sort(byNode);
}

/** The counter `c` holds for `node` (0 when absent). */
export function counterOf(c: VectorClock, node: string): number {
  for (const e of c) if (e.node === node && e.counter > 0) return e.counter;
  return 0;
}

/**
 * Walks two canonical clocks in node order and reports whether some entry of `a` exceeds `b`
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
    if (y === undefined || (x !== undefined && x.node < y.node)) {
      aAhead = true;
      i++;
    } else if (x === undefined || y.node < x.node) {
      bAhead = true;
      j++;
    } else {
      if (x.counter > y.counter) aAhead = true;
      else if (y.counter > x.counter) bAhead = true;
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
    if (q === undefined || (p !== undefined && p.node < q.node)) {
      out.push(p as ClockEntry);
      i++;
    } else if (p === undefined || q.node < p.node) {
      out.push(q);
      j++;
    } else {
      out.push(maxEntry(p, q));
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Advances `node`'s counter by one, stamped `nowMs`. The result is strictly after `c`.
 *
 * In quorumkv only a storage node increments, and only its own entry, inside one local
 * read-modify-write (see {@link mintVersion}); a stateless coordinator never does.
 */
export function increment(c: VectorClock, node: string, nowMs: number): VectorClock {
  const base = canonical(c);
  const next: ClockEntry = { node, counter: counterOf(base, node) + 1, timestampMs: nowMs };
  const out = base.filter((e) => e.node !== node);
  out.push(next);
  return out.sort(byNode);
}

/**
 * Keeps at most `maxEntries` entries, dropping the oldest timestamps first (ties: the smaller
 * node id goes first, so the result is deterministic). The book bounds clocks at 10 entries.
 *
 * Why this is safe but lossy: a pruned clock claims to have seen less than it did, so it can
 * only make versions look concurrent that are not (an extra sibling the next write resolves),
 * never make a concurrent version look superseded.
 */
export function prune(c: VectorClock, maxEntries: number): VectorClock {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`maxEntries must be a non-negative integer, got ${maxEntries}`);
  }
  const base = canonical(c);
  if (base.length <= maxEntries) return base;
  const newestFirst = [...base].sort(
    (a, b) => b.timestampMs - a.timestampMs || -byNode(a, b),
  );
  return newestFirst.slice(0, maxEntries).sort(byNode);
}
