import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FixedWindowCounter } from './fixed-window-counter.js';

const MINUTE = 60_000;

describe('FixedWindowCounter', () => {
  it('follows the notes: 3 per second admits three requests in a second and drops the rest until the next', () => {
    const c = new FixedWindowCounter(3, 1000);
    expect([100, 200, 300, 400].map((t) => c.decide(1, t).allowed)).toEqual([true, true, true, false]);
    expect(c.decide(1, 1000).allowed).toBe(true);
  });

  it('aligns windows to the epoch, so the window resets at the round minute whatever the first request time', () => {
    const c = new FixedWindowCounter(5, MINUTE);
    const d = c.decide(1, 2 * MINUTE + 45_000);
    expect(d.resetAfterMs).toBe(15_000);
    expect(d.remaining).toBe(4);
  });

  it('documented property: a burst at a window edge lets twice the limit through one rolling minute', () => {
    // The notes' example: 5 per minute, 5 requests between 2:00:30 and 2:01:00 and 5 more
    // between 2:01:00 and 2:01:30 — all pass, so the minute 2:00:30–2:01:30 sees 10.
    const c = new FixedWindowCounter(5, MINUTE);
    const twoOClock = 120 * MINUTE;
    const late = [30, 35, 40, 45, 59].map((s) => c.decide(1, twoOClock + s * 1000).allowed);
    const early = [0, 5, 10, 15, 29].map((s) => c.decide(1, twoOClock + MINUTE + s * 1000).allowed);
    expect([...late, ...early].every(Boolean)).toBe(true);
  });

  it('refuses without counting, and says to come back when the window ends', () => {
    const c = new FixedWindowCounter(2, 1000);
    c.decide(2, 0);
    expect(c.decide(1, 400)).toEqual({ allowed: false, limit: 2, remaining: 0, resetAfterMs: 600, retryAfterMs: 600 });
    expect(c.used).toBe(2);
  });

  it('does not reopen a counted window when the clock steps back', () => {
    const c = new FixedWindowCounter(1, 1000);
    c.decide(1, 5_500);
    expect(c.decide(1, 4_900).allowed).toBe(false);
  });

  it('admits at most the limit per window and at most twice the limit in any rolling window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 3 })), { maxLength: 150 }),
        (limit, steps) => {
          const c = new FixedWindowCounter(limit, 1000);
          const admitted: { t: number; hits: number }[] = [];
          let t = 0;
          for (const [dt, hits] of steps) {
            t += dt;
            if (c.decide(hits, t).allowed) admitted.push({ t, hits });
          }
          const perWindow = new Map<number, number>();
          for (const a of admitted) perWindow.set(Math.floor(a.t / 1000), (perWindow.get(Math.floor(a.t / 1000)) ?? 0) + a.hits);
          for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(limit);
          for (const end of admitted) {
            const inWindow = admitted.filter((a) => a.t > end.t - 1000 && a.t <= end.t).reduce((s, a) => s + a.hits, 0);
            expect(inWindow).toBeLessThanOrEqual(2 * limit);
          }
        },
      ),
    );
  });
});
