import { describe, expect, it } from 'vitest';
import { DEFAULT_GOSSIP_CONFIG, pushPullIntervalFor, resolveConfig, retransmitLimit, suspicionTimeoutMs } from './config.js';
import { GossipConfigError } from './errors.js';

function refusal(partial: object): string {
  try {
    resolveConfig(partial);
  } catch (err) {
    if (err instanceof GossipConfigError) return `${err.setting}: ${err.problem}`;
    throw err;
  }
  return 'accepted';
}

describe('gossip settings', () => {
  it('defaults to memberlist’s LAN profile', () => {
    expect(resolveConfig()).toMatchObject({
      probeIntervalMs: 1000,
      probeTimeoutMs: 500,
      indirectChecks: 3,
      suspicionMult: 4,
      retransmitMult: 4,
      gossipIntervalMs: 200,
      gossipNodes: 3,
      pushPullIntervalMs: 30_000,
    });
    expect(resolveConfig({})).toEqual(DEFAULT_GOSSIP_CONFIG);
  });

  it('refuses a setting it cannot run with, naming it', () => {
    expect(refusal({ probeTimeoutMs: 1000 })).toBe('probeTimeoutMs: must be below probeIntervalMs (1000), got 1000');
    expect(refusal({ probeIntervalMs: 0 })).toBe('probeIntervalMs: must be > 0, got 0');
    expect(refusal({ gossipNodes: -1 })).toBe('gossipNodes: must be a finite number >= 0, got -1');
    expect(refusal({ indirectChecks: 1.5 })).toBe('indirectChecks: must be an integer, got 1.5');
    expect(refusal({ probeIntervalMS: 10 })).toBe('probeIntervalMS: is not a gossip setting');
    expect(refusal({ gossipNodes: 0, indirectChecks: 0 })).toBe('accepted');
  });

  it('scales suspicion with log10 N, retransmits with ceil(log10(N + 1)), push-pull past 32 members', () => {
    expect(suspicionTimeoutMs(4, 1, 1000)).toBe(4000);
    expect(suspicionTimeoutMs(4, 10, 1000)).toBe(4000);
    expect(suspicionTimeoutMs(4, 1000, 1000)).toBeCloseTo(12_000);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(4, 1000)).toBe(16);
    expect(pushPullIntervalFor(30_000, 32)).toBe(30_000);
    expect(pushPullIntervalFor(30_000, 64)).toBe(60_000);
    expect(pushPullIntervalFor(30_000, 1000)).toBe(180_000);
  });
});
