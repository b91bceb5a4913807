import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_SECONDS, metricNames, metricSpecs } from './metric-catalog.js';
import { checkMetricName, createServiceMetrics, MetricNameError } from './metrics.js';
import { createKvMetrics, createRateLimitMetrics, createStorageMetrics } from './service-metrics.js';

function ruleBroken(name: string, type: 'counter' | 'gauge' | 'histogram'): string | undefined {
  try {
    checkMetricName(name, type);
    return undefined;
  } catch (err) {
    if (err instanceof MetricNameError) return err.rule;
    throw err;
  }
}

describe('metric naming rules', () => {
  it('accepts every metric in the catalog', () => {
    for (const spec of Object.values(metricSpecs)) expect(ruleBroken(spec.name, spec.type)).toBeUndefined();
  });

  it('refuses counters without _total, _total on anything else, histograms without a unit, and foreign prefixes', () => {
    expect(ruleBroken('quorumkv_read_repairs', 'counter')).toBe('a counter ends with _total');
    expect(ruleBroken('quorumkv_storage_keys_total', 'gauge')).toBe('only counters end with _total');
    expect(ruleBroken('quorumkv_put_latency', 'histogram')).toMatch(/base unit/);
    expect(ruleBroken('quorumkv_put_latency_ms', 'histogram')).toMatch(/base unit/);
    expect(ruleBroken('kv_reads_total', 'counter')).toMatch(/quorumkv_/);
    expect(ruleBroken('quorumkv_ReadRepairs_total', 'counter')).toMatch(/snake_case/);
  });

  it('never accepts a counter name that lacks _total, whatever the rest of the name', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_]{0,30}[a-z0-9]$/), (tail) => {
        const name = `quorumkv_${tail}`;
        expect(ruleBroken(name, 'counter') === undefined).toBe(name.endsWith('_total'));
      }),
    );
  });
});

describe('createServiceMetrics', () => {
  it('registers the gRPC request metrics with latency buckets from 100 µs to 10 s', async () => {
    const metrics = createServiceMetrics({ runtimeMetrics: false });
    metrics.grpcRequestDuration.observe({ method: 'quorumkv.kv.v1.KeyValueService/Put' }, 0.0003);
    const text = await metrics.registry.metrics();
    expect(LATENCY_BUCKETS_SECONDS[0]).toBe(0.0001);
    expect(LATENCY_BUCKETS_SECONDS.at(-1)).toBe(10);
    expect(text).toContain('quorumkv_grpc_server_request_duration_seconds_bucket{le="0.00025",method="quorumkv.kv.v1.KeyValueService/Put"} 0');
    expect(text).toContain('quorumkv_grpc_server_request_duration_seconds_bucket{le="0.0005",method="quorumkv.kv.v1.KeyValueService/Put"} 1');
    expect(text).toContain('# TYPE quorumkv_grpc_server_requests_total counter');
  });

  it('adds the Node runtime metrics (event-loop lag, heap) under their standard names', async () => {
    const text = await createServiceMetrics().registry.metrics();
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
  });

  it('registers every service-specific metric under its catalog name, once', async () => {
    const metrics = createServiceMetrics({ runtimeMetrics: false });
    const kv = createKvMetrics(metrics);
    createStorageMetrics(metrics, { keys: () => 42, bytes: () => Promise.resolve(4096) });
    const rl = createRateLimitMetrics(metrics);
    kv.quorumFailures.inc({ op: 'put' });
    rl.overLimit.inc({ domain: 'edge', rule: 'remote_address' }, 3);
    // A counter read at scrape time from counts kept elsewhere (the coordinator's check client).
    let allowed = 6;
    metrics.counter(metricSpecs.rateLimitChecks, () => [{ labels: { outcome: 'allowed', reason: 'decided' }, value: allowed++ }]);
    // The membership service, the coordinator's ring metrics, the storage node's transfer, cleanup
    // and Merkle tree metrics, the anti-entropy worker's and hinted handoff's register straight from the catalog.
    for (const spec of Object.values(metricSpecs).filter((m) =>
      /^quorumkv_(membership|gossip|coordinator|antientropy)_|^quorumkv_storage_(transfer|cleanup|ring|tree|tombstones)_|^quorumkv_(hints?|stand_in|unhinted)_/.test(m.name),
    )) {
      if (spec.type === 'counter') metrics.counter(spec);
      else metrics.gauge(spec);
    }
    metrics.counter(metricSpecs.admissionRefusals, () => [{ labels: { reason: 'caller' }, value: 0 }]);
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual(Object.values(metricNames).sort());
    const text = await metrics.registry.metrics();
    expect(text).toContain('quorumkv_storage_keys 42');
    expect(text).toContain('quorumkv_storage_bytes 4096');
    expect(text).toContain('quorumkv_quorum_failures_total{op="put"} 1');
    expect(text).toContain('quorumkv_ratelimit_over_limit_total{domain="edge",rule="remote_address"} 3');
    expect(text).toContain('quorumkv_ratelimit_checks_total{outcome="allowed",reason="decided"} 7');
    expect(await metrics.registry.metrics()).toContain('quorumkv_ratelimit_checks_total{outcome="allowed",reason="decided"} 8');
    expect(() => createKvMetrics(metrics)).toThrow(/already been registered/);
  });

  it('refuses a service metric whose name breaks the conventions', () => {
    const metrics = createServiceMetrics({ runtimeMetrics: false });
    expect(() => metrics.counter({ name: 'quorumkv_hints', type: 'counter', help: 'h', labelNames: [] })).toThrow(MetricNameError);
    expect(() => metrics.gauge({ name: 'quorumkv_hints_total', type: 'counter', help: 'h', labelNames: [] })).toThrow(MetricNameError);
    expect(metrics.counter({ name: 'quorumkv_hints_queued_total', type: 'counter', help: 'h', labelNames: ['node'] })).toBeDefined();
  });
});
