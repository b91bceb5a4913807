import type { Counter, Gauge } from 'prom-client';
import { metricSpecs } from './metric-catalog.js';
import type { GaugeSampler, ServiceMetrics } from './metrics.js';

/** The coordinator's quorum metrics. */
export interface KvMetrics {
  /**
   * `quorumkv_quorum_failures_total{op}`; `op` is `get`, `put` or `delete` (batch calls count
   * once per key that failed).
   */
  readonly quorumFailures: Counter<'op'>;
  /** `quorumkv_read_repairs_total`: one per stale replica sent a newer version. */
  readonly readRepairs: Counter;
  /** `quorumkv_siblings_created_total` */
  readonly siblingsCreated: Counter;
  /** `quorumkv_sibling_limit_refusals_total` */
  readonly siblingLimitRefusals: Counter;
}

/** Registers the coordinator's quorum metrics (siblings too: whichever side detects them). */
export function createKvMetrics(metrics: ServiceMetrics): KvMetrics {
  return {
    quorumFailures: metrics.counter(metricSpecs.quorumFailures),
    readRepairs: metrics.counter(metricSpecs.readRepairs),
    siblingsCreated: metrics.counter(metricSpecs.siblingsCreated),
    siblingLimitRefusals: metrics.counter(metricSpecs.siblingLimitRefusals),
  };
}

/** How the storage gauges are read at scrape time; omit one to `set()` it yourself. */
export interface StorageSamplers {
  readonly keys?: GaugeSampler;
  readonly bytes?: GaugeSampler;
}

/** A storage node's engine gauges. */
export interface StorageMetrics {
  /** `quorumkv_storage_keys` */
  readonly keys: Gauge;
  /** `quorumkv_storage_bytes` */
  readonly bytes: Gauge;
}

/** Registers a storage node's engine gauges, sampled at scrape time when samplers are given. */
export function createStorageMetrics(metrics: ServiceMetrics, samplers: StorageSamplers = {}): StorageMetrics {
  return {
    keys: metrics.gauge(metricSpecs.storageKeys, samplers.keys),
    bytes: metrics.gauge(metricSpecs.storageBytes, samplers.bytes),
  };
}

/** Labels of the per-rule counters. */
export type RuleLabel = 'domain' | 'rule';

/**
 * The rate limiter's counters. `rule` is the rule's configured name (its descriptor key path),
 * never a descriptor *value* from a request: values are unbounded (user ids, IPs) and would
 * make one time series per caller.
 */
export interface RateLimitMetrics {
  readonly totalHits: Counter<RuleLabel>;
  readonly overLimit: Counter<RuleLabel>;
  readonly nearLimit: Counter<RuleLabel>;
  readonly withinLimit: Counter<RuleLabel>;
  readonly shadowMode: Counter<RuleLabel>;
  readonly configLoadSuccess: Counter;
  readonly configLoadError: Counter;
  /** `mode` is the failover policy that decided (`fail_open`, `fail_closed`, `local`). */
  readonly failover: Counter<'mode'>;
  readonly checkTimeouts: Counter;
}

/** Registers the rate limiter's counters. */
export function createRateLimitMetrics(metrics: ServiceMetrics): RateLimitMetrics {
  return {
    totalHits: metrics.counter(metricSpecs.rateLimitTotalHits),
    overLimit: metrics.counter(metricSpecs.rateLimitOverLimit),
    nearLimit: metrics.counter(metricSpecs.rateLimitNearLimit),
    withinLimit: metrics.counter(metricSpecs.rateLimitWithinLimit),
    shadowMode: metrics.counter(metricSpecs.rateLimitShadowMode),
    configLoadSuccess: metrics.counter(metricSpecs.rateLimitConfigLoadSuccess),
    configLoadError: metrics.counter(metricSpecs.rateLimitConfigLoadError),
    failover: metrics.counter(metricSpecs.rateLimitFailover),
    checkTimeouts: metrics.counter(metricSpecs.rateLimitCheckTimeouts),
  };
}
