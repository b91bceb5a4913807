import { describe, expect, it } from 'vitest';
import { ByteThrottle, type ThrottleClock } from './byte-throttle.js';

/** A clock that only moves when the throttle sleeps (or the test says so). */
function fakeClock(): ThrottleClock & { t: number; slept: number[] } {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

describe('ByteThrottle', () => {
  it('passes a second of bytes at once, then holds the long-run rate to bytesPerSecond', async () => {
    const clock = fakeClock();
    const t = new ByteThrottle(1000, clock);
    for (let i = 0; i < 10; i++) await t.take(100);
    expect(clock.t).toBe(0);
    for (let i = 0; i < 50; i++) await t.take(100);
    // 5,000 more bytes at 1,000 B/s: about 5 s (each wait rounds up to a whole millisecond).
    expect(clock.t).toBeGreaterThanOrEqual(4_900);
    expect(clock.t).toBeLessThanOrEqual(5_100);
  });

  it('lets one message larger than the bucket through and makes the next wait for it', async () => {
    const clock = fakeClock();
    const t = new ByteThrottle(100, clock);
    await t.take(1_000);
    expect(clock.t).toBe(0);
    await t.take(1);
    expect(clock.t).toBeGreaterThanOrEqual(9_000);
  });

  it('applies a new rate at once', async () => {
    const clock = fakeClock();
    const t = new ByteThrottle(1_000, clock);
    await t.take(1_000);
    t.setRate(10_000);
    for (let i = 0; i < 10; i++) await t.take(1_000);
    expect(clock.t).toBeLessThanOrEqual(1_100);
    expect(() => t.setRate(0)).toThrow(RangeError);
  });
});
