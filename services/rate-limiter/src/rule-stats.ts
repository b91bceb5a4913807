/**
 * Per-rule counters with the names envoyproxy/ratelimit uses (`total_hits`, `over_limit`,
 * `near_limit`, `within_limit`, `shadow_mode`), so dashboards built for Envoy's service port over.
 * A small in-process registry: the admin RPC reads {@link RuleStats.snapshot}; an exporter
 * (Prometheus) can read the same snapshot.
 */

/** One rule's counters. All count hits (a request's hits_addend), not requests. */
export interface RuleCounters {
  totalHits: number;
  overLimit: number;
  /** Admitted hits that landed at or above 80% of the limit. */
  nearLimit: number;
  withinLimit: number;
  /** Over-limit hits that shadow mode answered OK. */
  shadowMode: number;
}

/** What one decision did to one rule's counter. */
export interface RuleOutcome {
  readonly hits: number;
  readonly allowed: boolean;
  /** The limit and what remained after the decision (used to find the 80% crossing). */
  readonly limit: number;
  readonly remaining: number;
  readonly shadowMode: boolean;
}

/** Fraction of the limit above which admitted hits count as `near_limit` (Envoy's 0.8). */
export const NEAR_LIMIT_RATIO = 0.8;

const zero = (): RuleCounters => ({ totalHits: 0, overLimit: 0, nearLimit: 0, withinLimit: 0, shadowMode: 0 });

/** Applies one outcome to a set of counters (Envoy's arithmetic, for an all-or-nothing limiter). */
export function applyOutcome(c: RuleCounters, o: RuleOutcome): void {
  c.totalHits += o.hits;
  if (!o.allowed) {
    // Our limiters never admit part of a request, so every hit of a refused request is over.
    c.overLimit += o.hits;
    if (o.shadowMode) c.shadowMode += o.hits;
    return;
  }
  c.withinLimit += o.hits;
  const threshold = Math.floor(o.limit * NEAR_LIMIT_RATIO);
  const after = o.limit - o.remaining;
  const before = after - o.hits;
  // Only the hits past the threshold count, as in envoyproxy/ratelimit's checkNearLimitThreshold.
  if (after > threshold) c.nearLimit += after - Math.max(before, threshold);
}

/** Counters of every rule seen, by rule id; plus, for `detailed_metric` rules, by counter key. */
export class RuleStats {
  private readonly byRule = new Map<string, RuleCounters>();
  private readonly byKey = new Map<string, RuleCounters>();

  /** @param maxDetailedKeys bound on detailed (per-value) counters; later keys are not tracked. */
  constructor(private readonly maxDetailedKeys = 10_000) {}

  /**
   * Records one decision for `ruleId` (when it is a configured rule), and for `detailedKey` when
   * the rule asks for detail.
   */
  record(ruleId: string | undefined, outcome: RuleOutcome, detailedKey?: string): void {
    if (ruleId !== undefined) {
      let c = this.byRule.get(ruleId);
      if (c === undefined) {
        c = zero();
        this.byRule.set(ruleId, c);
      }
      applyOutcome(c, outcome);
    }
    if (detailedKey === undefined) return;
    let d = this.byKey.get(detailedKey);
    if (d === undefined) {
      if (this.byKey.size >= this.maxDetailedKeys) return;
      d = zero();
      this.byKey.set(detailedKey, d);
    }
    applyOutcome(d, outcome);
  }

  /** One rule's counters (zeros when it never matched). */
  get(ruleId: string): Readonly<RuleCounters> {
    return { ...(this.byRule.get(ruleId) ?? zero()) };
  }

  /** A copy of every counter: per rule id, and per counter key for detailed rules. */
  snapshot(): { rules: Map<string, RuleCounters>; detailed: Map<string, RuleCounters> } {
    const copy = (m: Map<string, RuleCounters>): Map<string, RuleCounters> => new Map([...m].map(([k, v]) => [k, { ...v }]));
    return { rules: copy(this.byRule), detailed: copy(this.byKey) };
  }
}
