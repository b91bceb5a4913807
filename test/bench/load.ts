/**
 * A closed-loop load generator shared by the benchmarks: `concurrency` callers each issue one
 * call, wait for it, and issue the next, for `durationMs`. Every target is driven by this same
 * loop and the same raw grpc-js unary calls, so the ratios between targets compare the servers,
 * not the clients.
 */
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';

/** One measured run. */
export interface LoadResult {
  readonly label: string;
  readonly ops: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A unary method called with pre-encoded request bytes. */
export interface RawUnaryTarget {
  /** `host:port` addresses; callers are spread over them round-robin. */
  readonly addresses: readonly string[];
  /** Full method path, `/package.Service/Method`. */
  readonly path: string;
  /** The request bytes for call number `i` (so keys can vary). */
  readonly request: (i: number) => Buffer;
  /** Channels per address; grpc-js multiplexes calls over one HTTP/2 connection each. @default 2 */
  readonly channelsPerAddress?: number;
  readonly metadata?: () => Metadata;
  /** @default plain text */
  readonly credentials?: ChannelCredentials;
}

const identity = (b: Buffer): Buffer => b;

/** Percentile (0..1) of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

/** Drives a raw unary method closed-loop and reports throughput and latency percentiles. */
export async function runUnaryLoad(
  label: string,
  target: RawUnaryTarget,
  options: { concurrency: number; durationMs: number; warmupMs?: number; deadlineMs?: number },
): Promise<LoadResult> {
  const clients: Client[] = [];
  for (const address of target.addresses) {
    for (let c = 0; c < (target.channelsPerAddress ?? 2); c++) {
      // A distinct channel option keeps grpc-js from sharing one subchannel between clients.
      clients.push(new Client(address, target.credentials ?? credentials.createInsecure(), { 'grpc.channel_id': `${label}-${c}` }));
    }
  }
  const call = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const client = clients[i % clients.length]!;
      client.makeUnaryRequest(
        target.path,
        identity,
        identity,
        target.request(i),
        target.metadata?.() ?? new Metadata(),
        { deadline: Date.now() + (options.deadlineMs ?? 5_000) },
        (err: ServiceError | null) => (err ? reject(err) : resolve()),
      );
    });
  try {
    if (options.warmupMs) await loop(call, options.concurrency, options.warmupMs, 1_000_000_000);
    const r = await loop(call, options.concurrency, options.durationMs, 0);
    const sorted = r.latencies.slice(0, r.ops).sort();
    return {
      label,
      ops: r.ops,
      errors: r.errors,
      ...(r.firstError ? { firstError: r.firstError } : {}),
      seconds: r.seconds,
      opsPerSecond: r.ops / r.seconds,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

async function loop(
  call: (i: number) => Promise<void>,
  concurrency: number,
  durationMs: number,
  firstIndex: number,
): Promise<{ ops: number; errors: number; firstError?: string; seconds: number; latencies: Float64Array }> {
  let latencies = new Float64Array(1 << 16);
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = firstIndex;
  const start = performance.now();
  const end = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await call(next++);
        const dt = performance.now() - t0;
        if (ops === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[ops++] = dt;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, errors, ...(firstError ? { firstError } : {}), seconds: (performance.now() - start) / 1000, latencies };
}

/** A fixed-width table of results with each one's ratio to a baseline. */
export function formatResults(results: readonly LoadResult[], baselineLabel?: string): string {
  const base = results.find((r) => r.label === baselineLabel);
  const rows = [
    ['target', 'ops/s', 'p50 ms', 'p99 ms', 'errors', baseline(baselineLabel)],
    ...results.map((r) => [
      r.label,
      r.opsPerSecond.toFixed(0),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.errors),
      base ? (r.opsPerSecond / base.opsPerSecond).toFixed(2) : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

function baseline(label: string | undefined): string {
  return label ? `x ${label}` : 'ratio';
}
