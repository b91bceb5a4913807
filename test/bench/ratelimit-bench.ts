/**
 * `npm run bench:ratelimit`: decisions/s and p50/p99 of ShouldRateLimit over gRPC against one
 * rate-limiter replica and against three (requests spread over all three, keys forwarded to
 * their owners), next to the floor (a trivial grpc-js echo) and — when Debian's redis-server is
 * installed — rate-limiter-flexible on Redis behind the same RPC. The figures to read are the
 * ratios between targets driven by the same client in the same run.
 *
 * Two clients drive the targets:
 * - grpc-js, closed loop in this process: a Node client, which tops out below what the servers
 *   can answer, so it mostly measures itself;
 * - h2load (C, nghttp2, Debian's nghttp2-client; `--client h2load|both`): closer to Envoy, the
 *   real caller, so it measures the servers. It also drives a second floor, the same echo on
 *   bare `node:http2`. It sends one body per process, so its descriptor has a limit it never
 *   reaches; one grpc-js call with the same bytes checks the answer before every h2load run.
 *
 * Every target is started once, measured in `--rounds` interleaved rounds, and its median round
 * is reported.
 *
 *   npm run bench:ratelimit -- --help
 */
import { cpus } from 'node:os';
import { rls } from '@quorumkv/proto';
import { BenchProgress, formatEstimate, readBenchArgs } from './bench-cli.js';
import { runCheckStreamLoad } from './check-stream-load.js';
import { h2loadInstalled } from './h2load.js';
import { formatResults, runUnaryLoad, type LoadResult } from './load.js';
import { RATELIMIT_WARMUP_MS, ratelimitBenchCommand, ratelimitPlan } from './ratelimit-bench-plan.js';
import { measuredByH2Load, measureWithH2Load, pickForwardedKeys } from './ratelimit-h2load.js';
import { redisInstalled } from './ratelimit-redis.js';
import {
  benchRequest,
  ECHO,
  H2LOAD_LIMIT_PER_SECOND,
  HTTP2_ECHO,
  ONE,
  REDIS,
  startTargets,
  STREAM,
  THREE,
  USER_KEY,
  USER_LIMIT_PER_SECOND,
} from './ratelimit-targets.js';
import { formatRatio, Rounds } from './rounds.js';

const args = readBenchArgs(ratelimitBenchCommand);
function fail(why: string): never {
  process.stderr.write(`bench:ratelimit: ${why}\n`);
  process.exit(2);
}
const concurrency = args.int('concurrency');
const durationMs = args.int('duration') * 1000;
const users = args.int('users');
const rounds = args.int('rounds');
const settleMs = args.int('settle') * 1000;
/**
 * A quiet pause before each measurement: a Node process that has just stopped taking load runs
 * its idle-time full GCs in the next seconds, on the same 2 cores as the next target.
 */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, settleMs));
const h2loadFound = h2loadInstalled();
const client = args.string('client') ?? (h2loadFound ? 'both' : 'grpc-js');
const useGrpcJs = client !== 'h2load';
const useH2Load = client !== 'grpc-js';
if (useH2Load && !h2loadFound) fail(`--client ${client} needs h2load, which was not found: bash scripts/install-deps.sh installs it (Debian nghttp2-client)`);

const log = (s: string): boolean => process.stdout.write(s + '\n');
const run = { concurrency, durationMs, warmupMs: RATELIMIT_WARMUP_MS };
const withRedis = !args.flag('no-redis') && redisInstalled();
const plan = ratelimitPlan({ duration: durationMs / 1000, rounds, settle: settleMs / 1000, grpcJs: useGrpcJs, h2load: useH2Load, redis: withRedis });

// One descriptor per request, `user` taking `users` values: each call is one decision.
const encoded: Buffer[] = Array.from({ length: users }, (_, u) => benchRequest(USER_KEY, `u${u}`));
const requestFor = (i: number): Buffer => encoded[i % users]!;
const decoded: rls.RateLimitRequest[] = encoded.map((b) => rls.RateLimitRequest.decode(b));

log(
  `rate limiter benchmark: ${concurrency} in flight, ${durationMs / 1000} s per target per round, ${rounds} rounds, ${cpus().length} cores; ` +
    `clients: ${[useGrpcJs ? 'grpc-js' : '', useH2Load ? 'h2load' : ''].filter((c) => c !== '').join(' and ')}`,
);
log(`takes ${formatEstimate(plan)}`);
if (args.flag('dry-run')) process.exit(0);
if (!h2loadFound) log('h2load not found: measuring with the grpc-js client only (bash scripts/install-deps.sh installs it: Debian nghttp2-client)');
if (useGrpcJs) log(`grpc-js client: ${users} keys at ${USER_LIMIT_PER_SECOND}/s each`);
if (useH2Load) log(`h2load client: one key per h2load process at ${H2LOAD_LIMIT_PER_SECOND}/s (never reached: every call is a counted decision that answers OK)`);

const grpcJsRounds = new Rounds();
const h2loadRounds = new Rounds();
const progress = new BenchProgress(plan);
const logRound = (client: string, r: number, res: LoadResult): void => {
  progress.log(`round ${r + 1} ${client.padEnd(7)} ${res.label.padEnd(45)} ${res.opsPerSecond.toFixed(0).padStart(6)} ops/s  p50 ${res.p50Ms.toFixed(2)} ms  p99 ${res.p99Ms.toFixed(2)} ms`);
};

// Every target is started up front and idles while the others are measured; the rounds then
// interleave them, so a burst of load from elsewhere on the machine hits every target alike.
const bench = await startTargets({ h2load: useH2Load, redis: !args.flag('no-redis'), log });
try {
  // h2load sends one key per process: pick them so that 2 of 3 decisions are forwarded, as
  // with uniform traffic over three replicas.
  const targets = [...bench.targets];
  const threeAt = targets.findIndex((t) => t.label === THREE);
  const three = targets[threeAt];
  if (three && measuredByH2Load(three)) {
    const picked = await pickForwardedKeys(three, 2);
    targets[threeAt] = picked.target;
    log(picked.report);
  }
  for (let r = 0; r < rounds; r++) {
    if (useGrpcJs) {
      for (const t of targets) {
        if (!t.grpcJs) continue;
        progress.step(r, `${t.label} (grpc-js)`);
        await settle();
        const res = await runUnaryLoad(t.label, { addresses: t.grpcJs.addresses, path: t.path, request: requestFor }, run);
        grpcJsRounds.add(res);
        logRound('grpc-js', r, res);
      }
      // The same decisions over the batched Check stream quorumkv's coordinator uses.
      progress.step(r, `${STREAM} (grpc-js)`);
      await settle();
      const res = await runCheckStreamLoad(STREAM, bench.oneReplica, (i) => decoded[i % users]!, run);
      grpcJsRounds.add(res);
      logRound('grpc-js', r, res);
    }
    if (useH2Load) {
      for (const t of targets.filter(measuredByH2Load)) {
        progress.step(r, `${t.label} (h2load)`);
        await settle();
        const res = await measureWithH2Load(t, run);
        h2loadRounds.add(res);
        logRound('h2load', r, res);
      }
    }
  }
} finally {
  progress.finish();
  await bench.stop();
}

const say = (line: string | undefined): void => {
  if (line !== undefined) log(line);
};
/** The ratios both clients report, `client` naming which one in each line. */
const sayRatios = (rs: Rounds, client: string): void => {
  say(formatRatio(`1 replica ÷ grpc-js echo${client}`, rs.ratio(ONE, ECHO), ' (target ≥ 0.60)'));
  say(formatRatio(`3 replicas ÷ 1 replica${client}`, rs.ratio(THREE, ONE)));
  say(formatRatio(`1 replica ÷ rate-limiter-flexible + Redis${client}`, rs.ratio(ONE, REDIS)));
  say(formatRatio(`3 replicas ÷ rate-limiter-flexible + Redis${client}`, rs.ratio(THREE, REDIS)));
};
const closedLoop = `(closed loop: mean latency ≈ in-flight ÷ throughput, so at ${concurrency} in flight a p99 under 5 ms needs more than ${Math.round(concurrency / 0.005)} calls/s from the client)`;

if (useGrpcJs) {
  const medians = grpcJsRounds.medians();
  log('');
  log(`grpc-js client (Node, closed loop in the bench process), median of ${rounds} rounds:`);
  log(formatResults(medians, ECHO));
  log('');
  sayRatios(grpcJsRounds, '');
  const r1 = grpcJsRounds.median(ONE);
  const echo = grpcJsRounds.median(ECHO);
  if (r1) {
    log(
      `1 replica p99 = ${r1.p99Ms.toFixed(2)} ms at ${concurrency} in flight — bound by this Node client (its echo floor's p99: ${echo?.p99Ms.toFixed(2) ?? '-'} ms); ` +
        `the p99 target (< 5 ms) is read with ${useH2Load ? 'h2load below' : 'h2load (--client h2load)'}`,
    );
  }
  const rs = grpcJsRounds.median(STREAM);
  if (rs) log(`1 replica over the batched Check stream: p99 = ${rs.p99Ms.toFixed(2)} ms at ${concurrency} in flight, ${rs.opsPerSecond.toFixed(0)} decisions/s`);
  log(closedLoop);
}

if (useH2Load) {
  const medians = h2loadRounds.medians();
  log('');
  log(`h2load client (C, nghttp2; one connection per address, ${concurrency} streams in flight in all), median of ${rounds} rounds:`);
  log(formatResults(medians, ECHO));
  log('');
  sayRatios(h2loadRounds, ' (h2load)');
  say(formatRatio('1 replica ÷ node:http2 echo (h2load)', h2loadRounds.ratio(ONE, HTTP2_ECHO)));
  say(formatRatio('grpc-js echo ÷ node:http2 echo (h2load)', h2loadRounds.ratio(ECHO, HTTP2_ECHO)));
  const p99 = (label: string): string => h2loadRounds.median(label)?.p99Ms.toFixed(2) ?? '-';
  log(`1 replica p99 at ${concurrency} in flight, h2load client = ${p99(ONE)} ms (target < 5 ms)`);
  log(`floors' p99 at ${concurrency} in flight, h2load client: grpc-js echo ${p99(ECHO)} ms, node:http2 echo ${p99(HTTP2_ECHO)} ms`);
  log(closedLoop);
}

for (const [client, rs] of [['grpc-js', grpcJsRounds], ['h2load', h2loadRounds]] as const) {
  for (const r of rs.all()) if (r.errors > 0) log(`${r.label} (${client}): ${r.errors} errors, first: ${r.firstError}`);
}
