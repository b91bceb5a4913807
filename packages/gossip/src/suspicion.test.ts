import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { remainingSuspicionMs, Suspicion } from './suspicion.js';
import { ManualClock } from './testing/manual-clock.js';

function start(k: number, minMs = 4000, maxMs = 24_000): { clock: ManualClock; fired: number[]; s: Suspicion } {
  const clock = new ManualClock();
  const fired: number[] = [];
  const s = new Suspicion({ from: 'origin', k, minMs, maxMs, clock, onTimeout: () => fired.push(clock.now()) });
  return { clock, fired, s };
}

describe('Suspicion (Lifeguard dynamic suspicion timeout)', () => {
  it('without confirmations, times out at the maximum', () => {
    const { clock, fired } = start(2);
    clock.advance(23_999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([24_000]);
  });

  it('with k independent confirmations, times out at the minimum; repeats and the originator do not count', () => {
    const { clock, fired, s } = start(2);
    clock.advance(1000);
    expect(s.confirm('origin')).toBe(false);
    expect(s.confirm('a')).toBe(true);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('c')).toBe(false);
    clock.advance(2999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([4000]);
  });

  it('a confirmation arriving after the shortened timeout has passed fires at once', () => {
    const { clock, fired, s } = start(1);
    clock.advance(10_000);
    s.confirm('a');
    clock.advance(0);
    expect(fired).toEqual([10_000]);
  });

  it('fires once, between the minimum and the maximum, whatever confirmations come when', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.constantFrom('a', 'b', 'c', 'd', 'origin')), { maxLength: 8 }),
        (k, confirmations) => {
          const { clock, fired, s } = start(k);
          let now = 0;
          for (const [at, from] of [...confirmations].sort((x, y) => x[0] - y[0])) {
            clock.advance(at - now);
            now = at;
            s.confirm(from);
          }
          clock.advance(30_000);
          expect(fired).toHaveLength(1);
          const at = fired[0] as number;
          expect(at).toBeGreaterThanOrEqual(4000);
          expect(at).toBeLessThanOrEqual(k > 0 ? 24_000 : 4000);
        },
      ),
    );
  });

  it('the timeout shrinks with each confirmation and never goes below the minimum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 10 }), (k, min, mult) => {
        const max = min * mult;
        let previous = Infinity;
        for (let n = 0; n <= k + 2; n++) {
          const timeout = remainingSuspicionMs(n, k, 0, min, max);
          expect(timeout).toBeLessThanOrEqual(previous);
          expect(timeout).toBeGreaterThanOrEqual(min);
          previous = timeout;
        }
        expect(remainingSuspicionMs(k, k, 0, min, max)).toBe(min);
      }),
    );
  });

  it('cancel stops it for good', () => {
    const { clock, fired, s } = start(2);
    s.cancel();
    expect(s.confirm('a')).toBe(false);
    clock.advance(100_000);
    expect(fired).toEqual([]);
  });
});
