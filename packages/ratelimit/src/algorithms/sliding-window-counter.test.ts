import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingWindowCounter } from './sliding-window-counter.js';

const MINUTE = 60_000;

describe('SlidingWindowCounter', () => {
  it('follows the notes: 7/minute, 5 last minute, 3 this minute, a request at 30% → 6.5 → allowed, the next refused', () => {
    const c = new SlidingWindowCounter(7, MINUTE);
    for (let i = 0; i < 5; i++) expect(c.decide(1, 10 * MINUTE + i * 1000).allowed).toBe(true);
    for (let i = 0; i < 3; i++) expect(c.decide(1, 11 * MINUTE + i * 1000).allowed).toBe(true);
    const at30 = 11 * MINUTE + 0.3 * MINUTE;
    // 3 + 5 × 0.7 = 6.5, rounded down to 6: the request fits under 7.
    expect(c.estimateAt(at30)).toBe(6);
    expect(c.decide(1, at30).allowed).toBe(true);
    // Now 4 + 3.5 = 7.5 → 7: the limit is reached.
    const next = c.decide(1, at30);
    expect(next.allowed).toBe(false);
    // 4 + 5w < 7 once w < 0.6, i.e. after 40% of the minute: 24 s in, 6 s from now, +1 ms.
    expect(next.retryAfterMs).toBe(6_001);
  });

  it('forgets the previous window when a whole window passed without requests', () => {
    const c = new SlidingWindowCounter(2, 1000);
    c.decide(2, 500);
    // At 1.2 s the previous window still weighs 2 × 0.8 = 1.6 → 1, so 2 more do not fit.
    expect(c.decide(2, 1_200).allowed).toBe(false);
    // At 2.1 s the window [1 s, 2 s) held nothing: the count of [0 s, 1 s) no longer weighs.
    expect(c.decide(2, 2_100).allowed).toBe(true);
  });

  it('smooths the fixed window edge burst: a full window before the edge holds back the next one', () => {
    const c = new SlidingWindowCounter(5, MINUTE);
    for (let s = 55; s < 60; s++) c.decide(1, s * 1000);
    const after = [0, 1, 2, 3, 4].map((s) => c.decide(1, MINUTE + s * 1000).allowed);
    expect(after.filter(Boolean).length).toBeLessThan(5);
  });

  it('never admits more than the limit within one fixed window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 3 })), { maxLength: 150 }),
        (limit, steps) => {
          const c = new SlidingWindowCounter(limit, 1000);
          const perWindow = new Map<number, number>();
          let t = 0;
          for (const [dt, hits] of steps) {
            t += dt;
            if (c.decide(hits, t).allowed) perWindow.set(Math.floor(t / 1000), (perWindow.get(Math.floor(t / 1000)) ?? 0) + hits);
          }
          for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});
