/**
 * `npm run bench:ratelimit`: decisions/s and p50/p99 of ShouldRateLimit over gRPC against one
 * rate-limiter replica and against three (requests spread over all three, keys forwarded to
 * their owners), next to the floor (a trivial grpc-js echo) and — when Debian's redis-server is
 * installed — rate-limiter-flexible on Redis behind the same RPC. Every target is driven by the
 * same closed-loop load generator in the same run; the figures to read are the ratios.
 *
 * Each target is measured in `--rounds` interleaved rounds and its median round is reported.
 *
 *   npm run bench:ratelimit -- [--concurrency 64] [--duration 5] [--rounds 3] [--users 1000] [--no-redis]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rls } from '@quorumkv/proto';
import { ServiceProcess, serviceEntry } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { freePort } from './free-port.js';
import { runCheckStreamLoad } from './check-stream-load.js';
import { formatResults, runUnaryLoad, type LoadResult } from './load.js';
import { redisInstalled, startRedis } from './ratelimit-redis.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    users: { type: 'string', default: '1000' },
    'no-redis': { type: 'boolean', default: false },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const users = Number(values.users);
const rounds = Number(values.rounds);
if (![concurrency, durationMs, users, rounds].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('bench:ratelimit: --concurrency, --duration (seconds), --users and --rounds take positive whole numbers\n');
  process.exit(2);
}
const log = (s: string): boolean => process.stdout.write(s + '\n');
const results: LoadResult[] = [];
/** Every round's result, by target. */
const byTarget = new Map<string, LoadResult[]>();

/** The round with the median throughput (its latencies come with it). */
function median(rs: readonly LoadResult[]): LoadResult {
  const sorted = [...rs].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
const run = { concurrency, durationMs, warmupMs: 1_000 };
const LIMIT_PER_SECOND = 100;
const rlsPath = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const ECHO = 'echo (grpc-js floor)';
const ONE = 'rate limiter, 1 replica';
const THREE = 'rate limiter, 3 replicas';
const REDIS = 'rate-limiter-flexible + Redis';
const STREAM = 'rate limiter, 1 replica, batched Check stream';

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
const decoded: rls.RateLimitRequest[] = encoded.map((b) => rls.RateLimitRequest.decode(b));

log(
  `rate limiter benchmark: ${concurrency} in flight, ${durationMs / 1000} s per target per round, ${rounds} rounds, ` +
    `${users} keys at ${LIMIT_PER_SECOND}/s each, ${cpus().length} cores`,
);

/** A target to drive: where to call, and how to stop what was started for it. */
interface Target {
  readonly label: string;
  readonly addresses: string[];
  readonly path: string;
  stop(): Promise<void>;
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

const stopAll = (ps: ServiceProcess[]) => async (): Promise<void> => {
  await Promise.all(ps.map((p) => p.stop()));
};

// Every target is started up front and idles while the others are measured; the rounds then
// interleave them, so a burst of load from elsewhere on the machine hits every target alike.
const targets: Target[] = [];
try {
  // 1. The floor: a trivial grpc-js echo in its own process, sent the same request bytes.
  const echo = await ServiceProcess.start({ name: 'echo', entry: new URL('./echo-server.js', import.meta.url).pathname, args: ['127.0.0.1:0'] });
  targets.push({ label: ECHO, addresses: [echo.address], path: echoPath, stop: stopAll([echo]) });
  // 2. One replica: every key owned locally.
  const one = await replicas(1);
  targets.push({ label: ONE, addresses: one.map((p) => p.address), path: rlsPath, stop: stopAll(one) });
  // 3. Three replicas: calls spread over all three; about 2/3 of decisions are forwarded.
  const three = await replicas(3);
  targets.push({ label: THREE, addresses: three.map((p) => p.address), path: rlsPath, stop: stopAll(three) });
  // 4. rate-limiter-flexible on Redis, behind the same RPC, when redis-server is installed.
  if (!values['no-redis'] && redisInstalled()) {
    const redis = await startRedis();
    try {
      const server = await ServiceProcess.start({
        name: 'rlflex-redis',
        entry: new URL('./ratelimit-redis-server.js', import.meta.url).pathname,
        args: [String(redis.port), String(LIMIT_PER_SECOND), '1', '127.0.0.1:0'],
      });
      targets.push({
        label: REDIS,
        addresses: [server.address],
        path: rlsPath,
        stop: async () => {
          await server.stop();
          await redis.stop();
        },
      });
    } catch (err) {
      await redis.stop();
      throw err;
    }
  } else if (values['no-redis']) {
    log('rate-limiter-flexible on Redis: skipped (--no-redis)');
  } else {
    log('rate-limiter-flexible on Redis: not measured (needs /usr/bin/redis-server: install Debian redis-server)');
  }

  for (const t of targets) byTarget.set(t.label, []);
  byTarget.set(STREAM, []);
  const logRound = (r: number, res: LoadResult): void => {
    log(`round ${r + 1}: ${res.label.padEnd(30)} ${res.opsPerSecond.toFixed(0).padStart(6)} ops/s  p50 ${res.p50Ms.toFixed(2)} ms  p99 ${res.p99Ms.toFixed(2)} ms`);
  };
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const res = await runUnaryLoad(t.label, { addresses: t.addresses, path: t.path, request: requestFor }, run);
      byTarget.get(t.label)!.push(res);
      logRound(r, res);
    }
    // The same decisions over the batched Check stream quorumkv's coordinator uses.
    const res = await runCheckStreamLoad(STREAM, one[0]!.address, (i) => decoded[i % users]!, run);
    byTarget.get(STREAM)!.push(res);
    logRound(r, res);
  }
  for (const t of targets) results.push(median(byTarget.get(t.label)!));
  results.push(median(byTarget.get(STREAM)!));
} finally {
  await Promise.all(targets.map((t) => t.stop()));
  rmSync(rulesDir, { recursive: true, force: true });
}

log('');
log(`median of ${rounds} rounds:`);
log(formatResults(results, ECHO));
/**
 * Logs a ratio taken within each round (its two targets ran seconds apart, under the same
 * outside load) and its median over the rounds: steadier than a ratio of two medians.
 */
function reportRatio(what: string, a: string, b: string, target = ''): void {
  const ra = byTarget.get(a);
  const rb = byTarget.get(b);
  if (!ra || !rb || ra.length === 0) return;
  const per = ra.map((x, i) => x.opsPerSecond / rb[i]!.opsPerSecond);
  const med = [...per].sort((p, q) => p - q)[Math.floor((per.length - 1) / 2)]!;
  log(`${what} = ${med.toFixed(2)}${target}   (per round: ${per.map((r) => r.toFixed(2)).join(', ')})`);
}
log('');
reportRatio('1 replica ÷ echo floor', ONE, ECHO, ' (target ≥ 0.60)');
reportRatio('3 replicas ÷ 1 replica', THREE, ONE);
reportRatio('1 replica ÷ rate-limiter-flexible + Redis', ONE, REDIS);
reportRatio('3 replicas ÷ rate-limiter-flexible + Redis', THREE, REDIS);
const r1 = results.find((r) => r.label === ONE);
if (r1) log(`1 replica p99 = ${r1.p99Ms.toFixed(2)} ms at ${concurrency} in flight (target < 5 ms)`);
const rs = results.find((r) => r.label === STREAM);
if (rs) log(`1 replica over the batched Check stream: p99 = ${rs.p99Ms.toFixed(2)} ms at ${concurrency} in flight, ${rs.opsPerSecond.toFixed(0)} decisions/s`);
log(`(closed loop: mean latency ≈ in-flight ÷ throughput, so at ${concurrency} in flight a p99 under 5 ms needs more than ${Math.round(concurrency / 0.005)} calls/s from the client)`);
for (const r of [...byTarget.values()].flat()) if (r.errors > 0) log(`${r.label}: ${r.errors} errors, first: ${r.firstError}`);
