import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLimiter } from './create-limiter.js';
import { InvalidHitsError, InvalidPolicyError } from './errors.js';
import { ALGORITHMS, type AlgorithmName, type LimitPolicy } from './policy.js';

/** Laws every one of the five limiters obeys, checked with random traffic. */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 80 });
const limits = fc.integer({ min: 1, max: 8 });

function policy(algorithm: AlgorithmName, requestsPerUnit: number): LimitPolicy {
  return { algorithm, requestsPerUnit, unit: 'second' };
}

describe.each(ALGORITHMS)('%s', (algorithm) => {
  it('keeps remaining between 0 and the limit, and retryAfterMs at 0 exactly when allowed', () => {
    fc.assert(
      fc.property(limits, steps, (n, s) => {
        const l = createLimiter(policy(algorithm, n));
        let t = 0;
        for (const [dt, hits] of s) {
          t += dt;
          const d = l.decide(hits, t);
          expect(d.remaining).toBeGreaterThanOrEqual(0);
          expect(d.remaining).toBeLessThanOrEqual(d.limit);
          expect(d.retryAfterMs === 0).toBe(d.allowed);
          expect(d.resetAfterMs).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('changes nothing when it refuses or when asked about 0 hits: a twin that never saw those calls decides alike', () => {
    fc.assert(
      fc.property(limits, steps, (n, s) => {
        const seen = createLimiter(policy(algorithm, n));
        const twin = createLimiter(policy(algorithm, n));
        let t = 0;
        for (const [dt, hits] of s) {
          t += dt;
          const d = seen.decide(hits, t);
          if (d.allowed && hits > 0) expect(twin.decide(hits, t)).toEqual(d);
        }
        expect(twin.decide(1, t + 1).allowed).toBe(seen.decide(1, t + 1).allowed);
      }),
    );
  });

  it('admits the refused request exactly retryAfterMs later, and not a millisecond sooner', () => {
    fc.assert(
      fc.property(limits, steps, fc.integer({ min: 1, max: 8 }), (n, s, ask) => {
        const l = createLimiter(policy(algorithm, n));
        let t = 0;
        for (const [dt, hits] of s) {
          t += dt;
          l.decide(hits, t);
        }
        const hits = Math.min(ask, n);
        const d = l.decide(hits, t);
        if (d.allowed) return;
        expect(l.decide(hits, t + d.retryAfterMs - 1).allowed).toBe(false);
        expect(l.decide(hits, t + d.retryAfterMs).allowed).toBe(true);
      }),
    );
  });

  it('is back to fresh after resetAfterMs: the full limit passes at once', () => {
    fc.assert(
      fc.property(limits, steps, (n, s) => {
        const l = createLimiter(policy(algorithm, n));
        let t = 0;
        let reset = 0;
        for (const [dt, hits] of s) {
          t += dt;
          reset = t + l.decide(hits, t).resetAfterMs;
        }
        expect(l.decide(n, reset).allowed).toBe(true);
      }),
    );
  });

  it('refuses a request larger than the limit, pointing retryAfterMs at the full reset but at least one unit away', () => {
    const l = createLimiter(policy(algorithm, 3));
    const fresh = l.decide(4, 0);
    expect(fresh.allowed).toBe(false);
    expect(fresh.retryAfterMs).toBe(Math.max(fresh.resetAfterMs, 1000));
    l.decide(3, 100);
    const used = l.decide(4, 100);
    expect(used.retryAfterMs).toBe(Math.max(used.resetAfterMs, 1000));
  });

  it('undoes an admitted request when its hits are refunded at the same instant: a twin that never saw either decides alike', () => {
    fc.assert(
      fc.property(limits, steps, fc.integer({ min: 1, max: 4 }), (n, s, extra) => {
        const seen = createLimiter(policy(algorithm, n));
        const twin = createLimiter(policy(algorithm, n));
        let t = 0;
        for (const [dt, hits] of s) {
          t += dt;
          const d = seen.decide(hits, t);
          twin.decide(hits, t);
          if (d.allowed && hits > 0 && hits <= extra) {
            // Taken and given back at the same instant: the state is as if it never came.
            if (seen.decide(hits, t).allowed) seen.refund(hits, t);
          }
          expect(seen.decide(0, t)).toEqual(twin.decide(0, t));
        }
      }),
    );
  });

  it('never banks credit: after any refunds remaining stays within the limit and one more than the limit is refused', () => {
    fc.assert(
      fc.property(limits, steps, (n, s) => {
        const l = createLimiter(policy(algorithm, n));
        let t = 0;
        for (const [dt, hits] of s) {
          t += dt;
          if (hits % 2 === 0) l.refund(hits + 3, t);
          else l.decide(hits, t);
          const d = l.refund(1, t);
          expect(d.allowed).toBe(true);
          expect(d.remaining).toBeLessThanOrEqual(d.limit);
        }
        expect(l.decide(n + 1, t).allowed).toBe(false);
      }),
    );
  });

  it('rejects a negative or fractional hit count with InvalidHitsError', () => {
    const l = createLimiter(policy(algorithm, 3));
    expect(() => l.decide(-1, 0)).toThrow(InvalidHitsError);
    expect(() => l.decide(1.5, 0)).toThrow(InvalidHitsError);
    expect(() => l.refund(-1, 0)).toThrow(InvalidHitsError);
  });

  it('reports a positive size in bytes', () => {
    expect(createLimiter(policy(algorithm, 3)).sizeBytes()).toBeGreaterThan(0);
  });
});

describe('createLimiter', () => {
  it('uses burst as the token bucket capacity and requestsPerUnit as its refill rate', () => {
    const l = createLimiter({ algorithm: 'token_bucket', requestsPerUnit: 1, unit: 'second', burst: 5 });
    expect(l.decide(5, 0)).toMatchObject({ allowed: true, limit: 5 });
    expect(l.decide(1, 999).allowed).toBe(false);
    expect(l.decide(1, 1000).allowed).toBe(true);
  });

  it('uses burst as the leaking bucket queue size', () => {
    const l = createLimiter({ algorithm: 'leaking_bucket', requestsPerUnit: 1, unit: 'minute', burst: 3 });
    expect(l.decide(3, 0)).toMatchObject({ allowed: true, limit: 3 });
  });

  it('refuses a policy with a negative, fractional or unknown part with InvalidPolicyError naming the field', () => {
    const bad = (p: unknown): unknown => {
      try {
        createLimiter(p as LimitPolicy);
      } catch (e) {
        return e instanceof InvalidPolicyError ? e.field : e;
      }
      return 'accepted';
    };
    expect(bad({ algorithm: 'fixed_window', requestsPerUnit: -1, unit: 'second' })).toBe('requestsPerUnit');
    expect(bad({ algorithm: 'token_bucket', requestsPerUnit: 1, unit: 'second', burst: 0.5 })).toBe('burst');
    expect(bad({ algorithm: 'fixed_window', requestsPerUnit: 1, unit: 'fortnight' })).toBe('unit');
    expect(bad({ algorithm: 'gcra', requestsPerUnit: 1, unit: 'second' })).toBe('algorithm');
  });

  it('with a limit of 0 refuses every request', () => {
    for (const algorithm of ALGORITHMS) {
      expect(createLimiter(policy(algorithm, 0)).decide(1, 0).allowed).toBe(false);
    }
  });
});
