import type { Decision, Limiter } from '../policy.js';
import { checkHits, msUntil, neverAdmittedMs } from './common.js';

/**
 * Sliding window counter (the notes' fifth algorithm): two fixed windows, the current and the
 * previous, and an estimate of the rolling window's count that assumes the previous window's
 * hits were spread evenly:
 *
 *   estimate = current + previous × (1 − elapsed fraction of the current window)
 *
 * rounded down, as in the notes. A request of `hits` passes when `floor(estimate) + hits ≤ limit`.
 * The notes' example: limit 7, previous 5, current 3, a request at 30 % → 3 + 5 × 0.7 = 6.5 → 6,
 * and 6 + 1 ≤ 7 passes; the next request sees 4 + 3.5 = 7.5 → 7 and is refused.
 *
 * Why it is approximate: the estimate may differ from the true rolling count when the previous
 * window's hits were bunched (and rounding down can let one extra hit through). It smooths the
 * fixed window's double burst at an edge while keeping two counters per key.
 */
export class SlidingWindowCounter implements Limiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private current = 0;
  private previous = 0;
  private latestMs = Number.NEGATIVE_INFINITY;

  /**
   * @param limit hits admitted per rolling window (approximately).
   * @param windowMs the window length in milliseconds.
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
    this.roll(now);
    const allowed = this.estimate(now) + hits <= this.limit;
    if (allowed) this.current += hits;
    let retryAfterMs = 0;
    if (!allowed) {
      retryAfterMs = hits > this.limit ? neverAdmittedMs(this.resetAfter(now), this.windowMs) : this.timeUntilRoomFor(hits, now);
    }
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - this.estimate(now)),
      resetAfterMs: this.resetAfter(now),
      retryAfterMs,
    };
  }

  /**
   * {@inheritDoc Limiter.refund}
   * The hits come back from the current window first (where the latest admissions were counted),
   * then from the previous one.
   */
  refund(hits: number, nowMs: number): Decision {
    checkHits(hits);
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.roll(this.latestMs);
    const fromCurrent = Math.min(this.current, hits);
    this.current -= fromCurrent;
    this.previous = Math.max(0, this.previous - (hits - fromCurrent));
    return this.decide(0, nowMs);
  }

  /** The rounded-down rolling estimate at `nowMs` (does not consume). */
  estimateAt(nowMs: number): number {
    const now = Math.max(nowMs, this.latestMs);
    this.roll(now);
    return this.estimate(now);
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return SLIDING_COUNTER_BYTES;
  }

  private roll(now: number): void {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start <= this.windowStart) return;
    // The window that just ended becomes the previous one only if it is adjacent; after a gap
    // of a whole window or more, nothing remains to weigh.
    this.previous = start - this.windowStart === this.windowMs ? this.current : 0;
    this.current = 0;
    this.windowStart = start;
  }

  private estimate(now: number): number {
    return Math.floor(this.current + this.previous * this.previousWeight(now));
  }

  private previousWeight(now: number): number {
    return 1 - (now - this.windowStart) / this.windowMs;
  }

  /**
   * The first time the estimate leaves room for `hits`. Within the current window the estimate
   * only falls (the previous window's weight shrinks); if the current window alone is too full,
   * the answer lies in the next window, where today's count becomes the one that shrinks.
   */
  private timeUntilRoomFor(hits: number, now: number): number {
    const room = this.limit - hits; // floor(c + p × w) ≤ room  ⇔  c + p × w < room + 1
    if (this.current <= room) {
      if (this.previous === 0) return 0;
      const w = (room + 1 - this.current) / this.previous;
      return this.firstMsWith(now, this.windowStart + this.windowMs * (1 - w), this.current, this.previous, room);
    }
    const next = this.windowStart + this.windowMs;
    const w = (room + 1) / this.current;
    return this.firstMsWith(now, next + this.windowMs * (1 - w), 0, this.current, room);
  }

  /** Rounds the analytic crossing up to a whole millisecond at which the estimate truly fits. */
  private firstMsWith(now: number, at: number, cur: number, prev: number, room: number): number {
    const start = Math.floor(at / this.windowMs) * this.windowMs;
    let t = Math.max(Math.ceil(at), start, Math.ceil(now));
    for (let i = 0; i < 3; i++) {
      const weight = 1 - (t - start) / this.windowMs;
      if (Math.floor(cur + prev * weight) <= room) break;
      t++;
    }
    return msUntil(t, now);
  }

  private resetAfter(now: number): number {
    if (this.current > 0) return msUntil(this.windowStart + 2 * this.windowMs, now);
    if (this.previous > 0) return msUntil(this.windowStart + this.windowMs, now);
    return 0;
  }
}

/** Bytes of heap per sliding window counter, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const SLIDING_COUNTER_BYTES = 104;
