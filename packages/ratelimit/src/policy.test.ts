import { describe, expect, it } from 'vitest';
import { UNITS, isUnit, unitToMs } from './policy.js';

describe('unitToMs', () => {
  it('gives each unit its length as in envoyproxy/ratelimit (month 30 days, year 365 days)', () => {
    expect(UNITS.map(unitToMs)).toEqual([1000, 60_000, 3_600_000, 86_400_000, 604_800_000, 2_592_000_000, 31_536_000_000]);
  });

  it('knows the seven units and nothing else', () => {
    expect(UNITS.every(isUnit)).toBe(true);
    expect(isUnit('minutes')).toBe(false);
    expect(isUnit('toString')).toBe(false);
  });
});
