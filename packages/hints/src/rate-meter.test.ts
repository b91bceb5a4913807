import { describe, expect, it } from 'vitest';
import { RateMeter } from './rate-meter.js';

describe('RateMeter', () => {
  it('averages what was counted over the window, and forgets what is older', () => {
    let t = 1_000_000;
    const m = new RateMeter(10, () => t);
    for (let s = 0; s < 10; s++) {
      m.add(100);
      t += 1_000;
    }
    // 1,000 counted over the 10 full seconds before now (the current second is empty).
    expect(m.perSecond()).toBeCloseTo(100, 5);
    t += 5_000;
    expect(m.perSecond()).toBeCloseTo(50, 5);
    t += 60_000;
    expect(m.perSecond()).toBe(0);
  });

  it('counts the current partial second', () => {
    let t = 2_000_500;
    const m = new RateMeter(2, () => t);
    m.add(5);
    expect(m.perSecond()).toBeCloseTo(5 / 2.5, 5);
    t += 1_000;
    m.add(5);
    expect(m.perSecond()).toBeCloseTo(10 / 2.5, 5);
  });
});
