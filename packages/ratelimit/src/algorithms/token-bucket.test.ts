import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('follows the notes: capacity 4 refilled 2 per second admits a burst of 4, then 2 per second', () => {
    const b = new TokenBucket(4, 2, 1000);
    const burst = [0, 0, 0, 0, 0].map(() => b.decide(1, 0).allowed);
    expect(burst).toEqual([true, true, true, true, false]);
    // Half a second refills exactly one token (2 per second): one passes, the next does not.
    expect(b.decide(1, 500).allowed).toBe(true);
    expect(b.decide(1, 500).allowed).toBe(false);
    // A full second later two more tokens are there.
    expect(b.decide(1, 1500).allowed).toBe(true);
    expect(b.decide(1, 1500).allowed).toBe(true);
    expect(b.decide(1, 1500).allowed).toBe(false);
  });

  it('never holds more than its capacity, however long it stays idle', () => {
    const b = new TokenBucket(4, 2, 1000);
    b.decide(4, 0);
    expect(b.tokensAt(60_000)).toBe(4);
    expect(b.decide(5, 60_000).allowed).toBe(false);
    expect(b.decide(4, 60_000).allowed).toBe(true);
  });

  it('reports remaining tokens, the wait for the refused request, and the time to a full bucket', () => {
    const b = new TokenBucket(4, 2, 1000);
    expect(b.decide(3, 0)).toEqual({ allowed: true, limit: 4, remaining: 1, resetAfterMs: 1500, retryAfterMs: 0 });
    expect(b.decide(2, 0)).toEqual({ allowed: false, limit: 4, remaining: 1, resetAfterMs: 1500, retryAfterMs: 500 });
  });

  it('refuses a request larger than its capacity for ever, pointing at the time it is full again', () => {
    const b = new TokenBucket(4, 2, 1000);
    b.decide(1, 0);
    const d = b.decide(5, 0);
    expect(d.allowed).toBe(false);
    expect(d.resetAfterMs).toBe(500);
    expect(d.retryAfterMs).toBe(1000);
  });

  it('does not refill when the clock steps back', () => {
    const b = new TokenBucket(2, 1, 1000);
    b.decide(2, 10_000);
    expect(b.decide(1, 5_000).allowed).toBe(false);
    expect(b.decide(1, 10_999).allowed).toBe(false);
    expect(b.decide(1, 11_000).allowed).toBe(true);
  });

  it('never admits more than capacity + rate × elapsed in any interval (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(1000, 60_000),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 1, max: 4 })), { maxLength: 120 }),
        (capacity, rate, unitMs, steps) => {
          const b = new TokenBucket(capacity, rate, unitMs);
          const admitted: { t: number; hits: number }[] = [];
          let t = 0;
          for (const [dt, hits] of steps) {
            t += dt;
            if (b.decide(hits, t).allowed) admitted.push({ t, hits });
          }
          for (let i = 0; i < admitted.length; i++) {
            let sum = 0;
            for (let j = i; j < admitted.length; j++) {
              const a = admitted[j];
              const first = admitted[i];
              if (a === undefined || first === undefined) continue;
              sum += a.hits;
              expect(sum).toBeLessThanOrEqual(capacity + (rate * (a.t - first.t)) / unitMs + 1e-9);
            }
          }
        },
      ),
    );
  });
});
