/**
 * Dotted version vectors (DVV): the sibling sets a storage node keeps per key.
 *
 * Each version carries the *dot* that minted it — (node, epoch, counter), unique cluster-wide — and the
 * *context*: the version vector its writer had read. A version is obsolete exactly when some
 * other version's context covers its dot.
 *
 * Why dots and not one plain vector clock per version: with plain clocks the clock of a new
 * write is "context + 1 at the coordinating node". Two concurrent writes that carry the same
 * context and are coordinated through the same entry get *equal* clocks for different values, and
 * one vanishes on merge; and a write coordinated at a node whose entry already counts a
 * concurrent sibling gets a clock that *dominates* that sibling, which is then dropped although
 * the writer never saw it. DVV compares the sibling's dot against the writer's context instead of
 * clock against clock: the new write supersedes only what its context covers, so a concurrent
 * sibling stays alive.
 */
import {
  type Actor,
  type ClockEntry,
  type VectorClock,
  compareActors,
  counterOf,
  merge,
  normalize,
  prune,
} from './vector-clock.js';

/** The event that minted a version: the `counter`-th write coordinated by one incarnation of `node`. */
export interface Dot extends Actor {
  readonly counter: number;
}

/**
 * A mint would need a counter past 2^53 - 1, which a number cannot tell apart from its
 * successor: every later mint would reuse the same dot. Nothing is minted.
 */
export class CounterOverflowError extends RangeError {
  override readonly name = 'CounterOverflowError';
  constructor(readonly actor: Actor) {
    super(`dot counter of ${actor.node} (epoch ${actor.epoch.toString(16)}) would pass 2^53 - 1; nothing minted`);
  }
}

/** One version (a sibling, or a tombstone) of a key. */
export interface Version {
  readonly dot: Dot;
  /** What the writer had seen (canonical). Never covers this version's own dot. */
  readonly context: VectorClock;
  readonly value: Uint8Array;
  readonly tombstone: boolean;
  readonly writtenAtMs: number;
}

/** Input of {@link mintVersion}. */
export interface MintInput {
  /** The causal context the client passed (empty for a blind write). */
  readonly context: VectorClock;
  /** The storage node minting the dot: its own id and the epoch of its current incarnation. */
  readonly actor: Actor;
  readonly value: Uint8Array;
  readonly tombstone: boolean;
  readonly nowMs: number;
  /** Bound on the stored context's entries (the book says 10). */
  readonly maxClockEntries: number;
  /**
   * Lower bound for the new dot's counter: one above the highest counter the incarnation minted
   * for any key. Pruning (or a purged key) can forget an actor's entry from every context of a
   * key; the floor guarantees the actor still never reuses a dot it minted before. @default 1
   */
  readonly minCounter?: number;
}

/** Whether clock `c` has seen the event `dot`. */
export function covers(c: VectorClock, dot: Dot): boolean {
  return counterOf(c, dot) >= dot.counter;
}

/**
 * The local read-modify-write at a storage node — the ONLY place dots are minted.
 *
 * Drops the local versions whose dot `context` covers (the versions the writer saw), mints a dot
 * one above every counter of `actor` seen locally (dots and contexts) or in `context`, and stores
 * the new version with `context` pruned to `maxClockEntries`. Versions the context does not cover
 * stay as siblings.
 *
 * Not decided here either: whether `context` may claim more of `actor` than it minted. A storage
 * node refuses such a context before calling this (it is a forgery or a lost-state symptom); a
 * claim past 2^53 - 1 is refused here in any case ({@link CounterOverflowError}).
 *
 * Not decided here: "a put with no context on a key holding only tombstones supersedes them" is
 * the storage node's rule; it passes the tombstones' {@link contextOf} as `context` when it applies.
 *
 * Replicate `versions` (the whole resulting set), not only `minted`: a context summarises a
 * node's dots as one counter, so a replica holding (n, 2) but not its earlier sibling (n, 1)
 * would hand out a context that covers (n, 1) without the client having seen it.
 */
export function mintVersion(
  local: readonly Version[],
  input: MintInput,
): { versions: Version[]; minted: Version } {
  const { actor } = input;
  const context = normalize(input.context);
  let highest = Math.max(counterOf(context, actor), (input.minCounter ?? 1) - 1);
  for (const v of local) {
    if (compareActors(v.dot, actor) === 0) highest = Math.max(highest, v.dot.counter);
    highest = Math.max(highest, counterOf(v.context, actor));
  }
  // Why check here: past 2^53 - 1, highest + 1 rounds back to highest, and every later mint
  // would reuse one dot for different values.
  if (!Number.isSafeInteger(highest + 1)) throw new CounterOverflowError(actor);
  const minted: Version = {
    dot: { node: actor.node, epoch: actor.epoch, counter: highest + 1 },
    // Why prune only after dropping: the full context decides what is superseded; the stored
    // copy may forget old entries, which can only ever keep extra siblings alive.
    context: prune(context, input.maxClockEntries),
    value: input.value,
    tombstone: input.tombstone,
    writtenAtMs: input.nowMs,
  };
  const versions = local.filter((v) => !covers(context, v.dot));
  versions.push(minted);
  return { versions, minted };
}

/** A dot as a map key. Counter and epoch are digits, so the node id after them needs no escaping. */
function dotKey(d: Dot): string {
  return `${d.counter}@${d.epoch}@${d.node}`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareClocks(a: VectorClock, b: VectorClock): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as ClockEntry;
    const y = b[i] as ClockEntry;
    const d = compareActors(x, y) || x.counter - y.counter || x.timestampMs - y.timestampMs;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Picks one of two versions with the same dot. They are normally identical copies; should a dot
 * ever be reused (a node that lost its state before epochs existed), a total order on the content picks the same survivor
 * whatever the merge order, so replicas still converge.
 */
function pickSameDot(a: Version, b: Version): Version {
  const d =
    a.writtenAtMs - b.writtenAtMs ||
    Number(a.tombstone) - Number(b.tombstone) ||
    compareBytes(a.value, b.value) ||
    compareClocks(a.context, b.context);
  return d >= 0 ? a : b;
}

function byDot(a: Version, b: Version): number {
  return compareActors(a.dot, b.dot) || a.dot.counter - b.dot.counter;
}

/**
 * Synchronises two sibling sets (replication, read repair, hinted handoff, anti-entropy): the
 * union, identical dots kept once, minus every version whose dot another version's context
 * covers. Commutative, associative and idempotent on sets produced by {@link mintVersion}, so
 * replicas converge whatever order merges arrive in. The result is sorted by dot.
 */
export function mergeVersions(a: readonly Version[], b: readonly Version[]): Version[] {
  const byKey = new Map<string, Version>();
  for (const v of [...a, ...b]) {
    const k = dotKey(v.dot);
    const seen = byKey.get(k);
    byKey.set(k, seen === undefined ? v : pickSameDot(seen, v));
  }
  const all = [...byKey.values()];
  const kept = all.filter(
    (v) => !all.some((w) => w !== v && covers(w.context, v.dot)),
  );
  return kept.sort(byDot);
}

/**
 * The causal context a Get hands out: the merge of every version's context and dot (tombstones
 * included, so a write after a read supersedes the deletes it saw as well).
 */
export function contextOf(versions: readonly Version[]): VectorClock {
  let acc: VectorClock = [];
  for (const v of versions) {
    const dotEntry: ClockEntry = {
      node: v.dot.node,
      epoch: v.dot.epoch,
      counter: v.dot.counter,
      timestampMs: v.writtenAtMs,
    };
    acc = merge(merge(acc, v.context), [dotEntry]);
  }
  return acc;
}

/** The versions that are values, not tombstones. */
export function liveVersions(versions: readonly Version[]): Version[] {
  return versions.filter((v) => !v.tombstone);
}

/** Whether two sets hold the same versions (compared by dot). Read repair uses it to spot stale replicas. */
export function sameVersions(a: readonly Version[], b: readonly Version[]): boolean {
  const ka = new Set(a.map((v) => dotKey(v.dot)));
  const kb = new Set(b.map((v) => dotKey(v.dot)));
  if (ka.size !== kb.size) return false;
  for (const k of ka) if (!kb.has(k)) return false;
  return true;
}
