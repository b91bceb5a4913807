import type { TimerHandle, Timers } from '../timers.js';

/**
 * A clock a test moves by hand (`Timers`): `advance(ms)` runs the timers it passes, in time
 * order, each seeing `now()` at its own due time. No real time passes and nothing sleeps.
 */
export class ManualClock implements Timers {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 1_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.timers.set(++this.seq, { at: this.t + Math.max(0, ms), fn });
    return this.seq;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Timers set and not yet run or cleared. */
  get timerCount(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
