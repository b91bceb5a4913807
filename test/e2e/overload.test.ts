/**
 * Overload: 2,000 concurrent callers putting against real processes (3 storage nodes, the rate
 * limiter and the coordinator asking it before every call). The coordinator must keep enforcing
 * rate limits — its checks must not time out and fail open en masse because they queue behind
 * the very load they should shed — and must shed what it cannot take itself with
 * RESOURCE_EXHAUSTED and a `retry-after` (which these callers wait out, as the SDK does), not let
 * calls pile up into timeouts.
 *
 * Why the checks get 200 ms here, not the production 20 ms: on the shared 2-core development
 * machine every process of the cluster, the load generator and other work compete for CPU, so
 * at saturation the rate limiter is often not even scheduled within 20 ms (at 64 callers, no
 * overload at all, 15% of 20 ms checks already fail open there). What this test is about is the
 * coordinator's own queueing: without admission control even 200 ms checks fail open en masse
 * (76% measured, with 76% of the puts ending DEADLINE_EXCEEDED).
 * QKV_OVERLOAD_CHECK_TIMEOUT_MS, QKV_OVERLOAD_IN_FLIGHT and QKV_OVERLOAD_COORDINATOR_ARGS change
 * the run for measuring.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_OPTIONS, retryAfterMs } from '@quorumkv/client';
import { kv } from '@quorumkv/proto';
import { clusterCredentials, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const IN_FLIGHT = Number(process.env.QKV_OVERLOAD_IN_FLIGHT ?? 2_000);
const CHANNELS = 8;
const DURATION_MS = 6_000;
const VALUE = Buffer.alloc(100, 'v');

let t: TestCluster;

/** `quorumkv_ratelimit_checks_total` from the coordinator's /metrics, by `outcome/reason`. */
async function checkCounts(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^quorumkv_ratelimit_checks_total\{outcome="([^"]+)",reason="([^"]+)"\} (\S+)$/gm)) {
    counts.set(`${m[1]}/${m[2]}`, Number(m[3]));
  }
  return counts;
}

interface Tally {
  readonly byCode: Map<string, number>;
  retryAfterMissing: number;
  calls: number;
}

/** `IN_FLIGHT` closed loops of puts over `CHANNELS` connections, for `DURATION_MS`. */
async function drive(address: string): Promise<Tally> {
  const clients = Array.from({ length: CHANNELS }, (_, i) => new kv.KeyValueServiceClient(address, clusterCredentials(t.cluster), { 'grpc.channel_id': i }));
  const tally: Tally = { byCode: new Map(), retryAfterMissing: 0, calls: 0 };
  const until = Date.now() + DURATION_MS;
  let seq = 0;
  const worker = async (w: number): Promise<void> => {
    const client = clients[w % CHANNELS]!;
    while (Date.now() < until) {
      const md = new Metadata();
      // On TLS the caller is the client certificate's identity (naming another is refused).
      if (t.cluster.tls === undefined) md.set('x-quorumkv-caller', 'flood');
      const req = kv.PutRequest.fromPartial({ key: Buffer.from(`overload-${process.pid}-${++seq}`), value: VALUE });
      let waitMs = 0;
      const code = await new Promise<string>((resolve) => {
        const call = client.put(req, md, { deadline: Date.now() + 5_000 }, (err: ServiceError | null) => {
          if (err === null) return resolve('OK');
          resolve(status[err.code] ?? String(err.code));
        });
        call.on('status', (s) => {
          if (s.code !== status.RESOURCE_EXHAUSTED) return;
          const after = retryAfterMs(s.metadata);
          if (after === undefined) tally.retryAfterMissing++;
          // The SDK's rule: retry-after, plus a jitter below its base delay.
          else waitMs = after + Math.floor(Math.random() * DEFAULT_RETRY_OPTIONS.baseDelayMs);
        });
      });
      tally.calls++;
      tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);
      // As the quorumkv SDK does: a refused caller waits `retry-after` before trying again.
      if (waitMs > 0) await new Promise((r) => setTimeout(r, Math.min(waitMs, Math.max(0, until - Date.now()))));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  for (const c of clients) c.close();
  return tally;
}

beforeAll(async () => {
  t = await startTestCluster({
    nodes: 3,
    replicationFactor: 3,
    rateLimiterPort: 0,
    coordinatorArgs: ['--rate-limit-timeout-ms', process.env.QKV_OVERLOAD_CHECK_TIMEOUT_MS ?? '200', ...(process.env.QKV_OVERLOAD_COORDINATOR_ARGS ?? '').split(' ').filter(Boolean)],
  });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe('2,000 puts in flight', () => {
  it('keeps the rate-limit checks deciding, and sheds the excess with RESOURCE_EXHAUSTED and retry-after', async () => {
    const metricsUrl = t.cluster.coordinator.metricsUrl;
    if (metricsUrl === undefined) throw new Error('the coordinator logged no metrics URL');
    const before = await checkCounts(metricsUrl);
    const tally = await drive(t.cluster.address);
    const after = await checkCounts(metricsUrl);
    const delta = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const checks = [...after.keys()].reduce((n, k) => n + delta(k), 0);
    const failedOpen = [...after.keys()].filter((k) => k.startsWith('fail_open/')).reduce((n, k) => n + delta(k), 0);
    const exhausted = tally.byCode.get('RESOURCE_EXHAUSTED') ?? 0;
    process.stdout.write(
      `[overload] ${tally.calls} puts in ${DURATION_MS} ms from ${IN_FLIGHT} concurrent callers (each waiting out retry-after when refused): ${JSON.stringify(Object.fromEntries(tally.byCode))}; ` +
        `rate-limit checks ${checks}, failed open ${failedOpen} (${checks === 0 ? 0 : ((100 * failedOpen) / checks).toFixed(1)}%): ` +
        `${JSON.stringify(Object.fromEntries([...after.keys()].map((k) => [k, delta(k)])))}\n`,
    );
    expect(checks).toBeGreaterThan(0);
    expect(failedOpen / checks).toBeLessThan(0.05);
    expect(exhausted).toBeGreaterThan(0);
    expect(tally.retryAfterMissing).toBe(0);
    // What is not shed is served: calls do not pile up into timeouts.
    expect((tally.byCode.get('DEADLINE_EXCEEDED') ?? 0) / tally.calls).toBeLessThan(0.01);
    expect(tally.byCode.get('OK') ?? 0).toBeGreaterThan(0);
  });
});
