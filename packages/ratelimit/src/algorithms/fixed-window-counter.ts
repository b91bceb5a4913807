import type { Decision, Limiter } from '../policy.js';
import { checkHits, msUntil, neverAdmittedMs } from './common.js';

/**
 * Fixed window counter (the notes' third algorithm, and Envoy's): time is cut into windows of
 * `windowMs` aligned to the Unix epoch (so every replica and every restart agrees on where a
 * window starts); each window counts hits up to `limit`.
 *
 * Known property, documented and tested: a burst at the end of one window and another at the
 * start of the next both pass, so a rolling window straddling the edge can see `2 × limit`.
 */
export class FixedWindowCounter implements Limiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private count = 0;

  /**
   * @param limit hits admitted per window.
   * @param windowMs the window length in milliseconds.
   */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** {@inheritDoc Limiter.decide} */
  decide(hits: number, nowMs: number): Decision {
    checkHits(hits);
    this.roll(nowMs);
    const now = Math.max(nowMs, this.windowStart);
    const allowed = this.count + hits <= this.limit;
    if (allowed) this.count += hits;
    const resetAfterMs = msUntil(this.windowStart + this.windowMs, now);
    return {
      allowed,
      limit: this.limit,
      remaining: this.limit - this.count,
      resetAfterMs,
      retryAfterMs: allowed ? 0 : hits > this.limit ? neverAdmittedMs(resetAfterMs, this.windowMs) : resetAfterMs,
    };
  }

  /** {@inheritDoc Limiter.refund} */
  refund(hits: number, nowMs: number): Decision {
    checkHits(hits);
    this.roll(nowMs);
    this.count = Math.max(0, this.count - hits);
    return this.decide(0, nowMs);
  }

  private roll(nowMs: number): void {
    const start = Math.floor(nowMs / this.windowMs) * this.windowMs;
    // Why only forward: a clock that steps back must not reopen a window already counted.
    if (start > this.windowStart) {
      this.windowStart = start;
      this.count = 0;
    }
  }

  /** Hits counted in the current window. */
  get used(): number {
    return this.count;
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return FIXED_WINDOW_BYTES;
  }
}

/** Bytes of heap per fixed window counter, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const FIXED_WINDOW_BYTES = 72;
