import type { Decision, Limiter } from '../policy.js';
import { checkHits, msUntil, neverAdmittedMs } from './common.js';

/** A leaking-bucket decision: a {@link Decision} plus the wait the admitted hits face in the queue. */
export interface LeakingBucketDecision extends Decision {
  /**
   * How long the admitted hits wait behind the queue before they leave it, in milliseconds (0
   * when refused or when the queue was empty). A caller that holds each admitted request this
   * long gets the algorithm's fixed outflow rate.
   */
  readonly queueDelayMs: number;
}

/**
 * Leaking bucket (the notes' second algorithm): a FIFO queue of `queueSize` requests that drains
 * at `outflowPerUnit` per `unitMs`; a request that finds the queue full is dropped.
 *
 * Why a meter and not a real queue: a rate-limit service answers yes or no and holds no
 * requests, so the queue is kept as its level only (the "leaky bucket as a meter", also known as
 * GCRA). Admission is then the mirror image of a token bucket of the same size and rate; what the
 * leaking bucket adds is {@link LeakingBucketDecision.queueDelayMs}, the time the request would
 * wait for its turn, which lets a caller smooth its output to the fixed rate.
 *
 * The level is stored multiplied by `unitMs` (see TokenBucket for why).
 */
export class LeakingBucket implements Limiter {
  /** Queued requests × unitMs. */
  private level = 0;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly sizeScaled: number;

  /**
   * @param queueSize the most requests the queue holds.
   * @param outflowPerUnit requests leaving the queue per `unitMs`.
   * @param unitMs the outflow period in milliseconds.
   */
  constructor(
    readonly queueSize: number,
    readonly outflowPerUnit: number,
    readonly unitMs: number,
  ) {
    this.sizeScaled = queueSize * unitMs;
  }

  /** {@inheritDoc Limiter.decide} */
  decide(hits: number, nowMs: number): LeakingBucketDecision {
    checkHits(hits);
    const now = this.drain(nowMs);
    const cost = hits * this.unitMs;
    const before = this.level;
    const allowed = before + cost <= this.sizeScaled;
    if (allowed) this.level += cost;
    let retryAfterMs = 0;
    if (!allowed) {
      retryAfterMs =
        hits > this.queueSize
          ? neverAdmittedMs(this.timeToLevel(0, now), this.unitMs)
          : this.timeToLevel(this.sizeScaled - cost, now);
    }
    return {
      allowed,
      limit: this.queueSize,
      remaining: Math.floor((this.sizeScaled - this.level) / this.unitMs),
      resetAfterMs: this.timeToLevel(0, now),
      retryAfterMs,
      // The admitted hits queue behind `before`: they leave once it has drained.
      queueDelayMs: allowed ? this.timeToLevel(this.level - before, now) : 0,
    };
  }

  /** {@inheritDoc Limiter.refund} */
  refund(hits: number, nowMs: number): LeakingBucketDecision {
    checkHits(hits);
    this.drain(nowMs);
    this.level = Math.max(0, this.level - hits * this.unitMs);
    return this.decide(0, nowMs);
  }

  /** Requests in the queue after the outflow due at `nowMs`. */
  queuedAt(nowMs: number): number {
    this.drain(nowMs);
    return this.level / this.unitMs;
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return LEAKING_BUCKET_BYTES;
  }

  private drain(nowMs: number): number {
    if (nowMs > this.lastMs) {
      if (this.lastMs !== Number.NEGATIVE_INFINITY) {
        this.level = Math.max(0, this.level - (nowMs - this.lastMs) * this.outflowPerUnit);
      }
      this.lastMs = nowMs;
    }
    return this.lastMs;
  }

  /** Milliseconds until the level has drained down to `target` (scaled). */
  private timeToLevel(target: number, now: number): number {
    if (this.level <= target) return 0;
    if (this.outflowPerUnit === 0) return this.unitMs;
    return msUntil(now + (this.level - target) / this.outflowPerUnit, now);
  }
}

/** Bytes of heap per leaking bucket, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const LEAKING_BUCKET_BYTES = 88;
