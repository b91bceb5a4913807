/**
 * `npm run bench`: closed-loop load against a local quorumkv cluster (N=3, W=2, R=2), next to
 * the floor (a trivial grpc-js echo) and a 3-member etcd cluster when `etcd` is installed, all
 * driven by the same load generator in the same run. Prints ops/s, p50/p99 and the ratios.
 *
 *   npm run bench -- [--concurrency 64] [--duration 10] [--value-size 100] [--no-etcd]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { kv } from '@quorumkv/proto';
import { LocalCluster, ServiceProcess } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { etcdInstalled, etcdPut, etcdPutPath, etcdRange, etcdRangePath, startEtcdCluster } from './etcd-cluster.js';
import { formatResults, runUnaryLoad, type LoadResult } from './load.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    'value-size': { type: 'string', default: '100' },
    'no-etcd': { type: 'boolean', default: false },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const valueSize = Number(values['value-size']);
if (![concurrency, durationMs, valueSize].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('bench: --concurrency, --duration (seconds) and --value-size (bytes) take positive whole numbers\n');
  process.exit(2);
}
const value = Buffer.alloc(valueSize, 'v');
const run = { concurrency, durationMs, warmupMs: 1_000 };
const key = (i: number): Buffer => Buffer.from(`bench-${i.toString(36)}`);
const log = (s: string): boolean => process.stdout.write(s + '\n');

log(`quorumkv benchmark: ${concurrency} in flight, ${durationMs / 1000} s per target, ${valueSize}-byte values, ${cpus().length} cores`);
const results: LoadResult[] = [];

// 1. The floor: a trivial grpc-js echo in its own process.
const echo = await ServiceProcess.start({
  name: 'echo',
  entry: new URL('./echo-server.js', import.meta.url).pathname,
  args: ['127.0.0.1:0'],
});
try {
  const payload = Buffer.concat([key(0), value]);
  results.push(await runUnaryLoad('echo (grpc-js floor)', { addresses: [echo.address], path: echoPath, request: () => payload }, run));
} finally {
  await echo.stop();
}

// 2. quorumkv: 3 storage nodes + coordinator, N=3, W=2, R=2.
const dataDir = mkdtempSync(join(tmpdir(), 'qkv-bench-'));
let written = 0;
const cluster = await LocalCluster.start({ nodes: 3, replicationFactor: 3, dataDir, env: { LOG_LEVEL: 'warn' } });
try {
  const puts = await runUnaryLoad(
    'quorumkv put (W=2)',
    {
      addresses: [cluster.address],
      path: '/quorumkv.kv.v1.KeyValueService/Put',
      // Fresh keys: repeated blind puts of one key would (correctly) pile up siblings.
      request: (i) => Buffer.from(kv.PutRequest.encode({ key: key(i), value, context: Buffer.alloc(0), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, w: 2 }).finish()),
    },
    run,
  );
  results.push(puts);
  written = Math.max(1, puts.ops);
  results.push(
    await runUnaryLoad(
      'quorumkv get (R=2)',
      {
        addresses: [cluster.address],
        path: '/quorumkv.kv.v1.KeyValueService/Get',
        request: (i) => Buffer.from(kv.GetRequest.encode({ key: key(i % written), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, r: 2 }).finish()),
      },
      run,
    ),
  );
} finally {
  await cluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

// 3. etcd, 3 members, when installed.
if (!values['no-etcd'] && etcdInstalled()) {
  const etcd = await startEtcdCluster(3);
  try {
    const puts = await runUnaryLoad('etcd put', { addresses: etcd.clientAddresses, path: etcdPutPath, request: (i) => etcdPut(key(i), value) }, run);
    results.push(puts);
    const n = Math.max(1, puts.ops);
    results.push(await runUnaryLoad('etcd get (linearizable)', { addresses: etcd.clientAddresses, path: etcdRangePath, request: (i) => etcdRange(key(i % n)) }, run));
  } finally {
    await etcd.stop();
  }
} else {
  log('etcd: not measured (install Debian etcd-server with `npm run setup`, or drop --no-etcd)');
}

log('');
log(formatResults(results, 'echo (grpc-js floor)'));
const byLabel = (l: string): LoadResult | undefined => results.find((r) => r.label === l);
const qp = byLabel('quorumkv put (W=2)');
const qg = byLabel('quorumkv get (R=2)');
const ep = byLabel('etcd put');
const eg = byLabel('etcd get (linearizable)');
log('');
if (qp && ep) log(`quorumkv puts/s ÷ etcd puts/s = ${(qp.opsPerSecond / ep.opsPerSecond).toFixed(2)} (target ≥ 1.00)`);
if (qg && eg) log(`quorumkv gets/s ÷ etcd gets/s = ${(qg.opsPerSecond / eg.opsPerSecond).toFixed(2)}`);
for (const r of results) if (r.errors > 0) log(`${r.label}: ${r.errors} errors, first: ${r.firstError}`);
