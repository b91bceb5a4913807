/**
 * Paces background work (a tree rebuild's scan, anti-entropy repairs) to a rate of units per
 * second — keys, or bytes — so it never starves foreground traffic. A token bucket
 * (`@quorumkv/ratelimit`'s) with an injected clock and sleep: tests advance a fake clock.
 */
import { TokenBucket } from '@quorumkv/ratelimit';

/** Options of {@link Pacer}. */
export interface PacerOptions {
  /** Units per second, on average. */
  readonly ratePerSecond: number;
  /** Most units granted at once without waiting. @default ratePerSecond / 10 (100 ms of work), at least 1 */
  readonly burst?: number;
  /** Milliseconds, e.g. `performance.now`. */
  readonly now: () => number;
  /** Resolves after `ms` (e.g. `timers/promises` setTimeout); rejects if `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** An option of {@link Pacer} out of range. */
export class InvalidPacerOptionError extends RangeError {
  override readonly name = 'InvalidPacerOptionError';

  constructor(
    readonly option: 'ratePerSecond' | 'burst' | 'units',
    readonly value: number,
  ) {
    super(`${option} must be a positive integer, got ${value}`);
  }
}

/** See the file comment. */
export class Pacer {
  private readonly bucket: TokenBucket;
  readonly burst: number;

  constructor(private readonly options: PacerOptions) {
    const { ratePerSecond } = options;
    if (!Number.isSafeInteger(ratePerSecond) || ratePerSecond <= 0) throw new InvalidPacerOptionError('ratePerSecond', ratePerSecond);
    this.burst = options.burst ?? Math.max(1, Math.floor(ratePerSecond / 10));
    if (!Number.isSafeInteger(this.burst) || this.burst <= 0) throw new InvalidPacerOptionError('burst', this.burst);
    this.bucket = new TokenBucket(this.burst, ratePerSecond, 1000);
  }

  /**
   * Resolves once `units` may be spent: at once while the bucket holds them, otherwise after the
   * wait the bucket names (more than `burst` units are taken `burst` at a time).
   */
  async take(units: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isSafeInteger(units) || units < 0) throw new InvalidPacerOptionError('units', units);
    let left = units;
    while (left > 0) {
      signal?.throwIfAborted();
      const n = Math.min(left, this.burst);
      const d = this.bucket.decide(n, this.options.now());
      if (d.allowed) left -= n;
      else await this.options.sleep(d.retryAfterMs, signal);
    }
  }
}
