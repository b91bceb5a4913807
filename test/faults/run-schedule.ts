/**
 * One schedule, start to verdict: a fresh cluster, the three workloads and the schedule's
 * faults for the run's duration; then heal everything, let the clients run on for a while,
 * stop them, quiesce until the replicas agree (or T passes), read every key once more, and
 * check the whole history.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuorumKvClient } from '@quorumkv/client';
import { repoRoot } from '@quorumkv/local-cluster';
import { limiterOwners, ownershipChanges } from './checkers/limiter-owners.js';
import { checkRateLimit } from './checkers/rate-limit.js';
import { checkSetFull } from './checkers/set-full.js';
import { checkSiblings } from './checkers/siblings.js';
import { converge, forEachLimited } from './checkers/convergence.js';
import { FaultCluster, RATE_LIMITERS } from './fault-cluster.js';
import { History } from './history.js';
import { type NetworkLayout, Partitions } from './netns.js';
import { Random } from './random.js';
import { verdict, type ScheduleResult } from './report.js';
import type { Schedule } from './schedules.js';
import { HotKeys } from './workloads/hot-keys.js';
import { StopSignal } from './workloads/pacing.js';
import { LIMIT_DOMAIN, LIMIT_RULES, RateLimitChecks, RECONNECT_PROMPTLY } from './workloads/rate-limit-checks.js';
import { readKey, SetAdds } from './workloads/set-adds.js';

export interface RunOptions {
  readonly layout: NetworkLayout;
  /** This schedule's folder (data, logs, clock files). */
  readonly runDir: string;
  readonly seed: number;
  readonly durationS: number;
  /** Printed with the result so a failure can be replayed. */
  readonly command: string;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** Clients keep running this long after the heal, so the history shows recovery too. */
const RECOVERY_MS = 2_000;
/** T: how long after quiesce starts every replica of every key must agree. */
const CONVERGE_BOUND_MS = 15_000;
/** Each KV operation's deadline (one attempt, no retries: the history holds every attempt). */
const KV_DEADLINE_MS = 1_500;

export async function runSchedule(schedule: Schedule, options: RunOptions): Promise<ScheduleResult> {
  const started = performance.now();
  const log = (line: string): void => options.log(`[${schedule.name} +${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);
  const random = (label: string): Random => new Random(options.seed, `${schedule.name}:${label}`);
  const partitions = new Partitions(options.layout);
  const rulesDir = join(repoRoot, 'test', 'faults', 'rules');
  log(`starting the cluster${schedule.proxied ? ' (a proxy on every link)' : ''}`);
  const cluster = await FaultCluster.start({
    layout: options.layout,
    runDir: options.runDir,
    rulesDir,
    proxied: schedule.proxied,
    seed: options.seed,
    antiEntropy: schedule.antiEntropy === true,
  });
  const kv = new QuorumKvClient({
    address: cluster.coordinatorAddress,
    deadlineMs: KV_DEADLINE_MS,
    retry: { maxAttempts: 1 },
    caller: 'faults',
    channelOptions: RECONNECT_PROMPTLY,
  });
  const history = new History();
  const checks = new RateLimitChecks(new Map(RATE_LIMITERS.map((r) => [r, cluster.direct(r)])), history, 6);
  try {
    await waitUntilServing(kv);
    log('serving');
    const set = new SetAdds(kv, history, { clients: 6, perClientPerSecond: 10, readShare: 0.25 });
    const hot = new HotKeys(kv, history, { clients: 4, keys: 3, perClientPerSecond: 5 });
    const clients = new StopSignal();
    const workloads = Promise.all([
      set.run(clients, (c) => random(`set:${c}`)),
      hot.run(clients, (c) => random(`hot:${c}`)),
      checks.run(clients, (c) => random(`limit:${c}`)),
    ]);

    log(`${options.durationS} s of faults`);
    const faults = new StopSignal();
    const nemesis = schedule.run({ cluster, partitions, history, rng: random('nemesis'), stop: faults });
    await new Promise((r) => setTimeout(r, options.durationS * 1000));
    faults.stop();
    await nemesis;
    history.note('heal everything');
    await partitions.heal();
    await cluster.healProcesses();
    history.note('healed');
    await new Promise((r) => setTimeout(r, RECOVERY_MS));
    clients.stop();
    await workloads;

    log(`quiesce: read repair until every replica agrees (T = ${CONVERGE_BOUND_MS / 1000} s)`);
    history.note('quiesce');
    const keys = [...set.keys, ...hot.keys];
    // The storage nodes running now: a ring schedule may have added one and decommissioned another.
    const replicas = new Map(cluster.names('storage-node').map((n) => [n, cluster.direct(n)]));
    const convergence = await converge(keys, { replicas, kv, boundMs: CONVERGE_BOUND_MS });
    log(`final reads of ${keys.length} keys`);
    await forEachLimited(keys, 16, async (key) => {
      // A final read that fails is tried twice more: it is the evidence, not a workload op.
      for (let attempt = 0; attempt < 3; attempt++) if ((await readKey(kv, history, -1, key, { final: true, ...(schedule.finalReadAll ? { consistency: 'all' as const } : {}) })) !== undefined) return;
    });

    // The raw history stays beside the logs (kept with --keep) for a post-mortem.
    writeFileSync(join(options.runDir, 'history.jsonl'), [...history.ops, ...history.nemesis.map((e) => ({ kind: 'nemesis', ...e }))].map((o) => JSON.stringify(o)).join('\n') + '\n');
    log('checking the history');
    const setFull = checkSetFull(history.of('add'), history.of('read'));
    const siblings = checkSiblings(history.of('update'), history.of('read'));
    const owners = limiterOwners(join(rulesDir, 'faults.yaml'), LIMIT_DOMAIN, LIMIT_RULES, RATE_LIMITERS);
    const rateLimit = checkRateLimit(history.of('limit'), LIMIT_RULES, ownershipChanges(history.nemesis, owners));
    const result: Omit<ScheduleResult, 'failures' | 'ok'> = {
      schedule: schedule.name,
      seed: options.seed,
      durationS: options.durationS,
      command: options.command,
      ops: history.ops.filter((op) => op.kind !== 'read' || !op.final).length,
      acked: setFull.acked + siblings.acked,
      setFull,
      siblings,
      convergence,
      rateLimit,
      nemesis: history.nemesis,
      wallMs: Math.round(performance.now() - started),
    };
    return { ...result, ...verdict(result) };
  } finally {
    kv.close();
    checks.close();
    await partitions.heal().catch(() => undefined);
    await cluster.stop();
  }
}

/** Waits (bounded) until a write goes through: the coordinator has a quorum of storage streams. */
async function waitUntilServing(kv: QuorumKvClient): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      await kv.put('faults:ready', 'ready');
      return;
    } catch (err) {
      if (performance.now() > deadline) throw new Error(`the cluster did not accept a write within 30 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
