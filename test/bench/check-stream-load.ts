/**
 * Closed-loop load over the rate limiter's batched Check stream (what quorumkv's coordinator
 * uses): `concurrency` checks always in flight on one long-lived stream; each answer that comes
 * back sends a new check, and the checks sent in reply to one message travel together.
 */
import { credentials } from '@grpc/grpc-js';
import { ratelimitCheck, type rls } from '@quorumkv/proto';
import { percentile, type LoadResult } from './load.js';

export async function runCheckStreamLoad(
  label: string,
  address: string,
  request: (i: number) => rls.RateLimitRequest,
  options: { concurrency: number; durationMs: number; warmupMs?: number },
): Promise<LoadResult> {
  const client = new ratelimitCheck.RateLimitCheckServiceClient(address, credentials.createInsecure());
  const stream = client.check();
  const sentAt = new Map<number, number>();
  let next = 1;
  let latencies = new Float64Array(1 << 16);
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const warmupEnd = performance.now() + (options.warmupMs ?? 0);
  let start = warmupEnd;
  const end = warmupEnd + options.durationMs;
  let measuring = (options.warmupMs ?? 0) === 0;

  const items = (n: number): ratelimitCheck.CheckItem[] => {
    const out: ratelimitCheck.CheckItem[] = [];
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      const id = next++;
      sentAt.set(id, now);
      out.push({ id, request: request(id), trace: {} });
    }
    return out;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (batch: ratelimitCheck.CheckResultBatch) => {
        const now = performance.now();
        if (!measuring && now >= warmupEnd) {
          measuring = true;
          start = now;
        }
        for (const r of batch.results) {
          const t0 = sentAt.get(r.id);
          sentAt.delete(r.id);
          if (t0 === undefined || !measuring) continue;
          if (r.error !== '') {
            errors++;
            firstError ??= r.error;
            continue;
          }
          if (ops === latencies.length) {
            const grown = new Float64Array(latencies.length * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[ops++] = now - t0;
        }
        if (now < end) {
          const refill = options.concurrency - sentAt.size;
          if (refill > 0) stream.write({ items: items(refill) });
        } else if (sentAt.size === 0) resolve();
      });
      stream.write({ items: items(options.concurrency) });
    });
  } finally {
    stream.cancel();
    client.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const sorted = latencies.slice(0, ops).sort();
  return {
    label,
    ops,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    opsPerSecond: ops / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}
