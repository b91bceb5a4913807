import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidPacerOptionError, Pacer } from './pacer.js';

/** A clock that only moves when the pacer sleeps. */
function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

describe('Pacer', () => {
  it('spends a burst at once, then no faster than the rate: n units take (n - burst) / rate seconds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 500 }), fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 30 }), async (rate, burst, takes) => {
        const clock = fakeTime();
        const pacer = new Pacer({ ratePerSecond: rate, burst, now: clock.now, sleep: clock.sleep });
        const start = clock.now();
        for (const n of takes) await pacer.take(n);
        const total = takes.reduce((x, y) => x + y, 0);
        const elapsedMs = clock.now() - start;
        const floorMs = (Math.max(0, total - burst) / rate) * 1000;
        expect(elapsedMs).toBeGreaterThanOrEqual(floorMs - 1e-6);
        // Each wait is rounded up to a whole millisecond: at most 1 ms lost per wait.
        expect(elapsedMs).toBeLessThanOrEqual(floorMs + clock.sleeps.length + 1);
      }),
      { numRuns: 200 },
    );
  });

  it('does not wait while the bucket holds the units', async () => {
    const clock = fakeTime();
    const pacer = new Pacer({ ratePerSecond: 1000, now: clock.now, sleep: clock.sleep });
    expect(pacer.burst).toBe(100);
    await pacer.take(100);
    expect(clock.sleeps).toEqual([]);
  });

  it('stops waiting when its signal aborts', async () => {
    const clock = fakeTime();
    const pacer = new Pacer({ ratePerSecond: 10, burst: 1, now: clock.now, sleep: clock.sleep });
    const ctl = new AbortController();
    ctl.abort(new Error('rebuild cancelled'));
    await expect(pacer.take(5, ctl.signal)).rejects.toThrow('rebuild cancelled');
  });

  it('refuses a rate, burst or amount that is not a positive integer, naming it', () => {
    const clock = fakeTime();
    expect(() => new Pacer({ ratePerSecond: 0, now: clock.now, sleep: clock.sleep })).toThrow(/ratePerSecond must be a positive integer, got 0/);
    expect(() => new Pacer({ ratePerSecond: 10, burst: 0.5, now: clock.now, sleep: clock.sleep })).toThrow(InvalidPacerOptionError);
    const p = new Pacer({ ratePerSecond: 10, now: clock.now, sleep: clock.sleep });
    return expect(p.take(-1)).rejects.toThrow(/units must be/);
  });
});
