import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingWindowLog } from './sliding-window-log.js';

describe('SlidingWindowLog', () => {
  it('follows the notes: 2 per minute admits two, refuses the third, and admits again once the oldest is a minute old', () => {
    const l = new SlidingWindowLog(2, 60_000);
    expect(l.decide(1, 1_000).allowed).toBe(true);
    expect(l.decide(1, 30_000).allowed).toBe(true);
    const refused = l.decide(1, 50_000);
    expect(refused).toEqual({ allowed: false, limit: 2, remaining: 0, resetAfterMs: 40_000, retryAfterMs: 11_000 });
    expect(l.decide(1, 60_999).allowed).toBe(false);
    expect(l.decide(1, 61_000).allowed).toBe(true);
  });

  it('does not log refused requests, so the log never outgrows the limit', () => {
    const l = new SlidingWindowLog(3, 1000);
    for (let t = 0; t < 500; t++) l.decide(1, t);
    expect(l.logged).toBe(3);
    expect(l.entries).toBeLessThanOrEqual(3);
  });

  it('forgets everything once a whole window passes without requests', () => {
    const l = new SlidingWindowLog(3, 1000);
    l.decide(3, 0);
    const d = l.decide(0, 1000);
    expect(d.remaining).toBe(3);
    expect(d.resetAfterMs).toBe(0);
    expect(l.entries).toBe(0);
  });

  it('never admits more than the limit in any rolling window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 3 })), { maxLength: 200 }),
        (limit, steps) => {
          const l = new SlidingWindowLog(limit, 1000);
          const admitted: { t: number; hits: number }[] = [];
          let t = 0;
          for (const [dt, hits] of steps) {
            t += dt;
            if (l.decide(hits, t).allowed) admitted.push({ t, hits });
          }
          // The fullest rolling window (end − 1000, end] ends at an admitted request.
          for (const end of admitted) {
            const inWindow = admitted.filter((a) => a.t > end.t - 1000 && a.t <= end.t).reduce((s, a) => s + a.hits, 0);
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });
});
