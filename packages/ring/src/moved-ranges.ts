/**
 * What moves when membership changes: the arcs whose first owner differs between two rings.
 */
import type { HashRing } from './hash-ring.js';

/** An arc (start, end] clockwise — wrapping past 2^32 - 1 when start > end; the full circle when start === end — that moves. */
export interface MovedRange {
  readonly start: number;
  readonly end: number;
  /** First owner in the ring before. */
  readonly from: string;
  /** First owner in the ring after. */
  readonly to: string;
}

/** Sorted, deduplicated union of two sorted position arrays. */
function unionSorted(a: Uint32Array, b: Uint32Array): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const next = y === undefined || (x !== undefined && x <= y) ? (x as number) : y;
    if (x === next) i++;
    if (y === next) j++;
    if (out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

/**
 * Ranges whose first owner differs between two rings — what a node joining or leaving hands over.
 * Both rings' vnode positions cut the circle into elementary arcs on which each ring has one
 * owner; differing arcs are reported, adjacent ones with the same (from, to) joined. Returns []
 * when either ring is empty (nothing is owned, so nothing moves).
 */
export function movedRanges(before: HashRing, after: HashRing): MovedRange[] {
  const cuts = unionSorted(before.boundaries(), after.boundaries());
  const last = cuts[cuts.length - 1];
  if (last === undefined || before.size === 0 || after.size === 0) return [];
  const out: MovedRange[] = [];
  // Arc k is (cuts[k-1], cuts[k]]; arc 0 wraps: (last, cuts[0]]. The owner of an arc is the
  // owner of its end, since no vnode of either ring lies strictly inside it.
  let prev = last;
  for (const end of cuts) {
    const from = before.ownerAt(end) as string;
    const to = after.ownerAt(end) as string;
    if (from !== to) {
      const tail = out[out.length - 1];
      if (tail !== undefined && tail.end === prev && tail.from === from && tail.to === to) {
        out[out.length - 1] = { ...tail, end };
      } else {
        out.push({ start: prev, end, from, to });
      }
    }
    prev = end;
  }
  // The last arc ends where the first (wrapping) arc starts: join them if they move alike.
  const first = out[0];
  const tail = out[out.length - 1];
  if (out.length > 1 && first !== undefined && tail !== undefined && tail.end === first.start &&
      tail.from === first.from && tail.to === first.to) {
    out[0] = { ...first, start: tail.start };
    out.pop();
  }
  return out;
}
