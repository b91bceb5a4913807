/**
 * Drives the key-value benchmark's load generators outside Node: `grpc-load` (C over nghttp2,
 * built here from grpc-load.c) and the Python gRPC C-core worker (kv_load.py, Debian's
 * python3-grpcio). Both take the same flags, connect, print `ready`, wait for a line on stdin,
 * run a warm-up and a measured window, and print one JSON result; this module starts their
 * processes, releases them together, counts the servers' CPU over the same window, and merges
 * the processes' results into one {@link LoadResult}.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';
import type { KeyedRequest } from './keyed-request.js';
import type { LoadResult } from './load.js';
import { startCpuMeter, type CpuGroup } from './process-cpu.js';

/** A load generator program and how many processes of it share the calls in flight. */
export interface LoadGenerator {
  readonly name: string;
  /** One line for the report: what it is and how it is run. */
  readonly description: string;
  readonly processes: number;
  readonly command: string;
  readonly args: readonly string[];
  /** Whether it can dial a TLS target (`--tls-dir`). */
  readonly tls: boolean;
}

// From the repository root, so the compiled benchmark and tests run from source find the same files.
const source = join(repoRoot, 'test', 'bench', 'grpc-load.c');
const binary = join(repoRoot, 'test', 'dist', 'bench', 'grpc-load');
const pythonWorker = join(repoRoot, 'test', 'bench', 'kv_load.py');

/** A generator could not be built or started; the message says what to install. */
export class LoadGeneratorError extends Error {
  override readonly name = 'LoadGeneratorError';
}

/**
 * Builds `grpc-load` next to this module when it is missing or older than its source.
 * @throws LoadGeneratorError when the C compiler or nghttp2's headers are missing.
 */
export function buildGrpcLoad(): LoadGenerator {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(join(binary, '..'), { recursive: true });
    // Built under a name of its own and renamed: two benchmarks or tests starting at once never
    // run a half-written binary.
    const building = `${binary}.${process.pid}`;
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-o', building, source, '-lnghttp2'], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) {
      throw new LoadGeneratorError(
        `cannot build the load generator (${source}): ${cc.error?.message ?? cc.stderr.trim().split('\n').slice(0, 3).join(' ')}; ` +
          'it needs a C compiler and nghttp2 headers: bash scripts/install-deps.sh installs them (Debian gcc, libnghttp2-dev)',
      );
    }
    renameSync(building, binary);
  }
  return {
    name: 'grpc-load',
    description: 'grpc-load (C, nghttp2; test/bench/grpc-load.c), 1 process',
    processes: 1,
    command: binary,
    args: [],
    // Plain HTTP/2 (h2c) only: nghttp2 does no TLS itself, and grpc-load.c does not add OpenSSL.
    tls: false,
  };
}

/**
 * The Python gRPC C-core worker, `processes` of them (a grpc.aio process spends most of a core
 * at a few thousand calls/s).
 * @throws LoadGeneratorError when Debian's python3-grpcio is missing.
 */
export function pythonGenerator(processes = 2): LoadGenerator {
  const check = spawnSync('/usr/bin/python3', ['-c', 'import grpc'], { encoding: 'utf8' });
  if (check.error || check.status !== 0) {
    throw new LoadGeneratorError('the Python generator needs /usr/bin/python3 with grpc: bash scripts/install-deps.sh installs it (Debian python3-grpcio)');
  }
  return {
    name: 'python grpc.aio',
    description: `Python grpc.aio (gRPC C-core, Debian python3-grpcio; test/bench/kv_load.py), ${processes} processes`,
    processes,
    command: '/usr/bin/python3',
    args: [pythonWorker],
    tls: true,
  };
}

/** One measured run of a generator against a target. */
export interface GeneratorRun {
  readonly addresses: readonly string[];
  readonly path: string;
  readonly request: KeyedRequest;
  /** Call i (over all processes) uses key number firstKey + i, modulo `modulo` when given. */
  readonly firstKey: number;
  readonly modulo?: number;
  readonly concurrency: number;
  /** Connections per address, per process. */
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly timeoutMs?: number;
  /** Mutual TLS with the files in this folder (ca.pem, client.pem, client-key.pem); generators with `tls` only. */
  readonly tlsDir?: string;
  /** Processes (servers) whose CPU is counted over the measured window. */
  readonly cpu: readonly CpuGroup[];
}

/** A run's result: the load, the keys it used, and CPU over the measured window. */
export interface GeneratorResult extends LoadResult {
  /** Calls started, warm-up included. */
  readonly issued: number;
  /** Keys firstKey … firstKey + contiguousKeys − 1 were all sent (and answered or failed). */
  readonly contiguousKeys: number;
  /** CPU milliseconds of each {@link GeneratorRun.cpu} group over the window. */
  readonly cpuMs: ReadonlyMap<string, number>;
  /** The generator's own CPU milliseconds over the window, every process. */
  readonly generatorCpuMs: number;
}

interface WorkerResult {
  readonly issued: number;
  readonly ops: number;
  readonly errors: number;
  readonly first_error: string | null;
  readonly seconds: number;
  readonly cpu_seconds: number;
  readonly hist: readonly (readonly [number, number])[];
}

/** Splits `total` into `parts` shares as even as possible, larger first. */
function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

function workerArgs(g: LoadGenerator, run: GeneratorRun, w: number, concurrency: number): string[] {
  return [
    ...g.args,
    ...run.addresses.flatMap((a) => ['--address', a]),
    ...['--path', run.path, '--prefix', run.request.prefix.toString('hex'), '--suffix', run.request.suffix.toString('hex')],
    ...['--width', String(run.request.width), '--first-key', String(run.firstKey)],
    // Process w of P takes calls w, w + P, w + 2P…: together they use keys firstKey, firstKey + 1…
    ...['--stride', String(g.processes), '--offset', String(w), '--modulo', String(run.modulo ?? 0)],
    ...['--concurrency', String(concurrency), '--connections', String(run.connections)],
    ...['--warmup-ms', String(run.warmupMs), '--duration-ms', String(run.durationMs), '--timeout-ms', String(run.timeoutMs ?? 5_000)],
    ...(run.tlsDir === undefined ? [] : ['--tls-dir', run.tlsDir]),
  ];
}

/** Lines of a child's stdout, one at a time. */
function lineReader(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  let buffered = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  const stderr: string[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c.toString('utf8')));
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<string>((resolve) => child.once('close', (code, signal) => resolve(`exited (${signal ?? `code ${code}`}): ${stderr.join('').trim()}`)));
  return () => {
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited.then((why) => Promise.reject(new LoadGeneratorError(why)))]);
  };
}

/**
 * Runs `g` against one target: its processes connect, start together, warm up, and are
 * measured over `durationMs`, while the servers' CPU is counted over the same window.
 */
export async function runGenerator(g: LoadGenerator, label: string, run: GeneratorRun): Promise<GeneratorResult> {
  const perProcess = shares(run.concurrency, g.processes);
  const children = perProcess.map((c, w) => spawn(g.command, workerArgs(g, run, w, c), { stdio: ['pipe', 'pipe', 'pipe'] }));
  try {
    const readers = children.map(lineReader);
    for (const read of readers) {
      const line = await read();
      if (line !== 'ready') throw new LoadGeneratorError(`${g.name} did not get ready: ${line}`);
    }
    for (const c of children) c.stdin.write('go\n');
    let stopMeter: (() => Map<string, number>) | undefined;
    let cpuMs = new Map<string, number>();
    const windowStart = setTimeout(() => (stopMeter = startCpuMeter(run.cpu)), run.warmupMs);
    const windowEnd = setTimeout(() => (cpuMs = stopMeter?.() ?? cpuMs), run.warmupMs + run.durationMs);
    const results = await Promise.all(readers.map(async (read) => JSON.parse(await read()) as WorkerResult));
    clearTimeout(windowStart);
    clearTimeout(windowEnd);
    // The workers' windows close as this process's timer fires; should the timer be late, the
    // servers' CPU is read now rather than not at all.
    if (cpuMs.size === 0 && stopMeter) cpuMs = stopMeter();
    return merge(label, results, cpuMs);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

function merge(label: string, rs: readonly WorkerResult[], cpuMs: Map<string, number>): GeneratorResult {
  const counts = new Map<number, number>();
  for (const r of rs) for (const [lower, n] of r.hist) counts.set(lower, (counts.get(lower) ?? 0) + n);
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const ops = rs.reduce((a, r) => a + r.ops, 0);
  const seconds = Math.max(...rs.map((r) => r.seconds));
  const firstError = rs.find((r) => r.first_error !== null)?.first_error;
  return {
    label,
    issued: rs.reduce((a, r) => a + r.issued, 0),
    // Process w of P sent keys w, w + P…: all of the first P × (fewest any process sent).
    contiguousKeys: rs.length * Math.min(...rs.map((r) => r.issued)),
    ops,
    errors: rs.reduce((a, r) => a + r.errors, 0),
    ...(firstError ? { firstError } : {}),
    seconds,
    opsPerSecond: ops / seconds,
    p50Ms: histogramPercentile(buckets, 0.5) / 1000,
    p99Ms: histogramPercentile(buckets, 0.99) / 1000,
    cpuMs,
    generatorCpuMs: rs.reduce((a, r) => a + r.cpu_seconds * 1000, 0),
  };
}

/** The width of the histogram bucket whose lower bound is `lower` (see grpc-load.c). */
function bucketWidth(lower: number): number {
  return lower < 128 ? 1 : 2 ** (Math.floor(Math.log2(lower)) + 1 - 7);
}

/**
 * The `p` quantile (0..1) of a histogram of [lower bound µs, count] buckets sorted by bound: the
 * middle of the bucket holding it (buckets are 1 µs wide below 128 µs, 1/64 of their bound above).
 */
export function histogramPercentile(buckets: readonly (readonly [number, number])[], p: number): number {
  const total = buckets.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [lower, n] of buckets) {
    seen += n;
    if (seen >= rank) return lower + bucketWidth(lower) / 2;
  }
  const [lower] = buckets[buckets.length - 1]!;
  return lower + bucketWidth(lower) / 2;
}
