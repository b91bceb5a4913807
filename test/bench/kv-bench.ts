/**
 * `npm run bench`: quorumkv as `npm start` ships it, the same cluster with `--sync`, and a
 * 3-member etcd cluster, next to two echo floors, all driven by one load generator in one run:
 * grpc-load, a closed loop in C over nghttp2 (test/bench/grpc-load.c), with distinct keys for
 * every put. Optionally the same targets again with Python's gRPC C-core client or the grpc-js
 * client, as further columns.
 *
 * Every target is started up front and idles while the others run; each round then measures
 * them one after the other, so a burst of load from elsewhere on the machine hits both sides of
 * a ratio alike. Ratios are taken within each round and their median is reported.
 */
import { cpus, loadavg } from 'node:os';
import { BenchProgress, formatEstimate, readBenchArgs } from './bench-cli.js';
import { etcdInstalled } from './etcd-cluster.js';
import { buildGrpcLoad, LoadGeneratorError, pythonGenerator, runGenerator, type LoadGenerator } from './grpc-load.js';
import { requestFor } from './keyed-request.js';
import { kvErrors, kvHeadroom, kvRatios, kvTable, type KvMeasured } from './kv-report.js';
import { FIRST_WARMUP_MS, kvBenchCommand, kvPlan, WARMUP_MS } from './kv-bench-plan.js';
import { QPUT_TLS, startKvTargets, type KvTarget } from './kv-targets.js';
import { channelCredentials } from './grpc-once.js';
import { runUnaryLoad } from './load.js';
import { startCpuMeter } from './process-cpu.js';
import { Rounds } from './rounds.js';

/** Key numbers of one run: runs never share a key (12 digits, --rounds ≤ 30, ≤ 3 clients). */
const KEYS_PER_RUN = 10_000_000_000;
/** Where a grpc-js run's own warm-up writes, inside its range, away from the measured keys. */
const GRPC_JS_WARMUP_KEYS = KEYS_PER_RUN / 2;

/** A generator column: the external programs, or grpc-js in this process. */
type Client = { readonly name: string; readonly description: string; readonly generator?: LoadGenerator };

const args = readBenchArgs(kvBenchCommand);
const duration = args.int('duration');
const rounds = args.int('rounds');
const concurrency = args.int('concurrency');
const valueSize = args.int('value-size');
const connections = args.int('connections');
const settleMs = args.int('settle') * 1000;
const clientChoice = args.string('client')!;
const withEtcd = !args.flag('no-etcd') && etcdInstalled();
const withSync = !args.flag('no-sync');
const withTls = args.flag('tls');
const log = (s: string): void => void process.stdout.write(s + '\n');

const wanted = clientChoice === 'all' ? ['c', 'python', 'grpc-js'] : [clientChoice];
const tlsClients = withTls ? wanted.filter((c) => c !== 'c').length : 0;
const plan = kvPlan({ duration, rounds, settle: settleMs / 1000, clients: wanted.length, etcd: withEtcd, sync: withSync, tlsClients });
log(
  `quorumkv key-value benchmark: ${concurrency} calls in flight, ${duration} s per target per round, ${rounds} interleaved rounds, ` +
    `${valueSize}-byte values, ${cpus().length} cores`,
);
log(`takes ${formatEstimate(plan)}`);
if (args.flag('dry-run')) process.exit(0);

let clients: Client[];
try {
  clients = wanted.map((c): Client => {
    if (c === 'grpc-js') return { name: 'grpc-js', description: `grpc-js, closed loop in the benchmark's own process, ${connections} channels per address` };
    const generator = c === 'python' ? pythonGenerator(2) : buildGrpcLoad();
    return { name: generator.name, description: `${generator.description}, ${connections} connections per address per process`, generator };
  });
} catch (err) {
  if (!(err instanceof LoadGeneratorError)) throw err;
  process.stderr.write(`npm run bench: ${err.message}\n`);
  process.exit(1);
}
for (const c of clients) log(`load generator: ${c.description}`);
log('quorumkv as `npm start` ships it: 3 storage nodes (N=3, no fsync), the rate limiter with deploy/ratelimit\'s rules asked before every call, the coordinator');
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, settleMs));

/** Keys each measured put run wrote, contiguous from its first key: by client, label and round. */
const written = new Map<string, { firstKey: number; count: number }>();
const keyRange = (client: number, round: number): number => (round * clients.length + client + 1) * KEYS_PER_RUN;

function perOp(cpuMs: number | undefined, ops: number): number | undefined {
  return cpuMs === undefined || ops === 0 ? undefined : (cpuMs * 1000) / ops;
}

async function measure(clientIndex: number, t: KvTarget, round: number): Promise<KvMeasured> {
  const client = clients[clientIndex]!;
  const warmupMs = round === 0 ? FIRST_WARMUP_MS : WARMUP_MS;
  const read = t.readsKeysOf === undefined ? undefined : written.get(`${client.name}/${t.readsKeysOf}/${round}`);
  const firstKey = read?.firstKey ?? keyRange(clientIndex, round);
  const modulo = read?.count;
  const remember = (count: number): void => {
    if (t.kind === 'put') written.set(`${client.name}/${t.label}/${round}`, { firstKey, count });
  };
  if (client.generator) {
    const r = await runGenerator(client.generator, t.label, {
      addresses: t.addresses,
      path: t.path,
      request: t.request,
      firstKey,
      ...(modulo !== undefined ? { modulo } : {}),
      concurrency,
      connections,
      warmupMs,
      durationMs: duration * 1000,
      cpu: [{ name: 'server', pids: t.pids }],
      ...(t.tlsDir !== undefined ? { tlsDir: t.tlsDir } : {}),
    });
    remember(r.contiguousKeys);
    const serverCpuUs = perOp(r.cpuMs.get('server'), r.ops);
    return { ...r, ...(serverCpuUs !== undefined ? { serverCpuUs } : {}), generatorCpuUs: perOp(r.generatorCpuMs, r.ops) ?? Number.NaN };
  }
  const key = (offset: number) => (i: number): Buffer => requestFor(t.request, firstKey + (modulo !== undefined ? (offset + i) % modulo : offset + i));
  const target = { addresses: t.addresses, path: t.path, channelsPerAddress: connections, credentials: channelCredentials(t.tlsDir) };
  await runUnaryLoad(t.label, { ...target, request: key(GRPC_JS_WARMUP_KEYS) }, { concurrency, durationMs: warmupMs });
  const stop = startCpuMeter([
    { name: 'server', pids: t.pids },
    { name: 'client', pids: [process.pid] },
  ]);
  const r = await runUnaryLoad(t.label, { ...target, request: key(0) }, { concurrency, durationMs: duration * 1000 });
  const cpu = stop();
  // The closed loop waits for every call it started: calls 0 … ops + errors − 1 all ended.
  remember(r.ops + r.errors);
  const serverCpuUs = perOp(cpu.get('server'), r.ops);
  return { ...r, ...(serverCpuUs !== undefined ? { serverCpuUs } : {}), generatorCpuUs: perOp(cpu.get('client'), r.ops) ?? Number.NaN };
}

log(`machine load average at the start (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(', ')} — other processes share these ${cpus().length} cores`);
const bench = await startKvTargets({ valueSize, etcd: withEtcd, sync: withSync, tls: withTls });
for (const n of bench.notes) log(n);
if (withTls && clients.some((c) => c.generator?.tls === false)) log(`${QPUT_TLS}: not measured with grpc-load (plain HTTP/2 only); see the python and grpc-js columns`);
/** Whether `client` can drive `t` (grpc-load cannot dial TLS). */
const drives = (client: Client, t: KvTarget): boolean => t.tlsDir === undefined || client.generator?.tls !== false;
const results = clients.map(() => new Rounds<KvMeasured>());
const progress = new BenchProgress(plan);
try {
  for (let r = 0; r < rounds; r++) {
    for (const [ci, client] of clients.entries()) {
      for (const t of bench.targets) {
        if (!drives(client, t)) continue;
        progress.step(r, `${t.label} (${client.name})`);
        await settle();
        const m = await measure(ci, t, r);
        results[ci]!.add(m);
        progress.log(
          `round ${r + 1} ${client.name.padEnd(15)} ${t.label.padEnd(26)} ${m.opsPerSecond.toFixed(0).padStart(6)} ops/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms` +
            `  server CPU ${m.serverCpuUs?.toFixed(0) ?? '-'} µs/op  generator ${m.generatorCpuUs?.toFixed(1) ?? '-'} µs/op${m.errors > 0 ? `  ${m.errors} errors` : ''}`,
        );
      }
    }
  }
} finally {
  progress.finish();
  await bench.stop();
}

log(`machine load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
for (const [ci, client] of clients.entries()) {
  const rs = results[ci]!;
  log('');
  log(`${client.description}; ${concurrency} calls in flight; median of ${rounds} rounds (CPU: every thread of the processes, from /proc):`);
  log('');
  for (const line of kvTable(rs, bench.targets.filter((t) => drives(client, t)))) log(line);
  log('');
  for (const line of [...kvRatios(rs), ...kvHeadroom(rs, bench.targets), ...kvErrors(rs, client.name)]) log(line);
}
