import type { RuleSet } from '@quorumkv/ratelimit';
import { createRateLimitMetrics, createServiceMetrics, type RateLimitMetrics, type RuleLabel, type ServiceMetrics } from '@quorumkv/service-kit';
import { Registry, type Counter } from 'prom-client';
import type { FailureMode } from './config.js';
import type { RouterCounters } from './counter-router.js';
import type { RuleCounters } from './rule-stats.js';
import type { RuleLoadCounters } from './rules-reloader.js';

/**
 * A registry that runs hooks right before each collection. The rate limiter keeps its counters
 * as plain numbers on the decision path (RuleStats, the reloader's and the router's counters,
 * which the admin API reads too); copying them into Prometheus counters when a scrape comes
 * costs the hot path nothing.
 */
class ScrapeSyncedRegistry extends Registry {
  private readonly hooks: (() => void)[] = [];

  /** Runs `hook` before every collection. */
  beforeCollect(hook: () => void): void {
    this.hooks.push(hook);
  }

  override async metrics(): Promise<string> {
    for (const hook of this.hooks) hook();
    return super.metrics();
  }
}

/**
 * Copies monotonic counts kept elsewhere into one prom-client counter: each update adds what the
 * count grew by since the last one, so the Prometheus counter equals the source count.
 */
class CounterMirror<L extends string> {
  private readonly copied = new Map<string, number>();

  constructor(private readonly counter: Counter<L>) {}

  /**
   * Brings the series `key` (labelled `labels`, or unlabelled) up to `value`. A series appears
   * at its first update even at 0, so `rate()` and `increase()` see the first hits too.
   */
  update(key: string, value: number, labels?: Partial<Record<L, string>>): void {
    const before = this.copied.get(key);
    if (before !== undefined && value <= before) return;
    this.copied.set(key, Math.max(value, before ?? 0));
    const delta = Math.max(0, value - (before ?? 0));
    if (labels === undefined) this.counter.inc(delta);
    else this.counter.inc(labels, delta);
  }
}

/** Where the rate limiter keeps the counts its metrics mirror (the pieces of `createRateLimiterServer`). */
export interface RateLimitCountSources {
  /** The reloader: rules in force (for each rule's domain) and config load counters. */
  readonly rules: { readonly current: RuleSet; readonly counters: RuleLoadCounters };
  /** Per-rule hit counters. */
  readonly stats: { snapshot(): { rules: Map<string, RuleCounters> } };
  /** Decisions the failure mode made, by reason (`timeout` is a check timeout). */
  readonly router: { readonly counters: RouterCounters };
  readonly failureMode: FailureMode;
}

/** The rate limiter's Prometheus metrics. */
export interface RateLimiterMetrics {
  /** The process registry (served at /metrics) with the gRPC request and Node runtime metrics. */
  readonly service: ServiceMetrics;
  readonly rateLimit: RateLimitMetrics;
  /** Copies the current counts into the counters (done before every scrape; tests call it too). */
  sync(): void;
}

/** The per-rule counters: the same names in RuleStats and in the metrics. */
const RULE_COUNTERS = ['totalHits', 'overLimit', 'nearLimit', 'withinLimit', 'shadowMode'] as const satisfies readonly (keyof RuleCounters & keyof RateLimitMetrics)[];

/**
 * Registers the rate limiter's metrics and mirrors its counters into them at scrape time:
 * per-rule hits (`domain`, `rule` = the rule's configured id, never a request's values), config
 * loads, failover decisions (`mode` = `fail_open`, `fail_closed`, or `successor` when an unreachable owner's keys went to the next replica) and check timeouts. Detailed
 * (per-value) counters stay on the admin API: their label values would be unbounded.
 */
export function createRateLimiterMetrics(sources: RateLimitCountSources): RateLimiterMetrics {
  const registry = new ScrapeSyncedRegistry();
  const service = createServiceMetrics({ registry });
  const rateLimit = createRateLimitMetrics(service);
  const perRule = RULE_COUNTERS.map((field) => ({ field, mirror: new CounterMirror<RuleLabel>(rateLimit[field]) }));
  const loadSuccess = new CounterMirror(rateLimit.configLoadSuccess);
  const loadError = new CounterMirror(rateLimit.configLoadError);
  const failover = new CounterMirror(rateLimit.failover);
  const timeouts = new CounterMirror(rateLimit.checkTimeouts);
  // Rule ids embed request-independent key paths whose parts may contain dots, so the domain is
  // remembered from the rules themselves; a rule removed by a reload keeps its last domain.
  const domainOf = new Map<string, string>();
  let domainsOf: RuleSet | undefined;

  const sync = (): void => {
    const ruleSet = sources.rules.current;
    if (ruleSet !== domainsOf) {
      for (const r of ruleSet.rules()) domainOf.set(r.id, r.domain);
      domainsOf = ruleSet;
    }
    for (const [rule, counters] of sources.stats.snapshot().rules) {
      const labels = { domain: domainOf.get(rule) ?? rule.slice(0, Math.max(0, rule.indexOf('.'))), rule };
      for (const { field, mirror } of perRule) mirror.update(rule, counters[field], labels);
    }
    const loads = sources.rules.counters;
    loadSuccess.update('', loads.configLoadSuccess);
    loadError.update('', loads.configLoadError);
    const routed = sources.router.counters;
    const mode = `fail_${sources.failureMode}`;
    failover.update(mode, routed.ownerUnreachable, { mode });
    // Membership from gossip: decisions an unreachable owner's successor took instead.
    failover.update('successor', routed.failedOver, { mode: 'successor' });
    timeouts.update('', routed.unreachableByReason.timeout);
  };
  registry.beforeCollect(sync);
  return { service, rateLimit, sync };
}
