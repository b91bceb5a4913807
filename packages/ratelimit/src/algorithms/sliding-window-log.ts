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
  /** Times of the logged requests, oldest first, from index `head`. */
  private times: number[] = [];
  /** Hits logged at the matching time. */
  private counts: number[] = [];
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

  /** Hits in the log (after the last expiry). */
  get logged(): number {
    return this.total;
  }

  /** Distinct timestamps held: the log's memory is proportional to this. */
  get entries(): number {
    return this.times.length - this.head;
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return SLIDING_LOG_BASE_BYTES + SLIDING_LOG_ENTRY_BYTES * this.times.length;
  }

  private append(now: number, hits: number): void {
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last] === now) {
      this.counts[last] = (this.counts[last] ?? 0) + hits;
    } else {
      this.times.push(now);
      this.counts.push(hits);
    }
    this.total += hits;
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    const times = this.times;
    let head = this.head;
    while (head < times.length && (times[head] ?? Number.POSITIVE_INFINITY) <= cutoff) {
      this.total -= this.counts[head] ?? 0;
      head++;
    }
    if (head === times.length) {
      this.times = [];
      this.counts = [];
      this.head = 0;
    } else if (head > 64 && head * 2 > times.length) {
      // Compact once the dead prefix is the larger half: amortised O(1) per entry.
      this.times = times.slice(head);
      this.counts = this.counts.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /** Time until enough old hits expire that `hits` more fit. */
  private timeUntilRoomFor(hits: number, now: number): number {
    let excess = this.total + hits - this.limit;
    for (let i = this.head; i < this.times.length; i++) {
      excess -= this.counts[i] ?? 0;
      if (excess <= 0) return msUntil((this.times[i] ?? now) + this.windowMs, now);
    }
    return this.resetAfter(now);
  }

  private resetAfter(now: number): number {
    const newest = this.times[this.times.length - 1];
    return newest === undefined ? 0 : msUntil(newest + this.windowMs, now);
  }
}

/** Fixed bytes of a sliding log, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const SLIDING_LOG_BASE_BYTES = 120;
/** Bytes per distinct logged timestamp, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const SLIDING_LOG_ENTRY_BYTES = 24;
