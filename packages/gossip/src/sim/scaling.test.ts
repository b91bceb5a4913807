import { describe, expect, it } from 'vitest';
import { runDetection, runNoise } from './scenarios.js';

const SIZES = [8, 32, 128] as const;

const meanDetection = (nodes: number): number => {
  const { trials } = runDetection({ nodes, seed: 1, trials: 4 });
  expect(trials.every((t) => t.allDownSeconds !== undefined)).toBe(true);
  return trials.reduce((sum, t) => sum + (t.allDownSeconds as number), 0) / trials.length;
};

describe('scaling of the protocol (seeded simulations, N = 8, 32, 128)', () => {
  it('time until every member holds a crashed member down grows no faster than log N', () => {
    const detection = SIZES.map(meanDetection);
    for (let i = 1; i < SIZES.length; i++) {
      const grew = (detection[i] as number) / (detection[i - 1] as number);
      const logGrew = Math.log(SIZES[i] as number) / Math.log(SIZES[i - 1] as number);
      expect({ from: SIZES[i - 1], to: SIZES[i], grew: grew <= logGrew }).toEqual({ from: SIZES[i - 1], to: SIZES[i], grew: true });
    }
    // And it does grow: the suspicion timeout scales with log10 N, so confirmations stay meaningful.
    expect(detection[2] as number).toBeGreaterThan(detection[0] as number);
  });

  it('messages per member per second stay flat in N, with and without crashes', () => {
    const steady = SIZES.map((nodes) => runNoise({ nodes, seed: 1, seconds: 120, lossRate: 0.01 }).messagesPerMemberPerSecond);
    const withCrashes = SIZES.map((nodes) => runDetection({ nodes, seed: 2, trials: 3 }).messagesPerMemberPerSecond);
    const spread = (xs: number[]): number => Math.max(...xs) / Math.min(...xs);
    expect(spread(steady)).toBeLessThan(1.15);
    expect(spread(withCrashes)).toBeLessThan(1.3);
  });
});
