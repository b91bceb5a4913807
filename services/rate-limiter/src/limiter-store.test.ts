import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LimitPolicy } from '@quorumkv/ratelimit';
import { LimiterStore } from './limiter-store.js';

const perMinute = (n: number, algorithm: LimitPolicy['algorithm'] = 'fixed_window'): LimitPolicy => ({ requestsPerUnit: n, unit: 'minute', algorithm });
const T0 = Date.UTC(2030, 0, 1);

describe('limiter store', () => {
  it('admits exactly the limit for one key however the hits are interleaved with other keys', () => {
    const store = new LimiterStore();
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      if (store.decide('hot', perMinute(37), 1, T0 + i).allowed) admitted++;
      store.decide(`cold-${i % 7}`, perMinute(5), 1, T0 + i);
    }
    expect(admitted).toBe(37);
  });

  it('starts a key over when its policy changes (a reloaded rule)', () => {
    const store = new LimiterStore();
    store.decide('k', perMinute(1), 1, T0);
    expect(store.decide('k', perMinute(1), 1, T0).allowed).toBe(false);
    expect(store.decide('k', perMinute(2), 1, T0).allowed).toBe(true);
  });

  it('drops state only once it is back to fresh, so sweeping never changes a decision (property)', () => {
    const algorithms: LimitPolicy['algorithm'][] = ['fixed_window', 'token_bucket', 'leaking_bucket', 'sliding_window_log', 'sliding_window_counter'];
    fc.assert(
      fc.property(
        fc.constantFrom(...algorithms),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ key: fc.constantFrom('a', 'b'), hits: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 40_000 }), sweep: fc.boolean() }), { maxLength: 60 }),
        (algorithm, n, ops) => {
          const swept = new LimiterStore();
          const kept = new LimiterStore();
          let now = T0;
          for (const op of ops) {
            now += op.dt;
            if (op.sweep) swept.sweep(now);
            const a = swept.decide(op.key, perMinute(n, algorithm), op.hits, now);
            const b = kept.decide(op.key, perMinute(n, algorithm), op.hits, now);
            if (a.allowed !== b.allowed || a.remaining !== b.remaining) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('forgets idle keys: memory is bounded by the keys active within one window', () => {
    const store = new LimiterStore();
    for (let i = 0; i < 1000; i++) store.decide(`k${i}`, perMinute(10), 1, T0);
    expect(store.size).toBe(1000);
    expect(store.sweep(T0 + 30_000)).toBe(0);
    expect(store.sweep(T0 + 60_000)).toBe(1000);
    expect(store.size).toBe(0);
  });
});
