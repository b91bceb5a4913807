import { type GossipConfig, resolveConfig, suspicionTimeoutMs } from '../config.js';
import { type DetectionTrial, type NoiseResult, runDetection, runNoise } from './scenarios.js';

/** What `npm run sim:membership` runs. */
export interface MembershipSimOptions {
  readonly nodes: number;
  /** @default 1 */
  readonly seed?: number;
  /** Crashes (each followed by a restart) in the detection run. @default 10 */
  readonly trials?: number;
  /** Simulated seconds of each noise run (after a 5 s warm-up). @default 300 */
  readonly noiseSeconds?: number;
  /** Loss rates of the noise runs. @default [0.01, 0.05] */
  readonly lossRates?: readonly number[];
  /** Length of the event-loop pauses of the pause run (0: no pause run). @default 200 */
  readonly pauseMs?: number;
  /** Mean time between one member's pauses (Poisson). @default 10000 */
  readonly pauseEveryMs?: number;
  readonly config?: Partial<GossipConfig>;
}

/** The result, one JSON object. Times are means over the trials unless named otherwise. */
export interface MembershipSimReport {
  readonly nodes: number;
  readonly seed: number;
  /** Crash until every live member holds the crashed member down. */
  readonly detectionSeconds: number;
  /** The same in protocol periods (probe intervals). */
  readonly detectionRounds: number;
  readonly detectionSecondsMax: number;
  /** Crash until every live member knows of the failure (suspects it or holds it down). */
  readonly knowledgeSeconds: number;
  readonly knowledgeRounds: number;
  /** Crash until the first member suspects it. */
  readonly firstSuspicionSeconds: number;
  /** First 'down' verdict until every member has it, in gossip intervals: the epidemic's spread. */
  readonly downSpreadGossipRounds: number;
  /** The shortest suspicion for this N: suspicionMult × max(1, log10 N) × probe interval. */
  readonly suspicionMinSeconds: number;
  /** Packets sent per member per second in the detection run (no loss, crashes included). */
  readonly messagesPerMemberPerSecond: number;
  /** The worst of the noise runs. */
  readonly falseDownsPerMemberHour: number;
  /** The worst of the noise runs. */
  readonly falseSuspicionsPerMemberHour: number;
  /** Trials in which some member never held the crashed member down (must be 0). */
  readonly undetectedTrials: number;
  /** Down verdicts about members that had not crashed in the lossless detection run (must be 0). */
  readonly falseDownEventsWithoutLoss: number;
  /** Each noise run, keyed `loss1pct`, `loss5pct`, `pauses200ms`… */
  readonly noise: Readonly<Record<string, NoiseResult>>;
  readonly trials: readonly DetectionTrial[];
  readonly settings: GossipConfig & { readonly trials: number; readonly noiseSeconds: number; readonly pauseEveryMs: number };
  /** Simulator events run, over all runs. */
  readonly events: number;
  readonly wallSeconds: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Runs the detection run and every noise run for one cluster size and summarises them. */
export function runMembershipSimulation(options: MembershipSimOptions): MembershipSimReport {
  const startedAt = performance.now();
  const { nodes } = options;
  const seed = options.seed ?? 1;
  const trials = options.trials ?? 10;
  const noiseSeconds = options.noiseSeconds ?? 300;
  const pauseMs = options.pauseMs ?? 200;
  const pauseEveryMs = options.pauseEveryMs ?? 10_000;
  const config = resolveConfig(options.config);
  const detection = runDetection({ nodes, seed, trials, config: options.config });
  const noise: Record<string, NoiseResult> = {};
  for (const lossRate of options.lossRates ?? [0.01, 0.05]) {
    noise[`loss${round(lossRate * 100, 2)}pct`] = runNoise({ nodes, seed, seconds: noiseSeconds, lossRate, config: options.config });
  }
  if (pauseMs > 0) {
    noise[`pauses${pauseMs}ms`] = runNoise({
      nodes,
      seed,
      seconds: noiseSeconds,
      lossRate: 0,
      pause: { ms: pauseMs, meanIntervalMs: pauseEveryMs },
      config: options.config,
    });
  }
  const detected = detection.trials.filter((t) => t.allDownSeconds !== undefined);
  const allDown = detected.map((t) => t.allDownSeconds as number);
  const probeS = config.probeIntervalMs / 1000;
  const noiseRuns = Object.values(noise);
  return {
    nodes,
    seed,
    detectionSeconds: round(mean(allDown)),
    detectionRounds: round(mean(allDown) / probeS),
    detectionSecondsMax: round(Math.max(...allDown)),
    knowledgeSeconds: round(mean(detection.trials.map((t) => t.allKnowSeconds))),
    knowledgeRounds: round(mean(detection.trials.map((t) => t.allKnowSeconds)) / probeS),
    firstSuspicionSeconds: round(mean(detection.trials.map((t) => t.firstSuspicionSeconds))),
    downSpreadGossipRounds: round(mean(detected.map((t) => ((t.allDownSeconds as number) - t.firstDownSeconds) * 1000)) / config.gossipIntervalMs),
    suspicionMinSeconds: round(suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs) / 1000),
    messagesPerMemberPerSecond: round(detection.messagesPerMemberPerSecond),
    falseDownsPerMemberHour: round(Math.max(0, ...noiseRuns.map((r) => r.falseDownsPerMemberHour))),
    falseSuspicionsPerMemberHour: round(Math.max(0, ...noiseRuns.map((r) => r.falseSuspicionsPerMemberHour))),
    undetectedTrials: detection.trials.length - detected.length,
    falseDownEventsWithoutLoss: detection.falseDownEvents,
    noise: Object.fromEntries(
      Object.entries(noise).map(([k, r]) => [
        k,
        {
          ...r,
          memberHours: round(r.memberHours),
          falseSuspicionsPerMemberHour: round(r.falseSuspicionsPerMemberHour),
          falseDownsPerMemberHour: round(r.falseDownsPerMemberHour),
          refutationsPerMemberHour: round(r.refutationsPerMemberHour),
          messagesPerMemberPerSecond: round(r.messagesPerMemberPerSecond),
        },
      ]),
    ),
    trials: detection.trials.map((t) => ({
      firstSuspicionSeconds: round(t.firstSuspicionSeconds),
      allKnowSeconds: round(t.allKnowSeconds),
      firstDownSeconds: round(t.firstDownSeconds),
      allDownSeconds: t.allDownSeconds === undefined ? undefined : round(t.allDownSeconds),
    })),
    settings: { ...config, trials, noiseSeconds, pauseEveryMs },
    events: detection.events + noiseRuns.reduce((a, r) => a + r.events, 0),
    wallSeconds: round((performance.now() - startedAt) / 1000, 1),
  };
}
