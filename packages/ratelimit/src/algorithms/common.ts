import { InvalidHitsError, InvalidPolicyError } from '../errors.js';
import type { LimitPolicy } from '../policy.js';

/** Throws {@link InvalidHitsError} unless `hits` is a non-negative safe integer. */
export function checkHits(hits: number): void {
  if (!Number.isSafeInteger(hits) || hits < 0) throw new InvalidHitsError(hits);
}

/** Throws {@link InvalidPolicyError} unless `n` is a non-negative safe integer. */
export function checkCount(policy: LimitPolicy, field: 'requestsPerUnit' | 'burst', n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidPolicyError(policy, field, `must be a non-negative integer, got ${n}`);
  }
}

/**
 * Milliseconds from `nowMs` to `atMs`, rounded up to a whole millisecond and never negative:
 * a client told to come back after this long will find the condition true.
 */
export function msUntil(atMs: number, nowMs: number): number {
  const d = Math.ceil(atMs - nowMs);
  return d > 0 ? d : 0;
}

/**
 * The retry hint for a request larger than the limit, which no wait will admit: the time to a
 * fresh state, but never less than one unit, so a client that obeys it does not spin.
 */
export function neverAdmittedMs(resetAfterMs: number, unitMs: number): number {
  return Math.max(resetAfterMs, unitMs);
}
