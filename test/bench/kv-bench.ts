/**
 * `npm run bench`: closed-loop load against a local quorumkv cluster (N=3, W=2, R=2), next to
 * the floor (a trivial grpc-js echo) and a 3-member etcd cluster when `etcd` is installed, all
 * driven by the same load generator in the same run. Prints ops/s, p50/p99, the CPU one operation
 * cost the servers and the load generator, and the ratios.
 *
 * Every target is started up front and idles while the others run; each round then measures them
 * one after the other (quorumkv put next to etcd put, quorumkv get next to etcd get), so a burst
 * of load from elsewhere on the machine hits both sides of a ratio alike. Ratios are taken within
 * each round and their median is reported.
 *
 *   npm run bench -- [--concurrency 64] [--duration 8] [--rounds 3] [--value-size 100] [--no-etcd]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { kv } from '@quorumkv/proto';
import { LocalCluster, ServiceProcess } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { etcdInstalled, etcdPut, etcdPutPath, etcdRange, etcdRangePath, startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';
import { formatResults, runUnaryLoad, type LoadResult, type RawUnaryTarget } from './load.js';
import { startCpuMeter } from './process-cpu.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    'value-size': { type: 'string', default: '100' },
    'no-etcd': { type: 'boolean', default: false },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const rounds = Number(values.rounds);
const valueSize = Number(values['value-size']);
if (![concurrency, durationMs, rounds, valueSize].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('bench: --concurrency, --duration (seconds), --rounds and --value-size (bytes) take positive whole numbers\n');
  process.exit(2);
}
const value = Buffer.alloc(valueSize, 'v');
/** Each run starts with a short warm-up of its own (connections, a fresh key range). */
const WARMUP_MS = 1_000;
/** Before the first round every target runs this long unmeasured: JIT, LevelDB and etcd settle. */
const FIRST_WARMUP_MS = 3_000;
const key = (i: number): Buffer => Buffer.from(`bench-${i.toString(36)}`);
const log = (s: string): boolean => process.stdout.write(s + '\n');

const ECHO = 'echo (grpc-js floor)';
const QPUT = 'quorumkv put (W=2)';
const QGET = 'quorumkv get (R=2)';
const EPUT = 'etcd put';
const EGET = 'etcd get (linearizable)';

type Phase = 'warmup' | 'measured';

/** One measured run, and the CPU per operation of the servers and of the load generator. */
interface Measured extends LoadResult {
  readonly serverCpuUs?: number;
  readonly clientCpuUs: number;
}

/** A target of the rounds: how to call it and which processes serve it. */
interface Target {
  readonly label: string;
  readonly pids: readonly number[];
  /** The call for a round's warm-up or measured run; puts use fresh keys in each. */
  readonly target: (round: number, phase: Phase) => RawUnaryTarget;
}

/**
 * Warms the target up (its own short run: JIT, connections), then measures it with the CPU of
 * its processes and of this process counted over the measured run only.
 */
async function measure(t: Target, round: number): Promise<Measured> {
  await runUnaryLoad(t.label, t.target(round, 'warmup'), { concurrency, durationMs: round === 0 ? FIRST_WARMUP_MS : WARMUP_MS });
  const target = t.target(round, 'measured');
  const stop = startCpuMeter([
    { name: 'server', pids: t.pids },
    { name: 'client', pids: [process.pid] },
  ]);
  const r = await runUnaryLoad(t.label, target, { concurrency, durationMs });
  const cpu = stop();
  const perOp = (ms: number | undefined): number | undefined => (ms === undefined || r.ops === 0 ? undefined : (ms * 1000) / r.ops);
  const server = perOp(cpu.get('server'));
  return { ...r, ...(server !== undefined ? { serverCpuUs: server } : {}), clientCpuUs: perOp(cpu.get('client')) ?? Number.NaN };
}

/**
 * Every put run writes keys no other run wrote: run `k` (a round's warm-up or measured run) owns
 * the range starting at k × KEYS_PER_RUN. Gets read back the keys of the same round's measured
 * puts, which all exist.
 */
const KEYS_PER_RUN = 50_000_000;
const firstKey = (round: number, phase: Phase): number => (2 * round + (phase === 'warmup' ? 0 : 1)) * KEYS_PER_RUN;
/** Measured puts done, by put label and round. */
const putsDone = new Map<string, number>();

function putTarget(label: string, addresses: readonly string[], path: string, encode: (k: Buffer) => Buffer): Target['target'] {
  return (round, phase) => {
    const base = firstKey(round, phase);
    const done = `${label}/${round}`;
    return {
      addresses,
      path,
      request: (i) => {
        if (phase === 'measured') putsDone.set(done, Math.max(putsDone.get(done) ?? 0, i + 1));
        return encode(key(base + i));
      },
    };
  };
}

function getTarget(putLabel: string, addresses: readonly string[], path: string, encode: (k: Buffer) => Buffer): Target['target'] {
  return (round) => {
    const base = firstKey(round, 'measured');
    const written = Math.max(1, putsDone.get(`${putLabel}/${round}`) ?? 1);
    return { addresses, path, request: (i) => encode(key(base + (i % written))) };
  };
}

log(
  `quorumkv benchmark: ${concurrency} in flight, ${durationMs / 1000} s per target per round, ${rounds} rounds, ` +
    `${valueSize}-byte values, ${cpus().length} cores`,
);

const dataDir = mkdtempSync(join(tmpdir(), 'qkv-bench-'));
const stops: (() => Promise<void>)[] = [];
const targets: Target[] = [];
const byLabel = new Map<string, Measured[]>();
try {
  // 1. The floor: a trivial grpc-js echo in its own process.
  const echo = await ServiceProcess.start({ name: 'echo', entry: new URL('./echo-server.js', import.meta.url).pathname, args: ['127.0.0.1:0'] });
  stops.push(() => echo.stop());
  const payload = Buffer.concat([key(0), value]);
  targets.push({ label: ECHO, pids: pidsOf([echo]), target: () => ({ addresses: [echo.address], path: echoPath, request: () => payload }) });

  // 2. quorumkv: 3 storage nodes + coordinator, N=3, W=2, R=2.
  const cluster = await LocalCluster.start({ nodes: 3, replicationFactor: 3, dataDir, env: { LOG_LEVEL: 'warn' } });
  stops.push(() => cluster.stop());
  const qpids = pidsOf([cluster.coordinator, ...cluster.storageNodes.map((n) => n.process)]);
  const qput = (k: Buffer): Buffer =>
    // Fresh keys: repeated blind puts of one key would (correctly) pile up siblings. Each put
    // carries a request id, as every put of the SDK does (the node records it with the write).
    Buffer.from(
      kv.PutRequest.encode({ key: k, value, context: Buffer.alloc(0), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, w: 2, requestId: randomBytes(16) }).finish(),
    );
  const qget = (k: Buffer): Buffer => Buffer.from(kv.GetRequest.encode({ key: k, consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, r: 2 }).finish());
  const qputTarget: Target = { label: QPUT, pids: qpids, target: putTarget(QPUT, [cluster.address], '/quorumkv.kv.v1.KeyValueService/Put', qput) };
  const qgetTarget: Target = { label: QGET, pids: qpids, target: getTarget(QPUT, [cluster.address], '/quorumkv.kv.v1.KeyValueService/Get', qget) };

  // 3. etcd, 3 members, when installed.
  let etcd: EtcdCluster | undefined;
  if (!values['no-etcd'] && etcdInstalled()) {
    etcd = await startEtcdCluster(3);
    stops.push(() => etcd!.stop());
  } else {
    log('etcd: not measured (install Debian etcd-server with `npm run setup`, or drop --no-etcd)');
  }
  targets.push(qputTarget);
  if (etcd) targets.push({ label: EPUT, pids: etcd.pids, target: putTarget(EPUT, etcd.clientAddresses, etcdPutPath, (k) => etcdPut(k, value)) });
  targets.push(qgetTarget);
  if (etcd) targets.push({ label: EGET, pids: etcd.pids, target: getTarget(EPUT, etcd.clientAddresses, etcdRangePath, etcdRange) });

  for (const t of targets) byLabel.set(t.label, []);
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const m = await measure(t, r);
      byLabel.get(t.label)!.push(m);
      const cpu = m.serverCpuUs !== undefined ? `  server CPU ${m.serverCpuUs.toFixed(0)} µs/op, client ${m.clientCpuUs.toFixed(0)} µs/op` : '';
      log(`round ${r + 1}: ${t.label.padEnd(24)} ${m.opsPerSecond.toFixed(0).padStart(6)} ops/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms${cpu}`);
    }
  }
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dataDir, { recursive: true, force: true });
}

function pidsOf(ps: readonly ServiceProcess[]): number[] {
  return ps.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
}

/** The round with the median throughput (its latencies and CPU come with it). */
function median(rs: readonly Measured[]): Measured {
  const sorted = [...rs].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const medians = targets.map((t) => median(byLabel.get(t.label)!));
log('');
log(`median of ${rounds} rounds:`);
log(formatResults(medians, ECHO));
log('');
log('CPU per operation (median round; every thread of the processes, from /proc):');
for (const m of medians) {
  if (m.serverCpuUs !== undefined) log(`  ${m.label.padEnd(24)} servers ${m.serverCpuUs.toFixed(0).padStart(4)} µs   load generator ${m.clientCpuUs.toFixed(0).padStart(4)} µs`);
}

/**
 * A ratio taken within each round (its two targets ran seconds apart, under the same outside
 * load) and its median over the rounds: steadier than a ratio of two medians.
 */
function reportRatio(what: string, a: string, b: string, target = ''): void {
  const ra = byLabel.get(a);
  const rb = byLabel.get(b);
  if (!ra || !rb || ra.length === 0) return;
  const per = ra.map((x, i) => x.opsPerSecond / rb[i]!.opsPerSecond);
  const med = [...per].sort((p, q) => p - q)[Math.floor((per.length - 1) / 2)]!;
  log(`${what} = ${med.toFixed(2)}${target}   (per round: ${per.map((x) => x.toFixed(2)).join(', ')})`);
}
log('');
reportRatio('quorumkv puts/s ÷ etcd puts/s', QPUT, EPUT, ' (target ≥ 1.00)');
reportRatio('quorumkv gets/s ÷ etcd gets/s', QGET, EGET);
for (const r of [...byLabel.values()].flat()) if (r.errors > 0) log(`${r.label}: ${r.errors} errors, first: ${r.firstError}`);
