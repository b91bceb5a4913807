/**
 * Every service serves Prometheus text at /metrics on its own port, `promtool check metrics`
 * accepts each, and the counters move with what the cluster did: requests by method and code,
 * quorum failures, read repairs, siblings, sibling-limit refusals, engine size and keys, the rate
 * limiter's per-rule counters and config loads, runtime health.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { metricNames } from '@quorumkv/service-kit';
import { clusterCredentials, eventually, startTestCluster, type TestCluster } from '../support/test-cluster.js';

/** Plain text, or the dev client's certificate when the cluster runs with TLS. */
let creds: ChannelCredentials = credentials.createInsecure();

const PROMTOOL = '/usr/bin/promtool';
const b = (s: string): Buffer => Buffer.from(s);

/** Prometheus text as `series → value` (`name{labels}` exactly as exposed). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

async function scrape(url: string | undefined): Promise<{ text: string; contentType: string | null }> {
  if (url === undefined) throw new Error('the service logged no metricsUrl');
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { text: await res.text(), contentType: res.headers.get('content-type') };
}

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** A rules folder of its own, so the counts are exact whatever else asks the rate limiter. */
const RULES = `
domain: metrics_e2e
descriptors:
  - key: client
    # A token bucket: no window edge can reset the count in the middle of the test.
    rate_limit: { unit: minute, requests_per_unit: 3, algorithm: token_bucket }
`;

function shouldRateLimit(address: string, client: string): Promise<rls.RateLimitResponse> {
  const rlsClient = new rls.RateLimitServiceClient(address, creds);
  const req = rls.RateLimitRequest.fromPartial({ domain: 'metrics_e2e', descriptors: [{ entries: [{ key: 'client', value: client }] }] });
  return new Promise<rls.RateLimitResponse>((resolve, reject) => {
    rlsClient.shouldRateLimit(req, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  }).finally(() => rlsClient.close());
}

describe('Prometheus metrics of every service (3 storage nodes, coordinator, rate limiter)', () => {
  let t: TestCluster;
  const rulesDir = mkdtempSync(join(tmpdir(), 'qkv-e2e-rules-'));
  beforeAll(async () => {
    writeFileSync(join(rulesDir, 'rules.yaml'), RULES);
    // A low sibling bound so a third blind write is refused; a low warning bound is harmless.
    t = await startTestCluster({
      nodes: 3,
      replicationFactor: 3,
      rateLimiterPort: 0,
      rulesDir,
      storageArgs: ['--max-siblings', '2', '--sibling-warn', '1'],
    });
    creds = clusterCredentials(t.cluster);
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('serves /metrics on every service, each accepted by promtool check metrics', async () => {
    await t.kv.put({ key: b('m-1'), value: b('v') });
    await t.kv.get({ key: b('m-1') });
    await shouldRateLimit(t.cluster.rateLimiter?.address ?? '', 'metrics-e2e');
    const services = t.cluster.services();
    expect(services.map((s) => s.job)).toEqual(['membership', 'storage-node', 'storage-node', 'storage-node', 'coordinator', 'rate-limiter']);
    for (const s of services) {
      const { text, contentType } = await scrape(s.process.metricsUrl);
      expect(contentType, s.instance).toMatch(/^text\/plain; version=0\.0\.4/);
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
      expect(`${check.stdout}${check.stderr}`, `${s.instance}: promtool check metrics`).toBe('');
      expect(check.status, s.instance).toBe(0);
      const m = parseMetrics(text);
      // Runtime health on every service.
      expect(m.get('nodejs_eventloop_lag_p99_seconds'), s.instance).toBeGreaterThanOrEqual(0);
      expect(m.get('process_resident_memory_bytes'), s.instance).toBeGreaterThan(0);
    }
  });

  it('counts requests by method and status code, with a latency histogram', async () => {
    const before = parseMetrics((await scrape(t.cluster.coordinator.metricsUrl)).text);
    const okPuts = `${metricNames.grpcServerRequests}{method="quorumkv.kv.v1.KeyValueService/Put",code="OK"}`;
    for (let i = 0; i < 5; i++) await t.kv.put({ key: b(`count-${i}`), value: b('v') });
    const bad = await failure(t.kv.put({ key: b(''), value: b('v') }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const m = parseMetrics((await scrape(t.cluster.coordinator.metricsUrl)).text);
    expect((m.get(okPuts) ?? 0) - (before.get(okPuts) ?? 0)).toBe(5);
    expect(m.get(`${metricNames.grpcServerRequests}{method="quorumkv.kv.v1.KeyValueService/Put",code="INVALID_ARGUMENT"}`)).toBe(1);
    const count = m.get(`${metricNames.grpcServerRequestDuration}_count{method="quorumkv.kv.v1.KeyValueService/Put"}`) ?? 0;
    expect(count).toBeGreaterThanOrEqual(6);
    expect(m.get(`${metricNames.grpcServerRequestDuration}_bucket{le="+Inf",method="quorumkv.kv.v1.KeyValueService/Put"}`)).toBe(count);
    // Each of those calls was checked with the rate limiter first: allowed, or served anyway
    // when the check ran out of its 20 ms on a loaded machine.
    const checked = (mm: Map<string, number>): number =>
      [...mm].filter(([k]) => k.startsWith(`${metricNames.rateLimitChecks}{`) && /outcome="(allowed|fail_open)"/.test(k)).reduce((sum, [, v]) => sum + v, 0);
    expect(checked(m) - checked(before)).toBeGreaterThanOrEqual(6);
    // The storage nodes count their own calls (the Stats call behind Status is unary).
    await t.kv.status();
    const node = parseMetrics((await scrape(t.cluster.storageNodes[0]?.process.metricsUrl)).text);
    expect(node.get(`${metricNames.grpcServerRequests}{method="quorumkv.storage.v1.StorageService/Stats",code="OK"}`)).toBeGreaterThanOrEqual(1);
  });

  it('reports each storage engine\'s keys and on-disk bytes', async () => {
    await t.kv.put({ key: b('engine-size'), value: Buffer.alloc(4096, 1) });
    // m-1, count-0..4 and engine-size, on every node (N=3 of 3); the third replica's copy may
    // land just after the reply (W=2).
    for (const n of t.cluster.storageNodes) {
      await eventually(async () => {
        const m = parseMetrics((await scrape(n.process.metricsUrl)).text);
        expect(m.get(metricNames.storageKeys), n.id).toBe(7);
        expect(m.get(metricNames.storageBytes), n.id).toBeGreaterThan(4096);
      });
    }
  });

  it('counts siblings created and writes refused at the sibling limit', async () => {
    await t.kv.put({ key: b('siblings'), value: b('a') });
    await t.kv.put({ key: b('siblings'), value: b('b') });
    const refused = await failure(t.kv.put({ key: b('siblings'), value: b('c') }));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    const m = parseMetrics((await scrape(t.cluster.coordinator.metricsUrl)).text);
    expect(m.get(metricNames.siblingsCreated)).toBe(1);
    expect(m.get(metricNames.siblingLimitRefusals)).toBe(1);
  });

  it("counts the rate limiter's per-rule hits under the rule's domain and id, and its config loads", async () => {
    const address = t.cluster.rateLimiter?.address ?? '';
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await shouldRateLimit(address, 'per-rule-e2e'));
    // 3 a minute per client value: the first test's check was another client, so these three
    // are allowed, allowed, allowed... and the fourth for this client is over.
    answers.push(await shouldRateLimit(address, 'per-rule-e2e'));
    expect(answers.map((a) => a.overallCode)).toEqual([rls.RateLimitResponse_Code.OK, rls.RateLimitResponse_Code.OK, rls.RateLimitResponse_Code.OK, rls.RateLimitResponse_Code.OVER_LIMIT]);
    const m = parseMetrics((await scrape(t.cluster.rateLimiter?.metricsUrl)).text);
    const rule = '{domain="metrics_e2e",rule="metrics_e2e.client"}';
    expect(m.get(`${metricNames.rateLimitTotalHits}${rule}`)).toBe(5);
    expect(m.get(`${metricNames.rateLimitWithinLimit}${rule}`)).toBe(4);
    expect(m.get(`${metricNames.rateLimitOverLimit}${rule}`)).toBe(1);
    expect(m.get(`${metricNames.rateLimitNearLimit}${rule}`)).toBe(1);
    expect(m.get(metricNames.rateLimitConfigLoadSuccess)).toBe(1);
    expect(m.get(metricNames.rateLimitConfigLoadError)).toBe(0);
    expect(m.get(`${metricNames.grpcServerRequests}{method="envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",code="OK"}`)).toBeGreaterThanOrEqual(5);
  });

  it('counts a write that missed its quorum, and the read repair of a replica that missed a write', async () => {
    const node3 = t.cluster.node('node-3');
    node3.process.kill('SIGKILL');
    await node3.process.exited();
    // W=2 still holds with node-3 down; W=3 cannot.
    await t.kv.put({ key: b('repaired'), value: b('v') });
    const missed = await failure(t.kv.put({ key: b('needs-all'), value: b('v'), w: 3 }));
    expect(missed.code).toBe(status.UNAVAILABLE);
    let m = parseMetrics((await scrape(t.cluster.coordinator.metricsUrl)).text);
    expect(m.get(`${metricNames.quorumFailures}{op="put"}`)).toBe(1);

    await t.cluster.restartNode('node-3');
    // R=3 succeeds once the coordinator's stream to node-3 is back; node-3 answers without the
    // key, so the coordinator repairs it.
    await eventually(async () => {
      await t.kv.get({ key: b('repaired'), r: 3 });
    }, 15_000);
    await eventually(async () => {
      m = parseMetrics((await scrape(t.cluster.coordinator.metricsUrl)).text);
      expect(m.get(metricNames.readRepairs)).toBeGreaterThanOrEqual(1);
    });
  });
});
