import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalHealth } from './local-health.js';

describe('LocalHealth (Lifeguard local health multiplier)', () => {
  it('keeps the score within [0, max − 1] and scales timeouts by score + 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 50 }), (max, deltas) => {
        const h = new LocalHealth(max, undefined, 100);
        for (const d of deltas) {
          h.apply(d);
          expect(h.score).toBeGreaterThanOrEqual(0);
          expect(h.score).toBeLessThanOrEqual(max - 1);
          expect(h.scale(1000)).toBe(1000 * (h.score + 1));
        }
      }),
    );
  });

  it('counts an event-loop stall above the threshold against health, and a shorter one not', () => {
    const delays = [50, 250, 0];
    const h = new LocalHealth(8, () => delays.shift() ?? 0, 100);
    expect(h.sampleLoopDelay()).toBe(false);
    expect(h.score).toBe(0);
    expect(h.sampleLoopDelay()).toBe(true);
    expect(h.score).toBe(1);
    expect(h.sampleLoopDelay()).toBe(false);
    expect(h.score).toBe(1);
  });
});
