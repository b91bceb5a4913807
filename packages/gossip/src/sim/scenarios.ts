import { type GossipConfig, resolveConfig, suspicionTimeoutMs } from '../config.js';
import { randomInt } from '../random.js';
import { SimCluster, simMemberId } from './sim-cluster.js';

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

/** A crash-detection run: `trials` crashes, one after another, in a lossless network. */
export interface DetectionResult {
  readonly nodes: number;
  readonly trials: readonly DetectionTrial[];
  /** Packets sent per live member per second over the whole run. */
  readonly messagesPerMemberPerSecond: number;
  /** 'down' verdicts (events) about members that were not crashed at the time: must be 0 here. */
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
 * Crashes a random member, times how the news spreads, then restarts it as a new process that
 * joins again (so every trial sees N members), `trials` times. A trial ends when every live member
 * holds the crashed one down, or at a bound of three maximum suspicion timeouts plus 30 s (a
 * trial that hits it reports `allDownSeconds` undefined).
 */
export function runDetection(options: { nodes: number; seed: number; trials: number; config?: Partial<GossipConfig> }): DetectionResult {
  const { nodes, seed, trials } = options;
  const config = resolveConfig(options.config);
  const cluster = new SimCluster({ nodes, seed, config: options.config });
  let trial = -1;
  let victim = -1;
  let victimDown = false;
  let knowCount = 0;
  let downCount = 0;
  let firstSuspectAt = Infinity;
  let firstDownAt = Infinity;
  let lastKnowAt = 0;
  let lastDownAt = 0;
  let falseDownEvents = 0;
  const watch = (i: number): void => {
    let knows = -1;
    let down = -1;
    cluster.members[i]?.onMemberEvent((event) => {
      const index = Number(event.member.id.slice(1));
      if (index !== victim || !victimDown) {
        if (event.type === 'down') falseDownEvents += 1;
        return;
      }
      const now = cluster.sim.now;
      if ((event.type === 'suspect' || event.type === 'down') && knows !== trial) {
        knows = trial;
        knowCount += 1;
        lastKnowAt = now;
        firstSuspectAt = Math.min(firstSuspectAt, now);
      }
      if (event.type === 'down' && down !== trial) {
        down = trial;
        downCount += 1;
        lastDownAt = now;
        firstDownAt = Math.min(firstDownAt, now);
      }
    });
  };
  for (let i = 0; i < nodes; i++) watch(i);

  cluster.runFor(WARMUP_MS);
  const sentBefore = cluster.network.stats.sent;
  const measuredFrom = cluster.sim.now;
  let crashedMs = 0;
  const maxSuspicionMs = suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs) * config.suspicionMaxTimeoutMult;
  const boundMs = 3 * maxSuspicionMs + 30_000;
  const results: DetectionTrial[] = [];
  const aliveEverywhere = (i: number): boolean => cluster.members.every((m, j) => j === i || m.member(simMemberId(i))?.state === 'alive');
  for (trial = 0; trial < trials; trial++) {
    victim = randomInt(cluster.random, nodes);
    victimDown = true;
    const live = nodes - 1;
    const crashAt = cluster.sim.now;
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
    // A new process in its place joins through another member; the next trial starts once
    // everyone sees it alive again.
    cluster.restart(victim, (victim + 1) % nodes);
    crashedMs += cluster.sim.now - crashAt;
    victimDown = false;
    watch(victim);
    const restartAt = cluster.sim.now;
    while (!aliveEverywhere(victim) && cluster.sim.now - restartAt < boundMs) cluster.runFor(50);
    cluster.runFor(GAP_MS);
  }
  // Member-seconds of sending: every member for the whole run, less each victim while it was down.
  const memberSeconds = (nodes * (cluster.sim.now - measuredFrom) - crashedMs) / 1000;
  return {
    nodes,
    trials: results,
    messagesPerMemberPerSecond: (cluster.network.stats.sent - sentBefore) / memberSeconds,
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
