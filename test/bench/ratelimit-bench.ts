/**
 * `npm run bench:ratelimit`: decisions/s and p50/p99 of ShouldRateLimit over gRPC against one
 * rate-limiter replica and against three (requests spread over all three, keys forwarded to
 * their owners), next to the floor (a trivial grpc-js echo) and — when Debian's redis-server is
 * installed — rate-limiter-flexible on Redis behind the same RPC. Every target is driven by the
 * same closed-loop load generator in the same run; the figures to read are the ratios.
 *
 *   npm run bench:ratelimit -- [--concurrency 64] [--duration 10] [--users 1000] [--no-redis]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rls } from '@quorumkv/proto';
import { ServiceProcess, serviceEntry } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { freePort } from './free-port.js';
import { formatResults, runUnaryLoad, type LoadResult } from './load.js';
import { redisInstalled, startRedis } from './ratelimit-redis.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    users: { type: 'string', default: '1000' },
    'no-redis': { type: 'boolean', default: false },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const users = Number(values.users);
if (![concurrency, durationMs, users].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('bench:ratelimit: --concurrency, --duration (seconds) and --users take positive whole numbers\n');
  process.exit(2);
}
const log = (s: string): boolean => process.stdout.write(s + '\n');
const run = { concurrency, durationMs, warmupMs: 1_000 };
const LIMIT_PER_SECOND = 100;
const rlsPath = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

// One descriptor per request, `user` taking `users` values: each call is one decision.
const encoded: Buffer[] = Array.from({ length: users }, (_, u) =>
  Buffer.from(
    rls.RateLimitRequest.encode({
      domain: 'bench',
      descriptors: [{ entries: [{ key: 'user', value: `u${u}` }], limit: undefined, hitsAddend: undefined, isNegativeHits: false }],
      hitsAddend: 0,
    }).finish(),
  ),
);
const requestFor = (i: number): Buffer => encoded[i % users]!;

log(`rate limiter benchmark: ${concurrency} in flight, ${durationMs / 1000} s per target, ${users} keys at ${LIMIT_PER_SECOND}/s each, ${cpus().length} cores`);
const results: LoadResult[] = [];

// 1. The floor: a trivial grpc-js echo in its own process, sent the same request bytes.
const echo = await ServiceProcess.start({ name: 'echo', entry: new URL('./echo-server.js', import.meta.url).pathname, args: ['127.0.0.1:0'] });
try {
  results.push(await runUnaryLoad('echo (grpc-js floor)', { addresses: [echo.address], path: echoPath, request: requestFor }, run));
} finally {
  await echo.stop();
}

const rulesDir = mkdtempSync(join(tmpdir(), 'qkv-rl-bench-'));
writeFileSync(join(rulesDir, 'bench.yaml'), `domain: bench\ndescriptors:\n  - key: user\n    rate_limit: {unit: second, requests_per_unit: ${LIMIT_PER_SECOND}}\n`);

async function replicas(n: number): Promise<ServiceProcess[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const list = ports.map((p, i) => `rl-${i + 1}=127.0.0.1:${p}`).join(',');
  return Promise.all(
    ports.map((p, i) =>
      ServiceProcess.start({
        name: `rl-${i + 1}`,
        entry: serviceEntry('rate-limiter'),
        args: ['--rules', rulesDir, '--listen', `127.0.0.1:${p}`, '--id', `rl-${i + 1}`, ...(n > 1 ? ['--replicas', list] : [])],
      }),
    ),
  );
}

try {
  // 2. One replica: every key owned locally.
  const one = await replicas(1);
  try {
    results.push(await runUnaryLoad('rate limiter, 1 replica', { addresses: one.map((p) => p.address), path: rlsPath, request: requestFor }, run));
  } finally {
    await Promise.all(one.map((p) => p.stop()));
  }
  // 3. Three replicas: calls spread over all three; about 2/3 of decisions are forwarded.
  const three = await replicas(3);
  try {
    results.push(await runUnaryLoad('rate limiter, 3 replicas', { addresses: three.map((p) => p.address), path: rlsPath, request: requestFor }, run));
  } finally {
    await Promise.all(three.map((p) => p.stop()));
  }
} finally {
  rmSync(rulesDir, { recursive: true, force: true });
}

// 4. rate-limiter-flexible on Redis, behind the same RPC, when redis-server is installed.
if (!values['no-redis'] && redisInstalled()) {
  const redis = await startRedis();
  try {
    const server = await ServiceProcess.start({
      name: 'rlflex-redis',
      entry: new URL('./ratelimit-redis-server.js', import.meta.url).pathname,
      args: [String(redis.port), String(LIMIT_PER_SECOND), '1', '127.0.0.1:0'],
    });
    try {
      results.push(await runUnaryLoad('rate-limiter-flexible + Redis', { addresses: [server.address], path: rlsPath, request: requestFor }, run));
    } finally {
      await server.stop();
    }
  } finally {
    await redis.stop();
  }
} else if (values['no-redis']) {
  log('rate-limiter-flexible on Redis: skipped (--no-redis)');
} else {
  log('rate-limiter-flexible on Redis: not measured (needs /usr/bin/redis-server: install Debian redis-server)');
}

log('');
log(formatResults(results, 'echo (grpc-js floor)'));
const byLabel = (l: string): LoadResult | undefined => results.find((r) => r.label === l);
const floor = byLabel('echo (grpc-js floor)');
const r1 = byLabel('rate limiter, 1 replica');
const r3 = byLabel('rate limiter, 3 replicas');
const redisResult = byLabel('rate-limiter-flexible + Redis');
log('');
if (r1 && floor) log(`1 replica ÷ echo floor = ${(r1.opsPerSecond / floor.opsPerSecond).toFixed(2)} (target ≥ 0.60)`);
if (r1) log(`1 replica p99 = ${r1.p99Ms.toFixed(2)} ms at ${concurrency} in flight (target < 5 ms)`);
if (r3 && r1) log(`3 replicas ÷ 1 replica = ${(r3.opsPerSecond / r1.opsPerSecond).toFixed(2)}`);
if (r1 && redisResult) log(`1 replica ÷ rate-limiter-flexible + Redis = ${(r1.opsPerSecond / redisResult.opsPerSecond).toFixed(2)}`);
if (r3 && redisResult) log(`3 replicas ÷ rate-limiter-flexible + Redis = ${(r3.opsPerSecond / redisResult.opsPerSecond).toFixed(2)}`);
log(`(closed loop: mean latency ≈ in-flight ÷ throughput, so at ${concurrency} in flight a p99 under 5 ms needs more than ${Math.round(concurrency / 0.005)} calls/s from the client)`);
for (const r of results) if (r.errors > 0) log(`${r.label}: ${r.errors} errors, first: ${r.firstError}`);
