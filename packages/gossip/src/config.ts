import { GossipConfigError } from './errors.js';

/**
 * Protocol settings. The defaults are hashicorp/memberlist's LAN profile, which a decade of
 * Consul and Nomad clusters has tuned; change them together (a shorter probe interval wants a
 * shorter probe timeout).
 */
export interface GossipConfig {
  /** Time between probes of the next member. @default 1000 */
  readonly probeIntervalMs: number;
  /** Wait for a direct ack before asking others to probe; below `probeIntervalMs`. @default 500 */
  readonly probeTimeoutMs: number;
  /** Members asked to probe a target that missed its direct ack. @default 3 */
  readonly indirectChecks: number;
  /** Suspicion lasts `suspicionMult × max(1, log10 N) × probeIntervalMs` at least. @default 4 */
  readonly suspicionMult: number;
  /** Without confirmations suspicion lasts this many times the minimum. @default 6 */
  readonly suspicionMaxTimeoutMult: number;
  /** Each update is sent `retransmitMult × ceil(log10(N + 1))` times. @default 4 */
  readonly retransmitMult: number;
  /** Time between gossip rounds (only when updates are pending). @default 200 */
  readonly gossipIntervalMs: number;
  /** Members sent to in each gossip round. @default 3 */
  readonly gossipNodes: number;
  /** A member declared down keeps being gossiped to this long, so it can learn it and refute. @default 30000 */
  readonly gossipToTheDeadMs: number;
  /** Time between full-state syncs with one random member (scaled up above 32 members). @default 30000 */
  readonly pushPullIntervalMs: number;
  /** Local health multiplies the probe interval by at most this. @default 8 */
  readonly awarenessMaxMultiplier: number;
  /** An event-loop delay above this counts against local health. @default 100 */
  readonly loopDelayThresholdMs: number;
  /** A timer this late means this process stalled: its verdict waits for the backlog. @default 50 */
  readonly stallToleranceMs: number;
  /** Budget for piggybacked updates in one packet (estimated encoded bytes). @default 1400 */
  readonly maxPacketBytes: number;
  /** Largest encoded metadata (zone, role, tags) a member may carry. @default 512 */
  readonly maxMetaBytes: number;
  /** Largest versioned payload a member may carry. @default 512 */
  readonly maxPayloadBytes: number;
  /** `join` gives up after this long without an answer from any seed. @default 10000 */
  readonly joinTimeoutMs: number;
  /** `join` asks the seeds again after this long. @default 1000 */
  readonly joinRetryMs: number;
  /** A member down or left this long is forgotten (0: never). @default 86400000 */
  readonly forgetAfterMs: number;
}

/** The defaults; see {@link GossipConfig}. */
export const DEFAULT_GOSSIP_CONFIG: GossipConfig = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  awarenessMaxMultiplier: 8,
  loopDelayThresholdMs: 100,
  stallToleranceMs: 50,
  maxPacketBytes: 1400,
  maxMetaBytes: 512,
  maxPayloadBytes: 512,
  joinTimeoutMs: 10_000,
  joinRetryMs: 1000,
  forgetAfterMs: 86_400_000,
});

const POSITIVE: ReadonlyArray<keyof GossipConfig> = [
  'probeIntervalMs',
  'probeTimeoutMs',
  'suspicionMult',
  'suspicionMaxTimeoutMult',
  'retransmitMult',
  'gossipIntervalMs',
  'pushPullIntervalMs',
  'awarenessMaxMultiplier',
  'loopDelayThresholdMs',
  'maxPacketBytes',
  'joinTimeoutMs',
  'joinRetryMs',
];

/** Fills unset settings with the defaults and refuses values the protocol cannot run with. */
export function resolveConfig(partial: Partial<GossipConfig> = {}): GossipConfig {
  const config: GossipConfig = { ...DEFAULT_GOSSIP_CONFIG, ...partial };
  for (const [key, value] of Object.entries(config) as Array<[keyof GossipConfig, number]>) {
    if (!(key in DEFAULT_GOSSIP_CONFIG)) throw new GossipConfigError(key, 'is not a gossip setting');
    if (!Number.isFinite(value) || value < 0) throw new GossipConfigError(key, `must be a finite number >= 0, got ${value}`);
  }
  for (const key of POSITIVE) {
    if (config[key] <= 0) throw new GossipConfigError(key, `must be > 0, got ${config[key]}`);
  }
  for (const key of ['indirectChecks', 'gossipNodes', 'suspicionMult', 'suspicionMaxTimeoutMult', 'retransmitMult', 'awarenessMaxMultiplier'] as const) {
    if (!Number.isInteger(config[key])) throw new GossipConfigError(key, `must be an integer, got ${config[key]}`);
  }
  // Why: the indirect probes run in what is left of the interval after the direct timeout.
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    throw new GossipConfigError('probeTimeoutMs', `must be below probeIntervalMs (${config.probeIntervalMs}), got ${config.probeTimeoutMs}`);
  }
  return config;
}

/** Shortest suspicion for a cluster of `n`: `mult × max(1, log10 n) × interval` (memberlist's). */
export function suspicionTimeoutMs(mult: number, n: number, probeIntervalMs: number): number {
  return mult * Math.max(1, Math.log10(Math.max(1, n))) * probeIntervalMs;
}

/** How many times one update is sent: `mult × ceil(log10(n + 1))`, enough to reach all n w.h.p. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * The push-pull interval for a cluster of `n`: the base up to 32 members, then one more base per
 * doubling, so full-state traffic per member grows with log n rather than n.
 */
export function pushPullIntervalFor(baseMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return baseMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * baseMs;
}
