/** Time as a throttle sees it; tests pass a fake one. */
export interface ThrottleClock {
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock and real timers. */
export const systemThrottleClock: ThrottleClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket of bytes: at most `bytesPerSecond` on average, bursts up to one second's worth.
 * Why a whole message may overdraw: a hint is delivered whole or not at all, so one larger than
 * the bucket is let through and paid for by the wait before the next one.
 */
export class ByteThrottle {
  private tokens: number;
  private last: number;
  private rate: number;

  constructor(
    bytesPerSecond: number,
    private readonly clock: ThrottleClock = systemThrottleClock,
  ) {
    this.rate = ByteThrottle.check(bytesPerSecond);
    this.tokens = this.rate;
    this.last = clock.now();
  }

  /** The current rate, bytes per second. */
  get bytesPerSecond(): number {
    return this.rate;
  }

  /** Changes the rate from now on (for a throttle set while hints are flowing). */
  setRate(bytesPerSecond: number): void {
    this.refill();
    this.rate = ByteThrottle.check(bytesPerSecond);
    this.tokens = Math.min(this.tokens, this.rate);
  }

  /** Waits until `bytes` may be sent, then takes them. */
  async take(bytes: number): Promise<void> {
    this.refill();
    if (this.tokens <= 0) {
      await this.clock.sleep(Math.ceil((-this.tokens + 1) * 1000 / this.rate));
      this.refill();
    }
    this.tokens -= bytes;
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  private static check(bytesPerSecond: number): number {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError(`bytes per second must be positive, got ${bytesPerSecond}`);
    return bytesPerSecond;
  }
}
