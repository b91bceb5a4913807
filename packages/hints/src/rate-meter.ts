/**
 * A rate over the last few seconds (deliveries per second, bytes per second): counts kept in
 * one-second buckets, the rate taken over the full buckets of the window plus the current one.
 */
export class RateMeter {
  private readonly buckets: number[];
  private current = 0;
  private currentSecond: number;

  /**
   * @param windowSeconds how many past seconds the rate averages over.
   * @param now the clock (ms); tests pass a fake one.
   */
  constructor(
    private readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError(`window must be a whole number of seconds >= 1, got ${windowSeconds}`);
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.currentSecond = Math.floor(now() / 1000);
  }

  /** Counts `n` now. */
  add(n = 1): void {
    this.roll();
    this.current += n;
  }

  /** Per second over the window (the current, partial second included). */
  perSecond(): number {
    this.roll();
    const nowMs = this.now();
    let total = this.current;
    for (const b of this.buckets) total += b;
    const elapsed = this.windowSeconds + (nowMs % 1000) / 1000;
    return total / elapsed;
  }

  private roll(): void {
    const second = Math.floor(this.now() / 1000);
    const steps = second - this.currentSecond;
    if (steps <= 0) return;
    // Each elapsed second shifts the window by one bucket; after a pause longer than the window
    // nothing in it is recent any more.
    if (steps > this.windowSeconds) this.buckets.fill(0);
    else {
      for (let i = 0; i < steps; i++) {
        this.buckets.shift();
        this.buckets.push(i === 0 ? this.current : 0);
      }
    }
    this.current = 0;
    this.currentSecond = second;
  }
}
