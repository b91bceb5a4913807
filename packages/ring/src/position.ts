/**
 * Positions on the ring: unsigned 32-bit integers, clockwise from 0 to 2^32 - 1 and back to 0.
 */
import { createHash } from 'node:crypto';

/** Number of positions on the ring (2^32). */
export const RING_SIZE = 2 ** 32;

/**
 * Position of a key (or a virtual node label) on the ring: the first 32 bits of its SHA-1,
 * big-endian, unsigned. SHA-1 spreads keys uniformly; the notes place nodes on SHA-1's space, and
 * 32 bits of it keep positions in a `Uint32Array` with exact integer arithmetic.
 * Strings are hashed as UTF-8.
 */
export function sha1Position(key: Uint8Array | string): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0);
}

/** Length of the clockwise arc (start, end]; `start === end` is the full circle. */
export function arcLength(start: number, end: number): number {
  return end > start ? end - start : end + RING_SIZE - start;
}

/** Whether `position` lies in the clockwise arc (start, end]; `start === end` is the full circle. */
export function inArc(position: number, start: number, end: number): boolean {
  if (start < end) return position > start && position <= end;
  if (start > end) return position > start || position <= end;
  return true;
}

/** Index of the first element of sorted `a` that is >= `x`, or `a.length` if none is. */
export function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
