import type { Decision, LimitPolicy } from '@quorumkv/ratelimit';
import type { envoyCore } from '@quorumkv/proto';
import type { HeaderMode } from './config.js';
import { windowSeconds } from './policy-codec.js';

/** One enforced limit of a response, as the headers see it. */
export interface HeaderSource {
  /** Policy name shown in the draft headers (the rule's name, or its id). */
  readonly name: string;
  readonly policy: LimitPolicy;
  readonly decision: Decision;
}

/**
 * The limit a client should hear about when several apply: one that refused the request first,
 * then the one with the fewest hits left, then the one that takes longest to recover.
 */
export function mostRestrictive(sources: readonly HeaderSource[]): HeaderSource | undefined {
  let best: HeaderSource | undefined;
  for (const s of sources) {
    if (best === undefined || tighter(s, best)) best = s;
  }
  return best;
}

function tighter(a: HeaderSource, b: HeaderSource): boolean {
  if (a.decision.allowed !== b.decision.allowed) return !a.decision.allowed;
  if (a.decision.remaining !== b.decision.remaining) return a.decision.remaining < b.decision.remaining;
  return Math.max(a.decision.retryAfterMs, a.decision.resetAfterMs) > Math.max(b.decision.retryAfterMs, b.decision.resetAfterMs);
}

/** Whole seconds, rounded up: a client that waits this long is never early. */
export function ceilSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/** A Structured Fields String (RFC 8941 §3.3.3): printable ASCII, `"` and `\` escaped. */
export function sfString(s: string): string {
  const printable = s.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The response headers for the most restrictive limit of a response.
 *
 * - `draft` — draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy: "name";q=10;w=60`
 *   (quota and window in seconds) and `RateLimit: "name";r=3;t=42` (remaining, seconds to reset).
 * - `x-ratelimit` — the headers of the rate limiter design in *System Design Interview*:
 *   `X-Ratelimit-Limit`, `X-Ratelimit-Remaining` and, when refused, `X-Ratelimit-Retry-After`
 *   (seconds).
 * - `Retry-After` (RFC 9110, seconds) whenever the request is over the limit and headers are on.
 *
 * @param overLimit whether the response as a whole is OVER_LIMIT.
 */
export function rateLimitHeaders(mode: HeaderMode, sources: readonly HeaderSource[], overLimit: boolean): envoyCore.HeaderValue[] {
  if (mode === 'none') return [];
  const s = mostRestrictive(sources);
  if (s === undefined) return [];
  const out: envoyCore.HeaderValue[] = [];
  const add = (key: string, value: string | number): void => {
    out.push({ key, value: String(value), rawValue: EMPTY });
  };
  const limit = s.policy.requestsPerUnit;
  const retryAfter = ceilSeconds(s.decision.retryAfterMs > 0 ? s.decision.retryAfterMs : s.decision.resetAfterMs);
  if (mode === 'draft' || mode === 'all') {
    const name = sfString(s.name);
    add('RateLimit-Policy', `${name};q=${limit};w=${windowSeconds(s.policy)}`);
    add('RateLimit', `${name};r=${s.decision.remaining};t=${ceilSeconds(s.decision.resetAfterMs)}`);
  }
  if (mode === 'x-ratelimit' || mode === 'all') {
    add('X-Ratelimit-Limit', limit);
    add('X-Ratelimit-Remaining', s.decision.remaining);
    if (!s.decision.allowed) add('X-Ratelimit-Retry-After', retryAfter);
  }
  if (overLimit) add('Retry-After', retryAfter);
  return out;
}

const EMPTY = Buffer.alloc(0);
