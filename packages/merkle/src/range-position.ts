/**
 * Tree positions for the keys of one ring range, so that every segment of the range's tree is
 * one arc of the ring.
 *
 * A storage node keeps, beside each key's record, an index entry ordered by ring position
 * (`ring position ‖ key → digest`). With positions from {@link rangePosition}, the keys of
 * segment `s` at depth `d` of the range (start, end] are exactly the index entries whose ring
 * positions lie in {@link segmentArc}(start, end, d, s): one range scan (two when the arc wraps
 * past 2^32 - 1), at any depth, with no per-range copy of the index — so ranges that split or
 * join when membership changes need their trees rebuilt from the index, never the index itself.
 *
 * A key at relative offset `rel` = (ring position − start − 1) mod 2^32 in a range of `len`
 * positions gets position ⌊rel · 2^32 / len⌋: the range stretched over the 32-bit space, so the
 * top `d` bits (the segment) are ⌊rel · 2^d / len⌋, monotone in the ring position. Ring positions
 * of keys are uniform (SHA-1), so keys spread evenly over the segments.
 */
import { InvalidDepthError, InvalidIndexError, InvalidPositionError } from './errors.js';
import { MAX_DEPTH } from './merkle-tree.js';

const TWO32 = 2 ** 32;

/** An arc of the ring, (after, through] clockwise; `after === through` is the whole circle (only a depth-0 segment of a whole-circle range), and `empty` an arc with no position. */
export interface RingArc {
  /** The arc holds the positions after this one… */
  readonly after: number;
  /** …up to and including this one (wrapping past 2^32 - 1 when smaller than `after`). */
  readonly through: number;
  /** The arc holds no position (a segment of a range shorter than its segment count). */
  readonly empty: boolean;
}

function checkPosition(p: number): void {
  if (p >>> 0 !== p) throw new InvalidPositionError(p);
}

function lengthOf(start: number, end: number): number {
  return end > start ? end - start : end + TWO32 - start;
}

/**
 * The tree position of a key at `ringPosition` in the range (start, end] (the whole circle when
 * `start === end`). Exact integer arithmetic in two 16-bit steps of long division, since
 * rel · 2^32 would not fit a double.
 * @throws InvalidPositionError when a position is not a 32-bit unsigned integer, or
 *   `ringPosition` is not in the range.
 */
export function rangePosition(ringPosition: number, start: number, end: number): number {
  checkPosition(ringPosition);
  checkPosition(start);
  checkPosition(end);
  const len = lengthOf(start, end);
  const rel = (ringPosition - start - 1 + TWO32) % TWO32;
  if (rel >= len) throw new InvalidPositionError(ringPosition);
  // Why exact: every quotient below is < 2^16 and every dividend < 2^48, so a double holds
  // both exactly, and a non-integer quotient is at least 1/len ≥ 2^-32 from the next integer —
  // far more than the 2^-37 a double's rounding could move it.
  const a = rel * 65536;
  const q1 = Math.floor(a / len);
  const b = (a - q1 * len) * 65536;
  return q1 * 65536 + Math.floor(b / len);
}

/** ⌈s · len / 2^depth⌉: the first relative offset of segment `s`. */
function firstOffset(s: number, len: number, depth: number): bigint {
  const n = BigInt(s) * BigInt(len);
  const d = 1n << BigInt(depth);
  return (n + d - 1n) / d;
}

/**
 * The arc of ring positions whose keys lie in segment `segment` at `depth` of the range
 * (start, end]: what a storage node scans to list that segment.
 * @throws InvalidDepthError or InvalidIndexError for a segment that does not exist.
 */
export function segmentArc(start: number, end: number, depth: number, segment: number): RingArc {
  checkPosition(start);
  checkPosition(end);
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) throw new InvalidDepthError('depth', depth, MAX_DEPTH);
  if (!Number.isInteger(segment) || segment < 0 || segment >= 2 ** depth) throw new InvalidIndexError(depth, segment);
  const len = lengthOf(start, end);
  const from = Number(firstOffset(segment, len, depth));
  const to = Number(firstOffset(segment + 1, len, depth));
  // Offsets [from, to) are ring positions start + 1 + from … start + to.
  return { after: (start + from) % TWO32, through: (start + to) % TWO32, empty: to === from };
}
