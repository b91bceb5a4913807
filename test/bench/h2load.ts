/**
 * h2load (nghttp2's C HTTP/2 load generator, Debian's `nghttp2-client`) as a load generator for
 * the benchmarks. A Node gRPC client tops out well below what a Node server can answer, so it
 * measures itself; h2load is a C client on the codec Envoy used for years, so what it measures
 * is the server. It cannot read gRPC trailers (grpc-status): callers check one call's answer
 * through grpc-js before each run.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { percentile, type LoadResult } from './load.js';
import { parseH2LoadLog, parseH2LoadSummary, type H2LoadSummary } from './h2load-output.js';

/** Where Debian's nghttp2-client puts h2load. */
export const h2loadPath = '/usr/bin/h2load';

/** How long past its own duration an h2load process may run before it is killed. */
const OVERRUN_MS = 30_000;

/** The h2load binary: /usr/bin/h2load, else the first on PATH; undefined when there is none. */
export function findH2Load(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const candidate of [h2loadPath, ...dirs.map((d) => join(d, 'h2load'))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: try the next place
    }
  }
  return undefined;
}

/** True when h2load can be run (see {@link findH2Load}). */
export function h2loadInstalled(): boolean {
  return findH2Load() !== undefined;
}

/** A gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length, the bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** `total` split over `parts` as evenly as possible, larger shares first (64 over 3 → 22, 21, 21). */
export function splitConcurrency(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** What one h2load measurement drives. */
export interface H2LoadOptions {
  /** `host:port` addresses; one h2load process (one HTTP/2 connection) per address, in parallel. */
  readonly addresses: readonly string[];
  /** Full method path, `/package.Service/Method`. */
  readonly path: string;
  /** The gRPC-framed request body sent by the process calling `addresses[i]`, every time. */
  readonly body: (addressIndex: number) => Buffer;
  /** Streams in flight over all processes, split as evenly as possible. */
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** h2load exited badly, was killed for overrunning, or printed no summary. */
export class H2LoadRunError extends Error {
  override readonly name = 'H2LoadRunError';
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly output: string,
  ) {
    super(`h2load against ${address}: ${reason}${output ? `\n--- h2load output ---\n${output}` : ''}`);
  }
}

/**
 * Drives `options.path` closed-loop with h2load and reports it as a {@link LoadResult}:
 * throughput is the sum of each process's own "req/s" (measured over its main duration, after
 * warm-up); p50/p99 come from the merged per-request logs, warm-up requests left out.
 * @throws H2LoadRunError when h2load is missing, fails, or overruns its duration by 30 s.
 */
export async function runH2Load(label: string, options: H2LoadOptions): Promise<LoadResult> {
  const bin = findH2Load();
  if (bin === undefined) throw new H2LoadRunError(options.addresses.join(','), 'h2load not found (bash scripts/install-deps.sh installs nghttp2-client)', '');
  const shares = splitConcurrency(options.concurrency, options.addresses.length);
  const dir = mkdtempSync(join(tmpdir(), 'qkv-h2load-'));
  try {
    // Why the cutoff is the spawn time plus warm-up: h2load's main phase starts after it has
    // connected and warmed up, so a request that started before this instant is surely a
    // warm-up request (h2load 1.52 logs none of those; other versions log them all).
    const notBeforeUs = Date.now() * 1000 + options.warmupMs * 1000;
    const runs = options.addresses.map((address, i) => {
      const share = shares[i]!;
      return share > 0 ? runOne(bin, dir, i, address, share, options) : Promise.resolve(undefined);
    });
    // Every process is waited for, even when one fails, so none outlives the temp folder.
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const done = settled.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
    const latencies = done.flatMap((r) => parseH2LoadLog(r.log, notBeforeUs));
    const sorted = Float64Array.from(latencies).sort();
    const sum = (f: (s: H2LoadSummary) => number): number => done.reduce((acc, r) => acc + f(r.summary), 0);
    // h2load's "failed" already counts errored requests, timeouts and 4xx/5xx; it counts 3xx
    // as success, which a gRPC server never answers.
    const errors = sum((s) => s.failed + s.status3xx);
    const problems = done.filter((r) => r.summary.failed + r.summary.status3xx > 0).map((r) => `${r.address}: ${describeFailures(r.summary)}`);
    return {
      label,
      ops: sum((s) => s.status2xx),
      errors,
      ...(problems.length > 0 ? { firstError: problems.join('; ') } : {}),
      seconds: options.durationMs / 1000,
      opsPerSecond: sum((s) => s.requestsPerSecond),
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describeFailures(s: H2LoadSummary): string {
  return `${s.failed} failed (${s.errored} errored, ${s.timeout} timeout), status ${s.status3xx} 3xx ${s.status4xx} 4xx ${s.status5xx} 5xx`;
}

interface OneRun {
  readonly address: string;
  readonly summary: H2LoadSummary;
  readonly log: string;
}

async function runOne(bin: string, dir: string, i: number, address: string, streams: number, options: H2LoadOptions): Promise<OneRun> {
  const bodyFile = join(dir, `body-${i}.bin`);
  const logFile = join(dir, `requests-${i}.log`);
  writeFileSync(bodyFile, options.body(i));
  const args = [
    ...['-D', `${options.durationMs}ms`],
    ...(options.warmupMs > 0 ? ['--warm-up-time', `${options.warmupMs}ms`] : []),
    ...['-c', '1', '-m', String(streams), '-t', '1', '-d', bodyFile],
    ...['-H', 'content-type: application/grpc', '-H', 'te: trailers'],
    // A fresh file per process: --log-file appends.
    `--log-file=${logFile}`,
    `http://${address}${options.path}`,
  ];
  const { code, signal, output, overran } = await spawnBounded(bin, args, options.durationMs + options.warmupMs + OVERRUN_MS);
  if (overran) throw new H2LoadRunError(address, `still running ${OVERRUN_MS / 1000} s after its duration; killed`, output);
  if (code !== 0) throw new H2LoadRunError(address, `exited with ${signal ?? `code ${code}`}`, output);
  const summary = parseH2LoadSummary(output);
  if (summary === undefined) throw new H2LoadRunError(address, 'printed no "finished in …" summary', output);
  return { address, summary, log: readFileSync(logFile, 'utf8') };
}

function spawnBounded(
  bin: string,
  args: readonly string[],
  limitMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; overran: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    let overran = false;
    const timer = setTimeout(() => {
      overran = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: Buffer.concat(chunks).toString('utf8'), overran });
    });
  });
}
