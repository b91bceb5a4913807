import { type GossipConfig, resolveConfig, suspicionTimeoutMs } from '../config.js';
import { randomInt } from '../random.js';
import { SimCluster } from './sim-cluster.js';

/** What one crash looked like from the whole cluster, in seconds after the crash. */
export interface DetectionTrial {
  /** First member to suspect the crashed one. */
  readonly firstSuspicionSeconds: number;
  /** Every live member knows of the failure (suspects it or holds it down). */
  readonly allKnowSeconds: number;
  /** First member to hold it down. */
  readonly firstDownSeconds: number;
  /** Every live member holds it down; undefined if that did not happen within the bound. */
  readonly allDownSeconds: number | undefined;
}

/** A crash-detection run: `trials` members crash one after another in a lossless network. */
export interface DetectionResult {
  readonly nodes: number;
  readonly trials: readonly DetectionTrial[];
  /** Packets sent per live member per second over the whole run. */
  readonly messagesPerMemberPerSecond: number;
  /** 'down' verdicts (events) about members that had not crashed: must be 0 here. */
  readonly falseDownEvents: number;
  /** Simulator events run (the cost of the run). */
  readonly events: number;
}

/** A run with no crash, in a noisy environment: every suspicion and down verdict is false. */
export interface NoiseResult {
  readonly nodes: number;
  readonly lossRate: number;
  readonly pauseMs: number;
  readonly seconds: number;
  readonly memberHours: number;
  /** Suspicions raised by members' own failed probes, per member-hour. */
  readonly falseSuspicionsPerMemberHour: number;
  /** Members declared down by a member's suspicion timing out, per member-hour. */
  readonly falseDownsPerMemberHour: number;
  /** Refutations per member-hour (each answers some suspicion). */
  readonly refutationsPerMemberHour: number;
  readonly messagesPerMemberPerSecond: number;
  readonly events: number;
}

const WARMUP_MS = 5_000;
const GAP_MS = 2_000;

/**
 * Crashes `trials` random members, one at a time, and times how the news spreads. Each trial
 * ends when every live member holds the crashed one down, or at a bound of three maximum
 * suspicion timeouts plus 30 s (a trial that hits it reports `allDownSeconds` undefined).
 */
export function runDetection(options: { nodes: number; seed: number; trials: number; config?: Partial<GossipConfig> }): DetectionResult {
  const { nodes, seed, trials } = options;
  const config = resolveConfig(options.config);
  const cluster = new SimCluster({ nodes, seed, config: options.config });
  const crashed = new Set<number>();
  let victim = -1;
  let knowCount = 0;
  let downCount = 0;
  let firstSuspectAt = Infinity;
  let firstDownAt = Infinity;
  let lastKnowAt = 0;
  let lastDownAt = 0;
  let falseDownEvents = 0;
  cluster.members.forEach((member, i) => {
    let knows = -1;
    let down = -1;
    member.onMemberEvent((event) => {
      const index = Number(event.member.id.slice(1));
      if (event.type === 'down' && !crashed.has(index)) falseDownEvents += 1;
      if (index !== victim || crashed.has(i)) return;
      const now = cluster.sim.now;
      if ((event.type === 'suspect' || event.type === 'down') && knows !== victim) {
        knows = victim;
        knowCount += 1;
        lastKnowAt = now;
        firstSuspectAt = Math.min(firstSuspectAt, now);
      }
      if (event.type === 'down' && down !== victim) {
        down = victim;
        downCount += 1;
        lastDownAt = now;
        firstDownAt = Math.min(firstDownAt, now);
      }
    });
  });

  cluster.runFor(WARMUP_MS);
  const sentBefore = cluster.network.stats.sent;
  let memberMs = 0;
  const maxSuspicionMs = suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs) * config.suspicionMaxTimeoutMult;
  const boundMs = 3 * maxSuspicionMs + 30_000;
  const results: DetectionTrial[] = [];
  for (let t = 0; t < trials && crashed.size < nodes - 2; t++) {
    do victim = randomInt(cluster.random, nodes);
    while (crashed.has(victim));
    const live = nodes - crashed.size - 1;
    const crashAt = cluster.sim.now;
    const liveBefore = nodes - crashed.size;
    crashed.add(victim);
    cluster.crash(victim);
    knowCount = downCount = 0;
    firstSuspectAt = firstDownAt = Infinity;
    while (downCount < live && cluster.sim.now - crashAt < boundMs) cluster.runFor(50);
    const s = (at: number): number => (at - crashAt) / 1000;
    results.push({
      firstSuspicionSeconds: s(firstSuspectAt),
      allKnowSeconds: s(knowCount === live ? lastKnowAt : Infinity),
      firstDownSeconds: s(firstDownAt),
      allDownSeconds: downCount === live ? s(lastDownAt) : undefined,
    });
    cluster.runFor(GAP_MS);
    memberMs += (cluster.sim.now - crashAt) * (liveBefore - 1);
  }
  const seconds = memberMs / 1000;
  return {
    nodes,
    trials: results,
    messagesPerMemberPerSecond: (cluster.network.stats.sent - sentBefore) / seconds,
    falseDownEvents,
    events: cluster.sim.eventsRun,
  };
}

/**
 * Runs a cluster with no crash for `seconds` after a warm-up, with packet loss and/or event-loop
 * pauses, and counts what the members wrongly concluded.
 */
export function runNoise(options: {
  nodes: number;
  seed: number;
  seconds: number;
  lossRate: number;
  pause?: { readonly ms: number; readonly meanIntervalMs: number };
  config?: Partial<GossipConfig>;
}): NoiseResult {
  const { nodes, seed, seconds, lossRate, pause } = options;
  const cluster = new SimCluster({ nodes, seed, lossRate, config: options.config });
  if (pause) cluster.injectPauses(pause.ms, pause.meanIntervalMs);
  cluster.runFor(WARMUP_MS);
  const before = {
    sent: cluster.network.stats.sent,
    suspicions: cluster.total('suspicionsRaised'),
    downs: cluster.total('downsDeclared'),
    refutations: cluster.total('refutations'),
  };
  cluster.runFor(seconds * 1000);
  const memberHours = (nodes * seconds) / 3600;
  const perHour = (n: number): number => n / memberHours;
  return {
    nodes,
    lossRate,
    pauseMs: pause?.ms ?? 0,
    seconds,
    memberHours,
    falseSuspicionsPerMemberHour: perHour(cluster.total('suspicionsRaised') - before.suspicions),
    falseDownsPerMemberHour: perHour(cluster.total('downsDeclared') - before.downs),
    refutationsPerMemberHour: perHour(cluster.total('refutations') - before.refutations),
    messagesPerMemberPerSecond: (cluster.network.stats.sent - before.sent) / (nodes * seconds),
    events: cluster.sim.eventsRun,
  };
}
