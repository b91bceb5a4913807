import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { createServiceMetrics } from './metrics.js';
import { createKvMetrics, createRateLimitMetrics, createStorageMetrics } from './service-metrics.js';

const PROMTOOL = '/usr/bin/promtool';

let server: MetricsServer;

beforeAll(async () => {
  // Every metric quorumkv defines, each with a sample, as a service that registered them all.
  const metrics = createServiceMetrics();
  const kv = createKvMetrics(metrics);
  createStorageMetrics(metrics, { keys: () => 10, bytes: () => 2048 });
  const rl = createRateLimitMetrics(metrics);
  metrics.grpcRequests.inc({ method: 'quorumkv.kv.v1.KeyValueService/Put', code: 'OK' });
  metrics.grpcRequestDuration.observe({ method: 'quorumkv.kv.v1.KeyValueService/Put' }, 0.002);
  kv.quorumFailures.inc({ op: 'get' });
  kv.readRepairs.inc();
  kv.siblingsCreated.inc();
  kv.siblingLimitRefusals.inc();
  for (const c of [rl.totalHits, rl.overLimit, rl.nearLimit, rl.withinLimit, rl.shadowMode]) c.inc({ domain: 'edge', rule: 'remote_address' });
  rl.configLoadSuccess.inc();
  rl.configLoadError.inc();
  rl.failover.inc({ mode: 'fail_open' });
  rl.checkTimeouts.inc();
  server = await startMetricsServer({ listen: '127.0.0.1:0', registry: metrics.registry });
});

afterAll(async () => {
  await server.close();
});

describe('startMetricsServer', () => {
  it('serves the registry as Prometheus text at GET /metrics on the bound port', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('quorumkv_grpc_server_requests_total{method="quorumkv.kv.v1.KeyValueService/Put",code="OK"} 1');
    expect(text).toContain('quorumkv_storage_keys 10');
  });

  it('produces output that `promtool check metrics` accepts without lint problems', async () => {
    const text = await (await fetch(server.url)).text();
    const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('answers 404 elsewhere and 405 to other methods on /metrics', async () => {
    const base = server.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(server.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${server.url}?x=1`)).status).toBe(200);
  });

  it('stops accepting connections after close()', async () => {
    const other = await startMetricsServer({ listen: '127.0.0.1:0', registry: createServiceMetrics({ runtimeMetrics: false }).registry });
    expect((await fetch(other.url)).status).toBe(200);
    await other.close();
    await expect(fetch(other.url)).rejects.toThrow();
  });
});
