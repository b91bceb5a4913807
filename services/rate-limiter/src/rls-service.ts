import type { CompiledRule, DescriptorEntry, LimitOverride, MatchResult, RuleSet } from '@quorumkv/ratelimit';
import { rls } from '@quorumkv/proto';
import { directUnaryMethod, InvalidArgumentError, unary, type DirectUnaryMethod, type Logger } from '@quorumkv/service-kit';
import type { HeaderMode } from './config.js';
import type { CounterRouter, RoutedDecision } from './counter-router.js';
import { rateLimitHeaders, type HeaderSource } from './headers.js';
import { overrideUnit, toEnvoyLimit } from './policy-codec.js';
import type { RuleStats } from './rule-stats.js';

const Code = rls.RateLimitResponse_Code;
type Status = rls.RateLimitResponse_DescriptorStatus;

/** Envoy's `limit_remaining` for an unlimited descriptor (envoyproxy/ratelimit uses MaxUint32). */
const UNLIMITED_REMAINING = 0xffff_ffff;

export interface RlsServiceDeps {
  /** The rules in force (swapped atomically by the reloader). */
  readonly rules: { readonly current: RuleSet };
  readonly router: CounterRouter;
  readonly stats: RuleStats;
  readonly headers: HeaderMode;
  readonly logger: Logger;
}

/** `envoy.service.ratelimit.v3.RateLimitService`, served by {@link shouldRateLimit}. */
export function createRlsService(deps: RlsServiceDeps): rls.RateLimitServiceServer {
  return { shouldRateLimit: unary(deps.logger, (req: rls.RateLimitRequest) => shouldRateLimit(deps, req)) };
}

/**
 * ShouldRateLimit served straight from HTTP/2 (`serveUnaryDirect`): the same decision, with
 * none of grpc-js's per-call cost on the method Envoy calls once per request it admits. A
 * request declaring more than `maxRequestBytes` is refused before its body is read.
 */
export function createDirectRlsMethod(deps: RlsServiceDeps, maxRequestBytes: number): DirectUnaryMethod {
  return directUnaryMethod(
    rls.RateLimitServiceService.shouldRateLimit,
    { encoder: rls.RateLimitResponse, empty: rls.RateLimitResponse.create() },
    (req: rls.RateLimitRequest) => shouldRateLimit(deps, req),
    { maxRequestBytes },
  );
}

/**
 * A descriptor's hits as a signed count: the descriptor's own hits_addend when set, else the
 * request's; negated for `is_negative_hits` (a refund).
 *
 * Why a descriptor's explicit 0 counts nothing while the request's 0 means 1: the request's
 * field is a plain uint32, where 0 is indistinguishable from "not set" (Envoy sends 0 and means
 * one hit); the descriptor's is a UInt64Value, so 0 there was written on purpose — "zero means
 * check only", as in envoyproxy/ratelimit. Such a check reports the state (OK until the limit is
 * already used up, OVER_LIMIT never, since refusals consume nothing) and changes nothing.
 */
function descriptorHits(req: rls.RateLimitRequest, i: number, requestHits: number): number {
  const d = req.descriptors[i];
  if (d === undefined) return requestHits;
  let hits = requestHits;
  if (d.hitsAddend !== undefined) {
    if (d.hitsAddend > 0xffff_ffffn) throw new InvalidArgumentError(`descriptors[${i}].hits_addend`, `must be at most 4294967295, got ${d.hitsAddend}`);
    hits = Number(d.hitsAddend);
  }
  return d.isNegativeHits ? -hits : hits;
}

/**
 * Decides one RateLimitRequest with Envoy's semantics: one status per descriptor in request
 * order; OVER_LIMIT overall when any descriptor not in shadow mode is over; descriptors that
 * match no rule, or an unlimited one, are OK with no current_limit; a descriptor's `limit`
 * override replaces the rule (keyed apart, never in shadow mode); the request's hits_addend 0
 * means 1, a descriptor's explicit 0 is a check, and `is_negative_hits` gives hits back.
 * @throws InvalidArgumentError for an empty domain or descriptor list, or a bad override.
 */
export async function shouldRateLimit(deps: RlsServiceDeps, req: rls.RateLimitRequest): Promise<rls.RateLimitResponse> {
  if (req.domain === '') throw new InvalidArgumentError('domain', 'must not be empty');
  const n = req.descriptors.length;
  if (n === 0) throw new InvalidArgumentError('descriptors', 'must not be empty');
  const requestHits = req.hitsAddend === 0 ? 1 : req.hitsAddend;
  const entries: DescriptorEntry[][] = new Array<DescriptorEntry[]>(n);
  const overrides: (LimitOverride | undefined)[] = new Array<LimitOverride | undefined>(n);
  const hits: number[] = new Array<number>(n);
  // Everything is checked before anything is counted: a bad request consumes nothing.
  for (let i = 0; i < n; i++) {
    const d = req.descriptors[i]!;
    entries[i] = d.entries;
    const l = d.limit;
    overrides[i] = l === undefined ? undefined : { requestsPerUnit: l.requestsPerUnit, unit: overrideUnit(`descriptors[${i}].limit`, l.unit, l.unitMultiplier) };
    hits[i] = descriptorHits(req, i, requestHits);
  }
  const matches = deps.rules.current.matchAll(req.domain, entries, overrides);
  // Local decisions are taken right here, in descriptor order; forwarded ones are awaited below.
  const routed: Promise<RoutedDecision | undefined>[] = matches.map((m, i) =>
    m.kind === 'limit' && m.rule.policy !== undefined ? deps.router.decide(m.counterKey, m.rule.policy, hits[i]!) : NOTHING,
  );
  const decided = await Promise.all(routed);
  const statuses: Status[] = new Array<Status>(n);
  const sources: HeaderSource[] = [];
  let overLimit = false;
  for (let i = 0; i < n; i++) {
    const m = matches[i]!;
    const r = decided[i];
    if (m.kind !== 'limit' || r === undefined) {
      statuses[i] = emptyStatus(m);
      continue;
    }
    const status = limitStatus(m.rule, r);
    statuses[i] = status;
    if (status.code === Code.OVER_LIMIT) overLimit = true;
    // A check (0 hits) or a refund takes nothing: Envoy's counters count hits taken.
    if (!r.degraded && hits[i]! > 0) recordStats(deps.stats, m.rule, m.statsKey, hits[i]!, r);
    // Soft limits and fail-open answers never show in headers: the client was not limited.
    if (!m.rule.shadowMode && !(r.degraded && r.decision.allowed)) {
      sources.push({ name: m.rule.name ?? m.rule.id, policy: m.rule.policy!, decision: r.decision });
    }
  }
  return {
    overallCode: overLimit ? Code.OVER_LIMIT : Code.OK,
    statuses,
    responseHeadersToAdd: rateLimitHeaders(deps.headers, sources, overLimit),
    requestHeadersToAdd: [],
    rawBody: EMPTY,
    dynamicMetadata: undefined,
    quota: undefined,
  };
}

function emptyStatus(m: MatchResult): Status {
  return {
    code: Code.OK,
    currentLimit: undefined,
    limitRemaining: m.kind === 'unlimited' ? UNLIMITED_REMAINING : 0,
    durationUntilReset: undefined,
    quota: undefined,
  };
}

function limitStatus(rule: CompiledRule, r: RoutedDecision): Status {
  const d = r.decision;
  // Shadow mode: counted and reported as it is, but never refused.
  const over = !d.allowed && !rule.shadowMode;
  return {
    code: over ? Code.OVER_LIMIT : Code.OK,
    currentLimit: toEnvoyLimit(rule.policy!, rule.name ?? rule.id),
    limitRemaining: Math.min(UNLIMITED_REMAINING, Math.max(0, Math.floor(d.remaining))),
    durationUntilReset: toDuration(d.resetAfterMs),
    quota: undefined,
  };
}

function recordStats(stats: RuleStats, rule: CompiledRule, statsKey: string, hits: number, r: RoutedDecision): void {
  const outcome = { hits, allowed: r.decision.allowed, limit: r.decision.limit, remaining: r.decision.remaining, shadowMode: rule.shadowMode };
  // A request's own limit override has no configured rule: it is counted per descriptor only
  // (bounded), or every distinct caller would add a rule-sized counter forever.
  if (rule.file === '<request>') stats.record(undefined, outcome, statsKey);
  else stats.record(rule.id, outcome, rule.detailedMetric ? statsKey : undefined);
}

/** A google.protobuf.Duration for a (possibly fractional) number of milliseconds. */
export function toDuration(ms: number): { seconds: bigint; nanos: number } {
  const whole = Math.max(0, ms);
  const seconds = Math.floor(whole / 1000);
  const nanos = Math.min(999_999_999, Math.round((whole - seconds * 1000) * 1_000_000));
  return { seconds: BigInt(seconds), nanos };
}

const EMPTY = Buffer.alloc(0);
const NOTHING: Promise<undefined> = Promise.resolve(undefined);
