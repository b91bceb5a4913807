import { compileRules, type RuleSet } from '@quorumkv/ratelimit';
import { createLogger, metricNames } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import { CounterRouter } from './counter-router.js';
import { LimiterStore } from './limiter-store.js';
import { createRateLimiterMetrics } from './metrics.js';
import { ReplicaSet } from './replica-set.js';
import { RuleStats } from './rule-stats.js';
import type { RuleLoadCounters } from './rules-reloader.js';

function ruleSet(text: string): RuleSet {
  const check = compileRules([{ file: 'rules.yaml', text }]);
  if (check.ruleSet === undefined) throw new Error(check.errors.map((e) => e.message).join('\n'));
  return check.ruleSet;
}

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const RULES = `
domain: edge.v1
descriptors:
  - key: remote_address
    value: 10.0.0.1
    rate_limit: { unit: second, requests_per_unit: 2 }
`;

function setup(): {
  stats: RuleStats;
  loads: RuleLoadCounters;
  router: CounterRouter;
  metrics: ReturnType<typeof createRateLimiterMetrics>;
} {
  const rules = ruleSet(RULES);
  const stats = new RuleStats();
  const loads: RuleLoadCounters = { configLoadSuccess: 1, configLoadError: 0, lastError: '' };
  const logger = createLogger({ service: 'test', level: 'silent' });
  const router = new CounterRouter({
    replicas: new ReplicaSet({ selfId: 'rl-1', forwardTimeoutMs: 100, logger, failover: false }),
    store: new LimiterStore(),
    failureMode: 'closed',
    now: () => 0,
    logger,
  });
  const metrics = createRateLimiterMetrics({ rules: { current: rules, counters: loads }, stats, router, failureMode: 'closed' });
  return { stats, loads, router, metrics };
}

describe('rate limiter metrics', () => {
  it('exposes each rule counter under its domain and rule id, equal to the in-process count after every scrape', async () => {
    const { stats, metrics } = setup();
    const rule = 'edge.v1.remote_address_10.0.0.1';
    const labels = `{domain="edge.v1",rule="${rule}"}`;
    stats.record(rule, { hits: 1, allowed: true, limit: 2, remaining: 1, shadowMode: false });
    stats.record(rule, { hits: 1, allowed: true, limit: 2, remaining: 0, shadowMode: false });
    stats.record(rule, { hits: 3, allowed: false, limit: 2, remaining: 0, shadowMode: false });
    const first = await metrics.service.registry.metrics();
    expect(sample(first, `${metricNames.rateLimitTotalHits}${labels}`)).toBe(5);
    expect(sample(first, `${metricNames.rateLimitWithinLimit}${labels}`)).toBe(2);
    expect(sample(first, `${metricNames.rateLimitOverLimit}${labels}`)).toBe(3);
    expect(sample(first, `${metricNames.rateLimitNearLimit}${labels}`)).toBe(1);
    expect(sample(first, `${metricNames.rateLimitShadowMode}${labels}`)).toBe(0);

    // A second scrape adds only what happened in between: the counters are not double counted.
    stats.record(rule, { hits: 1, allowed: false, limit: 2, remaining: 0, shadowMode: false });
    const second = await metrics.service.registry.metrics();
    expect(sample(second, `${metricNames.rateLimitTotalHits}${labels}`)).toBe(6);
    expect(sample(second, `${metricNames.rateLimitOverLimit}${labels}`)).toBe(4);
    expect(sample(second, `${metricNames.rateLimitWithinLimit}${labels}`)).toBe(2);
  });

  it('counts config loads, failover decisions by failure mode and check timeouts', async () => {
    const { loads, router, metrics } = setup();
    loads.configLoadSuccess = 3;
    loads.configLoadError = 2;
    router.counters.ownerUnreachable = 4;
    router.counters.unreachableByReason.timeout = 1;
    const text = await metrics.service.registry.metrics();
    expect(sample(text, metricNames.rateLimitConfigLoadSuccess)).toBe(3);
    expect(sample(text, metricNames.rateLimitConfigLoadError)).toBe(2);
    expect(sample(text, `${metricNames.rateLimitFailover}{mode="fail_closed"}`)).toBe(4);
    expect(sample(text, metricNames.rateLimitCheckTimeouts)).toBe(1);
  });

  it('serves the gRPC request and runtime metrics from the same registry', async () => {
    const { metrics } = setup();
    const text = await metrics.service.registry.metrics();
    expect(text).toContain(`# TYPE ${metricNames.grpcServerRequests} counter`);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });
});
