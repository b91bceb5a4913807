/**
 * What `npm run bench:ratelimit` measures: the rules it loads, the requests that match them, and
 * the target processes (floors, 1 and 3 rate-limiter replicas, rate-limiter-flexible on Redis),
 * each started once up front and stopped at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rls } from '@quorumkv/proto';
import { ServiceProcess, serviceEntry, serviceNodeArgs } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { freePort } from './free-port.js';
import { redisInstalled, startRedis } from './ratelimit-redis.js';

export const ECHO = 'echo (grpc-js floor)';
export const HTTP2_ECHO = 'echo (node:http2 floor)';
export const ONE = 'rate limiter, 1 replica';
export const THREE = 'rate limiter, 3 replicas';
export const REDIS = 'rate-limiter-flexible + Redis';
export const STREAM = 'rate limiter, 1 replica, batched Check stream';

export const rlsPath = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const DOMAIN = 'bench';
/** The grpc-js client's descriptor: `user` with many values, each under its limit. */
export const USER_KEY = 'user';
export const USER_LIMIT_PER_SECOND = 100;
/**
 * h2load sends one body over and over, so its descriptor has a limit it never reaches: every
 * call is a real, counted decision that answers OK, as in the grpc-js run.
 */
export const H2LOAD_KEY = 'h2load';
export const H2LOAD_LIMIT_PER_SECOND = 1_000_000_000;

/** A ShouldRateLimit request in the bench domain with one descriptor `{key: value}`. */
export function benchRequest(key: string, value: string): Buffer {
  const descriptor = { entries: [{ key, value }], limit: undefined, hitsAddend: undefined, isNegativeHits: false };
  return Buffer.from(rls.RateLimitRequest.encode({ domain: DOMAIN, descriptors: [descriptor], hitsAddend: 0 }).finish());
}

/** What h2load drives on a target: one process per address, each sending its own message. */
export interface H2LoadPlan {
  readonly addresses: readonly string[];
  /** The descriptor value each process sends (for the forwarding report). */
  readonly keys: readonly string[];
  /** The unframed request message each process sends. */
  readonly messages: readonly Buffer[];
  /** What is wrong with `response` as the answer to `messages[i]`, or undefined when it is right. */
  check(response: Buffer, i: number): string | undefined;
}

/** One thing to measure. */
export interface Target {
  readonly label: string;
  readonly path: string;
  /** Addresses the grpc-js client spreads its calls over; absent when only h2load measures it. */
  readonly grpcJs?: { readonly addresses: readonly string[] };
  /** Absent when h2load is not used. */
  readonly h2load?: H2LoadPlan;
}

/** The started targets, in measuring order, and how to stop them all. */
export interface BenchTargets {
  readonly targets: readonly Target[];
  /** The 1-replica rate limiter's address (for the batched Check stream). */
  readonly oneReplica: string;
  /** Stops every process and removes the rules folder. */
  stop(): Promise<void>;
}

export interface TargetOptions {
  readonly h2load: boolean;
  readonly redis: boolean;
  /** For lines such as "Redis not measured". */
  readonly log: (line: string) => void;
}

const echoes = (message: Buffer) => (response: Buffer): string | undefined =>
  response.equals(message) ? undefined : `echoed ${response.length} bytes that differ from the ${message.length} sent`;

/** A problem with a ShouldRateLimit answer, unless it is OK under the h2load descriptor's rule. */
function decidedOk(response: Buffer): string | undefined {
  const res = rls.RateLimitResponse.decode(response);
  const s = res.statuses[0];
  if (res.overallCode !== rls.RateLimitResponse_Code.OK || s?.code !== rls.RateLimitResponse_Code.OK) return `answered ${rls.RateLimitResponse_Code[res.overallCode]}, not OK`;
  // A descriptor that matches no rule also answers OK, without a limit: that is not a decision.
  if (s.currentLimit?.requestsPerUnit !== H2LOAD_LIMIT_PER_SECOND) return `no decision under the ${H2LOAD_KEY} rule (current_limit ${JSON.stringify(s.currentLimit?.requestsPerUnit)})`;
  return undefined;
}

function plan(addresses: readonly string[], check: 'echo' | 'decision'): H2LoadPlan {
  const keys = addresses.map((_, i) => `u${i}`);
  const messages = keys.map((k) => benchRequest(H2LOAD_KEY, k));
  return { addresses, keys, messages, check: (res, i) => (check === 'echo' ? echoes(messages[i]!)(res) : decidedOk(res)) };
}

const stopAll = (ps: readonly ServiceProcess[]) => async (): Promise<void> => {
  await Promise.all(ps.map((p) => p.stop()));
};

const benchFile = (name: string): string => new URL(`./${name}`, import.meta.url).pathname;

async function replicas(n: number, rulesDir: string): Promise<ServiceProcess[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const list = ports.map((p, i) => `rl-${i + 1}=127.0.0.1:${p}`).join(',');
  const started = await Promise.allSettled(
    ports.map((p, i) =>
      ServiceProcess.start({
        name: `rl-${i + 1}`,
        entry: serviceEntry('rate-limiter'),
        nodeArgs: serviceNodeArgs('rate-limiter'),
        args: ['--rules', rulesDir, '--listen', `127.0.0.1:${p}`, '--id', `rl-${i + 1}`, ...(n > 1 ? ['--replicas', list] : [])],
      }),
    ),
  );
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stopAll(up)();
    throw failed.reason;
  }
  return up;
}

/**
 * Starts every target (the grpc-js echo, the node:http2 echo when h2load is used, 1 and 3
 * replicas, Redis when asked and installed) and a rules folder for the replicas. On failure
 * everything started so far is stopped before the error is rethrown.
 */
export async function startTargets(options: TargetOptions): Promise<BenchTargets> {
  const targets: Target[] = [];
  const started: ServiceProcess[] = [];
  const rulesDir = mkdtempSync(join(tmpdir(), 'qkv-rl-bench-'));
  let redisStop: (() => Promise<void>) | undefined;
  const stop = async (): Promise<void> => {
    await stopAll(started)();
    await redisStop?.();
    rmSync(rulesDir, { recursive: true, force: true });
  };
  const start = async (name: string, file: string): Promise<string> => {
    const p = await ServiceProcess.start({ name, entry: benchFile(file), args: ['127.0.0.1:0'] });
    started.push(p);
    return p.address;
  };
  writeFileSync(
    join(rulesDir, 'bench.yaml'),
    `domain: ${DOMAIN}\ndescriptors:\n` +
      `  - key: ${USER_KEY}\n    rate_limit: {unit: second, requests_per_unit: ${USER_LIMIT_PER_SECOND}}\n` +
      `  - key: ${H2LOAD_KEY}\n    rate_limit: {unit: second, requests_per_unit: ${H2LOAD_LIMIT_PER_SECOND}}\n`,
  );
  const h2 = (addresses: readonly string[], check: 'echo' | 'decision'): { h2load?: H2LoadPlan } => (options.h2load ? { h2load: plan(addresses, check) } : {});
  try {
    // The floors: a trivial echo in its own process, sent the same request bytes.
    const echo = await start('echo', 'echo-server.js');
    targets.push({ label: ECHO, path: echoPath, grpcJs: { addresses: [echo] }, ...h2([echo], 'echo') });
    if (options.h2load) {
      const bare = await start('http2-echo', 'http2-echo-server.js');
      targets.push({ label: HTTP2_ECHO, path: echoPath, ...h2([bare], 'echo') });
    }
    // One replica: every key owned locally.
    const one = await replicas(1, rulesDir);
    started.push(...one);
    const oneAddresses = one.map((p) => p.address);
    targets.push({ label: ONE, path: rlsPath, grpcJs: { addresses: oneAddresses }, ...h2(oneAddresses, 'decision') });
    // Three replicas: calls spread over all three; keys owned elsewhere are forwarded.
    const three = await replicas(3, rulesDir);
    started.push(...three);
    const threeAddresses = three.map((p) => p.address);
    targets.push({ label: THREE, path: rlsPath, grpcJs: { addresses: threeAddresses }, ...h2(threeAddresses, 'decision') });
    if (options.redis && redisInstalled()) {
      const redis = await startRedisTarget(options.h2load);
      redisStop = redis.stop;
      targets.push(redis.target);
    } else if (!options.redis) options.log('rate-limiter-flexible on Redis: skipped (--no-redis)');
    else options.log('rate-limiter-flexible on Redis: not measured (needs /usr/bin/redis-server: install Debian redis-server)');
    return { targets, oneReplica: oneAddresses[0]!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * rate-limiter-flexible on Redis behind the same RPC. Its server takes one limit for every key,
 * so h2load gets a second server (same Redis) whose limit it never reaches.
 */
async function startRedisTarget(withH2Load: boolean): Promise<{ target: Target; stop: () => Promise<void> }> {
  const redis = await startRedis();
  const servers: ServiceProcess[] = [];
  const serve = async (name: string, limit: number): Promise<string> => {
    const s = await ServiceProcess.start({ name, entry: benchFile('ratelimit-redis-server.js'), args: [String(redis.port), String(limit), '1', '127.0.0.1:0'] });
    servers.push(s);
    return s.address;
  };
  const stop = async (): Promise<void> => {
    await stopAll(servers)();
    await redis.stop();
  };
  try {
    const address = await serve('rlflex-redis', USER_LIMIT_PER_SECOND);
    const h2Address = withH2Load ? await serve('rlflex-redis-h2load', H2LOAD_LIMIT_PER_SECOND) : undefined;
    return { target: { label: REDIS, path: rlsPath, grpcJs: { addresses: [address] }, ...(h2Address ? { h2load: plan([h2Address], 'decision') } : {}) }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
