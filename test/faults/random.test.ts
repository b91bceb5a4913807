import { describe, expect, it } from 'vitest';
import { Random } from './random.js';

describe('Random', () => {
  it('replays the same choices for the same seed and label, and others for another label', () => {
    const draw = (seed: number, label: string): number[] => {
      const r = new Random(seed, label);
      return Array.from({ length: 8 }, () => r.int(0, 1000));
    };
    expect(draw(42, 'kill:nemesis')).toEqual(draw(42, 'kill:nemesis'));
    expect(draw(42, 'kill:nemesis')).not.toEqual(draw(42, 'pause:nemesis'));
    expect(draw(42, 'kill:nemesis')).not.toEqual(draw(43, 'kill:nemesis'));
  });

  it('samples distinct elements', () => {
    const r = new Random(7);
    for (let i = 0; i < 50; i++) {
      const s = r.sample(['a', 'b', 'c', 'd'], 2);
      expect(new Set(s).size).toBe(2);
    }
  });
});
