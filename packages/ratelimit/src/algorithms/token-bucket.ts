import type { Decision, Limiter } from '../policy.js';
import { checkHits, msUntil, neverAdmittedMs } from './common.js';

/**
 * Token bucket (the notes' first algorithm): a bucket of `capacity` tokens, refilled by
 * `refillPerUnit` tokens every `unitMs`, continuously; a hit takes one token; a request with too
 * few tokens is refused and takes none. Allows bursts up to `capacity`, and on average
 * `refillPerUnit` per unit.
 *
 * Why scaled integers: tokens are stored multiplied by `unitMs`, so a refill is
 * `elapsedMs × refillPerUnit` and a hit costs `unitMs` — whole numbers when times are whole
 * milliseconds. With plain floats (`2 / 1000` tokens per ms) a bucket can come up 1e-16 short of
 * a token at the instant it should have one, and refuse a request the notes say passes.
 */
export class TokenBucket implements Limiter {
  /** Tokens × unitMs. */
  private scaled: number;
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly capacityScaled: number;

  /**
   * @param capacity the bucket size: the largest burst admitted at once.
   * @param refillPerUnit tokens added per `unitMs`.
   * @param unitMs the refill period in milliseconds.
   */
  constructor(
    readonly capacity: number,
    readonly refillPerUnit: number,
    readonly unitMs: number,
  ) {
    this.capacityScaled = capacity * unitMs;
    // A new key starts with a full bucket: a client that was never seen has used nothing.
    this.scaled = this.capacityScaled;
  }

  /** {@inheritDoc Limiter.decide} */
  decide(hits: number, nowMs: number): Decision {
    checkHits(hits);
    const now = this.refill(nowMs);
    const cost = hits * this.unitMs;
    const allowed = cost <= this.scaled;
    if (allowed) this.scaled -= cost;
    let retryAfterMs = 0;
    if (!allowed) {
      retryAfterMs = hits > this.capacity ? neverAdmittedMs(this.resetAfter(now), this.unitMs) : this.timeToScaled(cost, now);
    }
    return {
      allowed,
      limit: this.capacity,
      remaining: Math.floor(this.scaled / this.unitMs),
      resetAfterMs: this.resetAfter(now),
      retryAfterMs,
    };
  }

  /** {@inheritDoc Limiter.refund} */
  refund(hits: number, nowMs: number): Decision {
    checkHits(hits);
    this.refill(nowMs);
    this.scaled = Math.min(this.capacityScaled, this.scaled + hits * this.unitMs);
    return this.decide(0, nowMs);
  }

  /** Tokens in the bucket after the refill due at `nowMs` (does not consume). */
  tokensAt(nowMs: number): number {
    this.refill(nowMs);
    return this.scaled / this.unitMs;
  }

  /** {@inheritDoc Limiter.sizeBytes} */
  sizeBytes(): number {
    return TOKEN_BUCKET_BYTES;
  }

  private refill(nowMs: number): number {
    if (nowMs > this.lastMs) {
      if (this.lastMs !== Number.NEGATIVE_INFINITY) {
        const added = (nowMs - this.lastMs) * this.refillPerUnit;
        this.scaled = Math.min(this.capacityScaled, this.scaled + added);
      }
      this.lastMs = nowMs;
    }
    return this.lastMs;
  }

  private timeToScaled(target: number, now: number): number {
    if (this.refillPerUnit === 0) return this.unitMs;
    return msUntil(now + (target - this.scaled) / this.refillPerUnit, now);
  }

  private resetAfter(now: number): number {
    if (this.scaled >= this.capacityScaled) return 0;
    return this.timeToScaled(this.capacityScaled, now);
  }
}

/** Bytes of heap per token bucket, as measured by `npm run -w @quorumkv/ratelimit bench`. */
export const TOKEN_BUCKET_BYTES = 88;
