/**
 * `npm run bench:anti-entropy [-- --json]`: anti-entropy with real storage-node processes (see
 * anti-entropy-bench-plan.ts for what it measures). Every figure comes from one run:
 *
 * - `treeBytes`: every request and answer of one exchange session between the diverged replica
 *   and a healthy one (summaries of all shared arcs, the tree walks, both looks at the differing
 *   segments), counted as protobuf bytes plus gRPC's 5-byte prefix by the worker's own TreeService
 *   client; `naiveBytes`: the same client listing every (key, digest) of every shared arc on both
 *   replicas (one SegmentEntries call per arc at depth 0); `bytesRatio` = treeBytes / naiveBytes.
 * - the restore of a wiped replica by the anti-entropy worker process (`qkv repair --node`): from
 *   the node listening again to the last pass finished, and keys repaired per second.
 * - puts/s through a coordinator on a cluster keeping the trees and on the same cluster without
 *   them (`--merkle-trees=false`), interleaved rounds, grpc-load (C) driving both; the cost is
 *   1 − the median of the per-round ratios.
 * - the trees' memory per million keys, from each node's `quorumkv_storage_tree_bytes` and keys.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ByteMeter, NodeHealth, ReplicaBatches, RingPlan, runPairSession, StorageLinks, Throttle, TreeClient } from '@quorumkv/anti-entropy';
import { AntiEntropyClient } from '@quorumkv/client';
import { kv } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { StorageEngine } from '@quorumkv/storage-node';
import type { Version } from '@quorumkv/vclock';
import { rmSync } from 'node:fs';
import { antiEntropyBenchCommand, antiEntropyPlan, PUT_WARMUP_MS } from './anti-entropy-bench-plan.js';
import { BenchProgress, formatEstimate, readBenchArgs } from './bench-cli.js';
import { buildGrpcLoad, runGenerator } from './grpc-load.js';
import { keyedRequest } from './keyed-request.js';
import { RingCluster } from '../support/ring-cluster.js';

const args = readBenchArgs(antiEntropyBenchCommand);
const KEYS = args.int('keys');
const DIVERGENT = Math.max(3, Math.round((KEYS * args.int('divergence-per-million')) / 1_000_000));
const duration = args.int('duration');
const rounds = args.int('rounds');
const concurrency = args.int('concurrency');
const json = args.flag('json');
const plan = antiEntropyPlan({ keys: KEYS, duration, rounds });
// With --json, stdout carries the one JSON object: everything else goes to stderr.
const log = (s: string): void => void (json ? process.stderr : process.stdout).write(s + '\n');
log(`anti-entropy benchmark: ${KEYS} keys per replica, ${DIVERGENT} diverged on one, 3 storage nodes (N=3)`);
log(`takes ${formatEstimate(plan)}`);
if (args.flag('dry-run')) process.exit(0);

const silent = createLogger({ service: 'bench', level: 'silent' });
const VALUE = Buffer.alloc(100, 0x61);
const key = (i: number): Buffer => Buffer.from(`key-${String(i).padStart(8, '0')}`);

/** A version minted by no storage node (the loader), as replication would have left it. */
function version(actorEpoch: bigint, counter: number): Version {
  return { dot: { node: 'bench-loader', epoch: actorEpoch, counter }, context: [], value: VALUE, tombstone: false, writtenAtMs: Date.now() };
}

/**
 * Writes the keys into the stopped nodes' engines: the same version of every key on every replica,
 * except a third of the diverged keys with an extra sibling on node-3, a third missing there, a
 * third only there (the merkle benchmark's mix).
 */
async function load(cluster: RingCluster): Promise<void> {
  const actor = randomBytes(8).readBigUInt64BE() | 1n;
  const step = Math.floor(KEYS / DIVERGENT);
  for (const node of ['node-1', 'node-2', 'node-3']) {
    const engine = await StorageEngine.open({ dataDir: cluster.nodeDir(node), nodeId: node, logger: silent });
    try {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < KEYS; i++) {
        const diverged = i % step === 0 && i / step < DIVERGENT;
        const kind = diverged ? (i / step) % 3 : -1;
        if (node === 'node-3' && kind === 1) continue;
        const versions = node === 'node-3' && kind === 0 ? [version(actor, i + 1), version(actor, KEYS + i + 1)] : [version(actor, i + 1)];
        if (node !== 'node-3' && kind === 2) continue;
        writes.push(engine.merge(key(i), versions));
        if (writes.length >= 512) await Promise.all(writes.splice(0));
      }
      await Promise.all(writes);
    } finally {
      await engine.close();
    }
  }
}

/** Waits until every node reports every arc's tree built. */
async function treesBuilt(cluster: RingCluster): Promise<void> {
  const epoch = cluster.ring.epoch;
  for (const node of ['node-1', 'node-2', 'node-3']) {
    const client = new TreeClient(cluster.nodeAddress(node), 30_000);
    try {
      for (;;) {
        const s = await client.summaries(epoch, [], new ByteMeter()).catch(() => undefined);
        if (s !== undefined && s.length > 0 && s.every((a) => !a.building)) break;
        await sleep(250);
      }
    } finally {
      client.close();
    }
  }
}

/** A gauge or counter of a process's /metrics, summed over its series. */
async function metric(url: string | undefined, name: string): Promise<number> {
  if (url === undefined) return Number.NaN;
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

interface ExchangeFigures {
  treeBytes: number;
  naiveBytes: number;
  arcs: number;
  arcsWalked: number;
  divergentFound: number;
  keysRepaired: number;
  repairBytes: number;
  calls: number;
  ms: number;
  naiveEntries: number;
}

/** The naive comparison, then one exchange session between node-1 and node-3. */
async function exchangeBytes(cluster: RingCluster): Promise<ExchangeFigures> {
  const ringPlan = new RingPlan(cluster.ring);
  const pair = ringPlan.pairs({ node: 'node-3' }).find((p) => p.a === 'node-1' && p.b === 'node-3');
  if (pair === undefined) throw new Error('node-1 and node-3 share no arc');
  const naive = new ByteMeter();
  let naiveEntries = 0;
  for (const node of ['node-1', 'node-3']) {
    const client = new TreeClient(cluster.nodeAddress(node), 60_000);
    try {
      for (const arc of pair.arcs) naiveEntries += (await client.segmentEntries(ringPlan.epoch, arc, 0, [0], naive)).length;
    } finally {
      client.close();
    }
  }
  const links = new StorageLinks({ callTimeoutMs: 60_000, replica: (n) => new ReplicaBatches(n.id, n.address, 60_000) });
  const link = (id: string) => links.link({ id, address: cluster.nodeAddress(id), alive: true });
  const started = performance.now();
  const outcome = await runPairSession(link('node-1'), link('node-3'), ringPlan.epoch, pair.arcs, {
    others: () => [],
    arcsHeld: (node) => ringPlan.arcsHeld(node),
    throttle: new Throttle({ exchangesPerSecond: 1_000_000, keysPerSecond: 10_000_000, maxExchangesPerNode: 1, now: Date.now, sleep: (ms) => sleep(ms) }),
    health: new NodeHealth({ now: Date.now, random: Math.random, maxMs: 60_000, slowCallMs: 60_000 }),
    pause: () => sleep(1_000),
    sleep: (ms) => sleep(ms),
    repairConcurrency: 128,
    now: Date.now,
    logger: silent,
  });
  const ms = performance.now() - started;
  links.closeAll();
  if (outcome.failure) throw new Error(`the exchange failed: ${outcome.failure.message}`);
  return {
    treeBytes: outcome.meter.tree,
    naiveBytes: naive.tree,
    arcs: pair.arcs.length,
    arcsWalked: outcome.arcs.filter((a) => a.walked).length,
    divergentFound: outcome.arcs.reduce((n, a) => n + a.divergent, 0),
    keysRepaired: outcome.keysRepaired,
    repairBytes: outcome.meter.repair,
    calls: outcome.meter.calls,
    ms,
    naiveEntries,
  };
}

/**
 * The worker restores a wiped node-3: seconds from the node listening again until it holds as many
 * keys as node-1, and the keys the worker repaired meanwhile. `qkv repair --node node-3` is asked
 * at once and again whenever a pass ends short of it (failure detection may still hold the node
 * down for a moment: the worker then skips it, and starts a pass of its own when it sees it back).
 */
async function restore(cluster: RingCluster): Promise<{ seconds: number; keys: number }> {
  await cluster.startAntiEntropy();
  const ae = new AntiEntropyClient({ address: cluster.antiEntropyAddress, deadlineMs: 30_000 });
  const idle = async (): Promise<void> => {
    for (;;) {
      const s = await ae.status().catch(() => undefined);
      if (s !== undefined && s.ringEpoch > 0 && s.running.length === 0 && s.lastFullPassMs > 0) return;
      await sleep(250);
    }
  };
  const keysOf = (node: string): Promise<number> => metric(cluster.nodes.get(node)?.metricsUrl, 'quorumkv_storage_keys');
  try {
    // The worker's first pass brings node-2 up to date with the exchange above.
    await idle();
    const before = (await ae.status()).keysRepaired;
    const want = await keysOf('node-1');
    await cluster.stopNode('node-3');
    rmSync(cluster.nodeDir('node-3'), { recursive: true, force: true });
    await cluster.startNode('node-3');
    const started = Date.now();
    for (;;) {
      await ae.repair({ node: 'node-3' });
      await idle();
      if ((await keysOf('node-3')) >= want) break;
      if (Date.now() - started > 600_000) throw new Error('node-3 was not restored within 10 minutes');
      await sleep(500);
    }
    const seconds = (Date.now() - started) / 1000;
    return { seconds, keys: (await ae.status()).keysRepaired - before };
  } finally {
    ae.close();
  }
}

interface PutRun {
  readonly opsPerSecond: number;
  /** CPU of the coordinator and the storage nodes per put (µs): less sensitive to other load than throughput. */
  readonly serverCpuUs: number;
  readonly generatorCpuUs: number;
}

/**
 * Puts through each cluster's coordinator, interleaved rounds in ABBA order (the cluster measured
 * second in one round goes first in the next), so a trend of the machine's load falls on both.
 */
async function putCost(progress: BenchProgress): Promise<{ withTrees: PutRun[]; withoutTrees: PutRun[] }> {
  const generator = buildGrpcLoad();
  const trees = await RingCluster.start({ antiEntropy: false });
  const none = await RingCluster.start({ antiEntropy: false, storageArgs: ['--merkle-trees=false'] });
  const requestId = randomBytes(16);
  const request = keyedRequest(
    (k) => Buffer.from(kv.PutRequest.encode({ key: k, value: VALUE, context: Buffer.alloc(0), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, w: 2, requestId, pw: 0 }).finish()),
    'put-',
  );
  const withTrees: PutRun[] = [];
  const withoutTrees: PutRun[] = [];
  try {
    // One unmeasured run on each first: JIT, LevelDB's first compactions and the trees' first
    // deeper rebuilds happen there, not in round 1.
    for (const [label, cluster] of [['trees', trees], ['no trees', none]] as const) {
      progress.log(`warm-up run, ${label}`);
      await runGenerator(generator, `warm-up ${label}`, {
        addresses: [cluster.coordinatorAddress],
        path: '/quorumkv.kv.v1.KeyValueService/Put',
        request,
        firstKey: 1_000_000_000,
        concurrency,
        connections: 2,
        warmupMs: PUT_WARMUP_MS,
        durationMs: duration * 1000,
        cpu: [],
      });
    }
    for (let r = 0; r < rounds; r++) {
      const order = [['trees', trees, withTrees], ['no trees', none, withoutTrees]] as const;
      for (const [label, cluster, out] of r % 2 === 0 ? order : [...order].reverse()) {
        progress.step(r, `puts, ${label}`);
        await sleep(1_000);
        const pids = [cluster.coordinator, ...cluster.nodes.values()].flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
        const result = await runGenerator(generator, label, {
          addresses: [cluster.coordinatorAddress],
          path: '/quorumkv.kv.v1.KeyValueService/Put',
          request,
          firstKey: (r + 1) * 10_000_000_000,
          concurrency,
          connections: 2,
          warmupMs: PUT_WARMUP_MS,
          durationMs: duration * 1000,
          cpu: [{ name: 'server', pids }],
        });
        const ops = Math.max(1, result.ops);
        const run = { opsPerSecond: result.opsPerSecond, serverCpuUs: ((result.cpuMs.get('server') ?? 0) * 1000) / ops, generatorCpuUs: (result.generatorCpuMs * 1000) / ops };
        out.push(run);
        progress.log(
          `round ${r + 1} ${label.padEnd(9)} ${run.opsPerSecond.toFixed(0).padStart(6)} puts/s  server CPU ${run.serverCpuUs.toFixed(0)} µs/put  p99 ${result.p99Ms.toFixed(1)} ms${result.errors > 0 ? `  ${result.errors} errors` : ''}`,
        );
      }
    }
  } finally {
    await trees.stop();
    await none.stop();
  }
  return { withTrees, withoutTrees };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;

const progress = new BenchProgress(plan);
const loadAtStart = loadavg();
const cluster = await RingCluster.start({
  antiEntropy: false,
  antiEntropyArgs: ['--period-ms', '3600000', '--keys-per-second', '1000000', '--exchanges-per-second', '100000', '--confirm-pause-ms', '1000', '--repair-concurrency', '256'],
});
let exchange: ExchangeFigures;
let restored: { seconds: number; keys: number };
let treeBytesPerMillionKeys: number;
try {
  log('loading the keys into the three engines (nodes stopped)…');
  for (const node of ['node-1', 'node-2', 'node-3']) await cluster.stopNode(node);
  await load(cluster);
  for (const node of ['node-1', 'node-2', 'node-3']) await cluster.startNode(node);
  await cluster.ringSettles((ring) => ring.current.nodes().length === 3);
  await treesBuilt(cluster);
  const perNode = await Promise.all(
    ['node-1', 'node-2'].map(async (n) => {
      const p = cluster.nodes.get(n);
      return (1e6 * (await metric(p?.metricsUrl, 'quorumkv_storage_tree_bytes'))) / (await metric(p?.metricsUrl, 'quorumkv_storage_keys'));
    }),
  );
  treeBytesPerMillionKeys = Math.round(perNode.reduce((a, b) => a + b, 0) / perNode.length);
  log('one exchange between node-1 and the diverged node-3, and the naive comparison…');
  exchange = await exchangeBytes(cluster);
  log(`exchange: ${exchange.treeBytes} bytes (naive ${exchange.naiveBytes}), ${exchange.divergentFound} divergent keys found of ${DIVERGENT}, ${exchange.arcsWalked}/${exchange.arcs} arcs walked, ${exchange.ms.toFixed(0)} ms`);
  log('restoring a wiped replica with the anti-entropy worker…');
  restored = await restore(cluster);
  log(`restore: ${restored.keys} keys in ${restored.seconds.toFixed(1)} s`);
} finally {
  await cluster.stop();
}
log('puts/s with and without the trees…');
const puts = await putCost(progress);
progress.finish();
const ratios = puts.withTrees.map((w, i) => w.opsPerSecond / (puts.withoutTrees[i]?.opsPerSecond ?? Number.NaN));
const cpuRatios = puts.withTrees.map((w, i) => w.serverCpuUs / (puts.withoutTrees[i]?.serverCpuUs ?? Number.NaN));
const generatorCpuUs = median([...puts.withTrees, ...puts.withoutTrees].map((p) => p.generatorCpuUs));
const fastest = Math.max(...[...puts.withTrees, ...puts.withoutTrees].map((p) => p.opsPerSecond));
const result = {
  keys: KEYS,
  divergentKeys: DIVERGENT,
  treeBytes: exchange.treeBytes,
  naiveBytes: exchange.naiveBytes,
  bytesRatio: Number((exchange.treeBytes / exchange.naiveBytes).toFixed(5)),
  exchange: {
    arcs: exchange.arcs,
    arcsWalked: exchange.arcsWalked,
    divergentFound: exchange.divergentFound,
    keysRepaired: exchange.keysRepaired,
    repairBytes: exchange.repairBytes,
    calls: exchange.calls,
    ms: Math.round(exchange.ms),
    naiveEntries: exchange.naiveEntries,
  },
  restoreSeconds: Number(restored.seconds.toFixed(2)),
  restoreKeys: restored.keys,
  restoreKeysPerSecond: Math.round(restored.keys / restored.seconds),
  putsPerSecondWithTrees: Math.round(median(puts.withTrees.map((p) => p.opsPerSecond))),
  putsPerSecondWithoutTrees: Math.round(median(puts.withoutTrees.map((p) => p.opsPerSecond))),
  putThroughputCost: Number((1 - median(ratios)).toFixed(4)),
  putRatiosPerRound: ratios.map((r) => Number(r.toFixed(4))),
  serverCpuUsPerPutWithTrees: Math.round(median(puts.withTrees.map((p) => p.serverCpuUs))),
  serverCpuUsPerPutWithoutTrees: Math.round(median(puts.withoutTrees.map((p) => p.serverCpuUs))),
  putCpuCost: Number((median(cpuRatios) - 1).toFixed(4)),
  putCpuRatiosPerRound: cpuRatios.map((r) => Number(r.toFixed(4))),
  generatorCpuUsPerPut: Number(generatorCpuUs.toFixed(1)),
  // Puts/s the generator's CPU per put would allow on one core, over the fastest rate measured.
  generatorHeadroom: Number((1e6 / generatorCpuUs / fastest).toFixed(1)),
  treeBytesPerMillionKeys,
  loadAverage: { start: loadAtStart.map((l) => Number(l.toFixed(2))), end: loadavg().map((l) => Number(l.toFixed(2))) },
};
if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  log('');
  log(`treeBytes ${result.treeBytes}, naiveBytes ${result.naiveBytes}: bytesRatio ${result.bytesRatio} (target ≤ 0.02)`);
  log(`restore of a wiped replica: ${result.restoreKeys} keys in ${result.restoreSeconds} s = ${result.restoreKeysPerSecond} keys/s`);
  log(
    `puts/s with trees ${result.putsPerSecondWithTrees}, without ${result.putsPerSecondWithoutTrees}: cost ${(100 * result.putThroughputCost).toFixed(1)}% (target ≤ 5%; per round ${result.putRatiosPerRound.join(', ')})`,
  );
  log(
    `server CPU per put with trees ${result.serverCpuUsPerPutWithTrees} µs, without ${result.serverCpuUsPerPutWithoutTrees} µs: ${(100 * result.putCpuCost).toFixed(1)}% more (per round ${result.putCpuRatiosPerRound.join(', ')})`,
  );
  log(`load generator: ${result.generatorCpuUsPerPut} µs of its CPU per put: headroom ${result.generatorHeadroom}x the measured rate`);
  log(`tree memory: ${(result.treeBytesPerMillionKeys / 1e6).toFixed(2)} MB per million keys`);
}
