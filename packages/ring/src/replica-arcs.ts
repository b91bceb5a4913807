/**
 * The ring cut into its elementary arcs: between two consecutive vnode positions nothing changes,
 * so every key of an arc has the same preference list. Anti-entropy compares replicas arc by arc
 * for exactly that reason: every replica of an arc holds the same key set (the keys in it), so
 * two replicas' trees of one arc can be compared directly.
 */
import type { HashRing } from './hash-ring.js';
import { arcLength, inArc } from './position.js';

/** An arc (start, end] of the ring and the preference list of every key in it. */
export interface ReplicaArc {
  readonly start: number;
  readonly end: number;
  /** The arc's replicas, in preference order. */
  readonly replicas: readonly string[];
}

/**
 * Every elementary arc of `ring`, in ring order (by `end`), with its first `n` distinct nodes.
 * Positions shared by two vnodes (a hash collision) make one arc, not an empty one; a ring with
 * one position has one arc, the whole circle (`start === end`). An empty ring has none.
 */
export function replicaArcs(ring: HashRing, n: number): ReplicaArc[] {
  const ends = [...new Set(ring.boundaries())];
  const last = ends[ends.length - 1];
  if (last === undefined) return [];
  const out: ReplicaArc[] = [];
  let start = last;
  for (const end of ends) {
    // The list of an arc is the list of its end: no vnode lies strictly inside it.
    out.push({ start, end, replicas: ring.preferenceListAt(end, n) });
    start = end;
  }
  return out;
}

/** The arcs of `arcs` that `node` replicates. */
export function arcsOfNode<A extends ReplicaArc>(arcs: readonly A[], node: string): A[] {
  return arcs.filter((a) => a.replicas.includes(node));
}

/** Whether two arcs share at least one position. */
export function arcsOverlap(a: { readonly start: number; readonly end: number }, b: { readonly start: number; readonly end: number }): boolean {
  if (a.start === a.end || b.start === b.end) return true;
  // Two arcs overlap when one holds the other's last position.
  return inArc(a.end, b.start, b.end) || inArc(b.end, a.start, a.end);
}

/** Index in `arcs` (sorted by `end`, covering the circle) of the arc holding `position`. */
export function arcIndexAt(ends: Uint32Array, position: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ends[mid] as number) < position) lo = mid + 1;
    else hi = mid;
  }
  return lo === ends.length ? 0 : lo;
}

/** The fraction (0..1] of the circle an arc spans. */
export function arcShare(arc: { readonly start: number; readonly end: number }): number {
  return arcLength(arc.start, arc.end) / 2 ** 32;
}
