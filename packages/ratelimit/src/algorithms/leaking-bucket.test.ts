import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeakingBucket } from './leaking-bucket.js';

describe('LeakingBucket', () => {
  it('queues up to its size and drops the request that finds the queue full', () => {
    const b = new LeakingBucket(3, 1, 1000);
    expect([1, 2, 3, 4].map(() => b.decide(1, 0).allowed)).toEqual([true, true, true, false]);
    expect(b.queuedAt(0)).toBe(3);
  });

  it('drains at the fixed outflow rate, making room for one request per outflow period', () => {
    const b = new LeakingBucket(3, 1, 1000);
    b.decide(3, 0);
    expect(b.decide(1, 999).allowed).toBe(false);
    expect(b.decide(1, 1000).allowed).toBe(true);
    expect(b.decide(1, 1000).allowed).toBe(false);
    expect(b.queuedAt(3000)).toBe(1);
  });

  it('tells each admitted request how long it waits behind the queue, which spaces them at the outflow rate', () => {
    const b = new LeakingBucket(5, 2, 1000);
    const delays = [0, 0, 0, 0].map(() => b.decide(1, 0).queueDelayMs);
    expect(delays).toEqual([0, 500, 1000, 1500]);
  });

  it('reports the time to an empty queue and the wait for room', () => {
    const b = new LeakingBucket(2, 1, 1000);
    b.decide(2, 0);
    const d = b.decide(1, 250);
    expect(d).toMatchObject({ allowed: false, limit: 2, remaining: 0, resetAfterMs: 1750, retryAfterMs: 750 });
  });

  it('never admits more than queue size + outflow × elapsed in any interval (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 1, max: 3 })), { maxLength: 120 }),
        (size, rate, steps) => {
          const b = new LeakingBucket(size, rate, 1000);
          const admitted: { t: number; hits: number }[] = [];
          let t = 0;
          for (const [dt, hits] of steps) {
            t += dt;
            if (b.decide(hits, t).allowed) admitted.push({ t, hits });
          }
          admitted.forEach((first, i) => {
            let sum = 0;
            for (const a of admitted.slice(i)) {
              sum += a.hits;
              expect(sum).toBeLessThanOrEqual(size + (rate * (a.t - first.t)) / 1000 + 1e-9);
            }
          });
        },
      ),
    );
  });
});
