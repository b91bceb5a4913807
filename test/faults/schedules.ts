/**
 * The fault schedules. Each alternates calm spells and faults until the run's time is up; every
 * target and duration is drawn from the schedule's seeded stream, so `--seed` replays the same
 * faults in the same order. When a schedule returns, the driver heals whatever is left (see
 * `FaultCluster.healProcesses` and `Partitions.heal`).
 */
import type { FaultCluster } from './fault-cluster.js';
import { RATE_LIMITERS, SPARE_NODE, STORAGE_NODES } from './fault-cluster.js';
import type { History } from './history.js';
import type { LinkShape } from './link-proxy.js';
import type { Partitions } from './netns.js';
import type { Random } from './random.js';
import { decommission, isNormal, repairNode, ringSettles } from './ring-control.js';
import type { StopSignal } from './workloads/pacing.js';

export interface NemesisContext {
  readonly cluster: FaultCluster;
  readonly partitions: Partitions;
  readonly history: History;
  readonly rng: Random;
  readonly stop: StopSignal;
}

export interface Schedule {
  readonly name: string;
  readonly description: string;
  /** Start the cluster with a shaping proxy on every link. */
  readonly proxied: boolean;
  /** Run the anti-entropy worker too (for `qkv repair`). */
  readonly antiEntropy?: boolean;
  /** Make the final reads at R=ALL: every acknowledged write must be readable from every replica. */
  readonly finalReadAll?: boolean;
  /**
   * Whether `npm test`'s short pass runs it (a schedule goes there only if it completes in under
   * a minute here; the others run with `npm run faults`). @default true
   */
  readonly shortPass?: boolean;
  /** Injects faults until `ctx.stop`. */
  run(ctx: NemesisContext): Promise<void>;
}

const SERVICES: readonly string[] = ['coordinator', ...STORAGE_NODES, ...RATE_LIMITERS];
/** Cluster members a partition separates (the driver, `ctl`, keeps its view of everyone). */
const CLUSTER = SERVICES;

/** One fault: inject it, then return what heals it. */
type Fault = (ctx: NemesisContext) => Promise<() => Promise<void>>;

/**
 * Calm for `calmMs`, fault for `faultMs` (each a [min, max] range drawn per round), until stop.
 * A fault still on when the run ends is healed here, before the driver's general heal.
 */
async function cycle(ctx: NemesisContext, fault: Fault, calmMs: [number, number], faultMs: [number, number]): Promise<void> {
  while (!ctx.stop.stopped) {
    await ctx.stop.sleep(ctx.rng.between(...calmMs));
    if (ctx.stop.stopped) return;
    const heal = await fault(ctx);
    await ctx.stop.sleep(ctx.rng.between(...faultMs));
    await heal();
  }
}

const kill: Fault = async ({ cluster, history, rng }) => {
  const target = rng.pick(SERVICES);
  history.note(`kill -9 ${target}`);
  await cluster.kill(target);
  return async () => {
    history.note(`restart ${target}`);
    await cluster.restart(target);
    history.note(`${target} listening`);
  };
};

const pause: Fault = ({ cluster, history, rng }) => {
  const target = rng.pick(SERVICES);
  history.note(`SIGSTOP ${target}`);
  cluster.pause(target);
  return Promise.resolve(() => {
    history.note(`SIGCONT ${target}`);
    cluster.resume(target);
    return Promise.resolve();
  });
};

/** Cuts `a` from `b`, both ways, until healed. */
function partition(ctx: NemesisContext, a: readonly string[], b: readonly string[]): Promise<() => Promise<void>> {
  ctx.history.note(`partition [${a.join(' ')}] | [${b.join(' ')}]`);
  return ctx.partitions.cut(a, b).then(() => async () => {
    ctx.history.note('heal partition');
    await ctx.partitions.heal();
  });
}

const partitionOne: Fault = (ctx) => {
  const node = ctx.rng.pick(STORAGE_NODES);
  const limiter = ctx.rng.pick(RATE_LIMITERS);
  const alone: string[] = [node, limiter];
  return partition(ctx, alone, CLUSTER.filter((m) => !alone.includes(m)));
};

function partitionCoordinatorFrom(count: number): Fault {
  return (ctx) => partition(ctx, ['coordinator'], ctx.rng.sample(STORAGE_NODES, count));
}

const skewClocks: Fault = ({ cluster, history, rng }) => {
  const targets = rng.sample(SERVICES, rng.int(1, 3));
  for (const t of targets) {
    // Up to 30 s either way, so some windows and timestamps jump backwards.
    const offset = Math.round(rng.between(-30_000, 30_000));
    history.note(`clock ${t} ${offset >= 0 ? '+' : ''}${offset} ms`);
    cluster.setClock(t, offset);
  }
  return Promise.resolve(() => {
    // Some clocks stay wrong into the next round, so skews pile up across processes.
    for (const t of targets) {
      if (!rng.chance(0.5)) continue;
      history.note(`clock ${t} back to 0`);
      cluster.setClock(t, 0);
    }
    return Promise.resolve();
  });
};

const slowLinks: Fault = async ({ cluster, history, rng }) => {
  const links = rng.sample(cluster.linkNames(), rng.int(1, 3));
  for (const link of links) {
    const shape: LinkShape = rng.chance(0.2)
      ? { delayMs: 0, jitterMs: 0, lossRate: 0, bytesPerSecond: 0, cut: true }
      : {
          delayMs: Math.round(rng.between(20, 300)),
          jitterMs: Math.round(rng.between(0, 100)),
          lossRate: rng.chance(0.5) ? Math.round(rng.between(0.01, 0.2) * 100) / 100 : 0,
          bytesPerSecond: rng.chance(0.3) ? 32_768 : 0,
          cut: false,
        };
    history.note(`link ${link} ${JSON.stringify(shape)}`);
    await cluster.shapeLink(link, shape);
  }
  return async () => {
    history.note(`links back to normal: ${links.join(' ')}`);
    for (const link of links) await cluster.shapeLink(link, { delayMs: 0, jitterMs: 0, lossRate: 0, bytesPerSecond: 0, cut: false });
  };
};

/** How long a ring change (ranges streamed, commit) may take on a loaded machine. */
const RING_CHANGE_MS = 120_000;

/**
 * Joins the spare node while the clients write, then decommissions one of the first three, and
 * stops it once it is LEFT (its ranges streamed to their new owners). Both changes run to the
 * end whatever the duration: the schedule's point is the moves; only the calm between them is
 * cut short.
 */
async function joinLeave(ctx: NemesisContext): Promise<void> {
  const { cluster, history, rng, stop } = ctx;
  await stop.sleep(rng.between(1_000, 3_000));
  history.note(`join ${SPARE_NODE}`);
  await cluster.addStorageNode(SPARE_NODE);
  await ringSettles(cluster.membershipAddress, (ring) => isNormal(ring, SPARE_NODE), RING_CHANGE_MS);
  history.note(`${SPARE_NODE} NORMAL`);
  await stop.sleep(rng.between(1_000, 3_000));
  const leaving = rng.pick(STORAGE_NODES);
  history.note(`decommission ${leaving}`);
  await decommission(cluster.membershipAddress, leaving);
  await ringSettles(cluster.membershipAddress, (ring) => ring.member(leaving)?.state !== 'normal' && ring.member(leaving)?.state !== 'leaving', RING_CHANGE_MS);
  history.note(`${leaving} left; stopped`);
  await cluster.removeStorageNode(leaving);
}

/**
 * A replica whose disk is replaced: kill -9 a storage node, delete its data folder, let the
 * clients write for a while, start it again with the same id (a new incarnation, empty), and
 * repair its ranges (`qkv repair --node`) until the pass finished. Then every acknowledged key
 * must be readable at R=ALL.
 */
async function wipedReplica(ctx: NemesisContext): Promise<void> {
  const { cluster, history, rng, stop } = ctx;
  await stop.sleep(rng.between(1_000, 3_000));
  const victim = rng.pick(STORAGE_NODES);
  history.note(`kill -9 ${victim}`);
  await cluster.kill(victim);
  history.note(`wipe ${victim}`);
  cluster.wipe(victim);
  await stop.sleep(rng.between(1_000, 3_000));
  history.note(`restart ${victim}`);
  await cluster.restart(victim);
  history.note(`qkv repair --node ${victim}`);
  const repair = await repairNode(cluster.antiEntropyAddress, victim, RING_CHANGE_MS);
  history.note(`repair of ${victim} complete: ${repair.keysRepaired} keys repaired in ${repair.passes} pass(es)`);
}

function schedule(name: string, description: string, fault: Fault, calmMs: [number, number], faultMs: [number, number], proxied = false): Schedule {
  return { name, description, proxied, run: (ctx) => cycle(ctx, fault, calmMs, faultMs) };
}

/** Every schedule, in the order a full run takes them. */
export const SCHEDULES: readonly Schedule[] = [
  schedule('kill', 'kill -9 a random service (storage node, rate limiter or coordinator), restart it 0.5-2 s later', kill, [500, 1500], [500, 2000]),
  schedule('pause', 'SIGSTOP a random service for 0.5-3 s (longer than the replica timeout), then SIGCONT', pause, [500, 1500], [500, 3000]),
  schedule('partition-one', 'cut one storage node and one rate-limiter replica off from every other service for 1-3 s', partitionOne, [500, 1500], [1000, 3000]),
  schedule('partition-coordinator-minority', 'cut the coordinator off from one storage node (a minority) for 1-3 s', partitionCoordinatorFrom(1), [500, 1500], [1000, 3000]),
  schedule('partition-coordinator-majority', 'cut the coordinator off from two storage nodes (a majority) for 1-3 s', partitionCoordinatorFrom(2), [500, 1500], [1000, 3000]),
  schedule('clock-skew', "move 1-3 services' wall clocks up to 30 s either way, every 1-2.5 s; half go back each round", skewClocks, [500, 1000], [500, 1500]),
  schedule('slow-links', 'through a proxy on every link: 20-300 ms delay, jitter, loss as retransmission stalls, 32 KB/s, or a cut, on 1-3 links for 1-3 s', slowLinks, [500, 1500], [1000, 3000], true),
  {
    name: 'join-leave',
    description: `join ${SPARE_NODE}, then decommission one of the first three and stop it once LEFT; final reads at R=ALL (not in npm test: ~2 min)`,
    proxied: false,
    finalReadAll: true,
    // About 110 s even at 6 s of faults (two ring changes with their transfers on a loaded box).
    shortPass: false,
    run: joinLeave,
  },
  {
    name: 'wiped-replica',
    description: 'kill -9 a storage node, wipe its data, restart it with the same id, qkv repair --node it; final reads at R=ALL (not in npm test yet)',
    proxied: false,
    antiEntropy: true,
    finalReadAll: true,
    // Under a minute when its repair completes, but not reliably yet: in some runs (seed 11 every
    // time, seed 1 once in three) the worker keeps the restarted node "down (failure detection)"
    // and no pass over it finishes, so it is left out of npm test until that is fixed.
    shortPass: false,
    run: wipedReplica,
  },
];

export function findSchedule(name: string): Schedule | undefined {
  return SCHEDULES.find((s) => s.name === name);
}
