import type { Decision, Limiter } from '../policy.js';
import { checkHits, msUntil, neverAdmittedMs } from './common.js';

/**
 * Sliding window log (the notes' fourth algorithm): remembers when each admitted hit happened
 * and admits a request only if the hits of the last `windowMs` plus its own stay within
 * `limit`. Exact in every rolling window; memory grows with the limit.
 *
 * A hit at time t counts in every window (now − windowMs, now] that contains t, so it stops
 * counting at exactly t + windowMs.
 *
 * Why refused hits are not logged (the notes log them): a logged refusal keeps a client that
 * keeps trying locked out for ever, and lets an attacker grow the log without bound. Logging
 * only admitted hits keeps the log at most `limit` hits long and still never admits more than
 * `limit` in any rolling window (the property the tests check).
 */
export class SlidingWindowLog implements Limiter {
  /**
   * The log, oldest first from index `head`: pairs of (time, hits at that time). One array of
   * pairs rather than two arrays: a key with a short log then costs one small backing store.
   */
  private log: number[] = [];
  private head = 0;
  private total = 0;
  private latestMs = Number.NEGATIVE_INFINITY;

  /**
   * @param limit hits admitted in any rolling window.
   * @param windowMs the rolling window length in milliseconds.
   */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** {@inheritDoc Limiter.decide} */
  decide(hits: number, nowMs: number): Decision {
    checkHits(hits);
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    const now = this.latestMs;
    this.expire(now);
    const allowed = this.total + hits <= this.limit;
    if (allowed && hits > 0) this.append(now, hits);
    let retryAfterMs = 0;
    if (!allowed) {
      retryAfterMs = hits > this.limit ? neverAdmittedMs(this.resetAfter(now), this.windowMs) : this.timeUntilRoomFor(hits, now);
    }
    return {
      allowed,
      limit: this.limit,
      remaining: this.limit - this.total,
      resetAfterMs: this.resetAfter(now),
      retryAfterMs,
    };
  }

  /**
   * {@inheritDoc Limiter.refund}
   * The newest logged hits are taken back first: a refund returns what was taken last.
   */
  refund(hits: number, nowMs: number): Decision {
    checkHits(hits);
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.expire(this.latestMs);
    let left = Math.min(hits, this.total);
    const log = this.log;
    while (left > 0 && log.length > this.head) {
      const last = log.length - 1;
      const take = Math.min(left, log[last] ?? 0);
      log[last] = (log[last] ?? 0) - take;
      this.total -= take;
      left -= take;
      if (log[last] === 0) log.length -= 2;
    }
    if (log.length === this.head) {
      this.log = [];
      this.head = 0;
    }
    return this.decide(0, nowMs);
  }

  /** Hits in the log (after the last expiry). */
  get logged(): number {
    return this.total;
  }

  /** Distinct timestamps held: the log's memory is proportional to this. */
  get entries(): number {
    return (this.log.length - this.head) / 2;
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return SLIDING_LOG_BASE_BYTES + SLIDING_LOG_ENTRY_BYTES * (this.log.length / 2);
  }

  private append(now: number, hits: number): void {
    const log = this.log;
    const last = log.length - 2;
    if (last >= this.head && log[last] === now) {
      log[last + 1] = (log[last + 1] ?? 0) + hits;
    } else if (log.length === 0) {
      // A literal sizes the backing store for one pair; push would reserve room for 8.
      this.log = [now, hits];
    } else {
      log.push(now, hits);
    }
    this.total += hits;
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    const log = this.log;
    let head = this.head;
    while (head < log.length && (log[head] ?? Number.POSITIVE_INFINITY) <= cutoff) {
      this.total -= log[head + 1] ?? 0;
      head += 2;
    }
    if (head === log.length) {
      if (log.length > 0) this.log = [];
      this.head = 0;
    } else if (head > 64 && head * 2 > log.length) {
      // Compact once the dead prefix is the larger half: amortised O(1) per entry.
      this.log = log.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /** Time until enough old hits expire that `hits` more fit. */
  private timeUntilRoomFor(hits: number, now: number): number {
    const log = this.log;
    let excess = this.total + hits - this.limit;
    for (let i = this.head; i < log.length; i += 2) {
      excess -= log[i + 1] ?? 0;
      if (excess <= 0) return msUntil((log[i] ?? now) + this.windowMs, now);
    }
    return this.resetAfter(now);
  }

  private resetAfter(now: number): number {
    const newest = this.log[this.log.length - 2];
    return newest === undefined ? 0 : msUntil(newest + this.windowMs, now);
  }
}

/**
 * Fixed bytes of a sliding log, fitted to `npm run -w @quorumkv/ratelimit bench` (152 bytes
 * with 1 timestamp, 312 with 10, 2232 with 100 on Node 20).
 */
export const SLIDING_LOG_BASE_BYTES = 128;
/** Bytes per distinct logged timestamp, including the array's growth slack (same fit). */
export const SLIDING_LOG_ENTRY_BYTES = 21;
