import type { LimitPolicy, Unit } from '../policy.js';

/** One entry of a request descriptor, as Envoy sends it: `[key, value]`. */
export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * A rule: one descriptor of a rule file that can decide a request — it has a `rate_limit`, or it
 * is an allow-listed leaf (no `rate_limit`, no nested descriptors).
 */
export interface CompiledRule {
  /**
   * The full key path, Envoy style: the domain, then each level's `key` or `key_value`, joined
   * with dots (`quorumkv.caller.method_Get`). Also the stats key.
   */
  readonly id: string;
  readonly domain: string;
  /** `rate_limit.name`, the handle other rules' `replaces` use. */
  readonly name?: string;
  /** The limit to enforce; absent when `unlimited`. */
  readonly policy?: LimitPolicy;
  /** `rate_limit.unlimited: true`, or an allow-listed descriptor (no limit, no children). */
  readonly unlimited: boolean;
  /** Count and report, but never refuse (`shadow_mode: true`). */
  readonly shadowMode: boolean;
  /** Stats per request value (`detailed_metric: true`); see {@link LimitMatch.statsKey}. */
  readonly detailedMetric: boolean;
  /** Names of limits this one drops when both match one request. */
  readonly replaces: readonly string[];
  /** The file the rule came from (`'<request>'` for a request's own limit override). */
  readonly file: string;
  /** 1-based line of the descriptor in `file` (0 for an override). */
  readonly line: number;
}

/** A limit applies: count the request under `counterKey`. */
export interface LimitMatch {
  readonly kind: 'limit';
  readonly rule: CompiledRule;
  /**
   * The key to count under: the domain and every entry of the request, values included — as
   * Envoy's cache key — so a key-only default or a wildcard limits each distinct value on its
   * own. Unambiguous (JSON); a request's limit override is part of it.
   */
  readonly counterKey: string;
  /** The key to report stats under: `rule.id`, or with `detailedMetric` the request's own values. */
  readonly statsKey: string;
}

/** The request is allow-listed or its limit is `unlimited`. */
export interface UnlimitedMatch {
  readonly kind: 'unlimited';
  readonly rule?: CompiledRule;
}

/** No rule applies (Envoy answers OK), or the rule that matched was replaced by another. */
export interface NoMatch {
  readonly kind: 'none';
  /** Set by `matchAll` when a limit matched but another matched limit `replaces` it. */
  readonly replacedBy?: CompiledRule;
}

/** What the rules say about one descriptor of a request. */
export type MatchResult = LimitMatch | UnlimitedMatch | NoMatch;

/**
 * A limit carried by the request itself (Envoy's `RateLimitDescriptor.limit`). As in Envoy it
 * replaces the configured rule for that descriptor (the domain must still be known) and is
 * never in shadow mode.
 */
export interface LimitOverride {
  readonly requestsPerUnit: number;
  readonly unit: Unit;
}
