import { status } from '@grpc/grpc-js';
import { rls } from '@quorumkv/proto';
import { ServiceError } from '@quorumkv/service-kit';
import type { CheckFailureReason } from './check-client.js';

const Code = rls.RateLimitResponse_Code;
const Unit = rls.RateLimitResponse_RateLimit_Unit;

/** The limit a refused caller is told about: the most restrictive one of the response. */
export interface LimitSummary {
  /** Requests per window (`x-ratelimit-limit`); 0 when the response named no limit. */
  readonly limit: number;
  /** Requests left in the window (`x-ratelimit-remaining`). */
  readonly remaining: number;
  /** The window, as words: `minute`, `7 days`. */
  readonly window: string;
  /** Whole seconds to wait before retrying, at least 1 (`retry-after`, `x-ratelimit-retry-after`). */
  readonly retryAfterSeconds: number;
}

const UNIT_NAMES: Readonly<Record<number, string>> = {
  [Unit.SECOND]: 'second',
  [Unit.MINUTE]: 'minute',
  [Unit.HOUR]: 'hour',
  [Unit.DAY]: 'day',
  [Unit.MONTH]: 'month',
  [Unit.YEAR]: 'year',
};

type Status = rls.RateLimitResponse_DescriptorStatus;

/** Over the limit first, then fewer requests left, then longer until reset. */
function tighter(a: Status, b: Status): boolean {
  const aOver = a.code === Code.OVER_LIMIT;
  if (aOver !== (b.code === Code.OVER_LIMIT)) return aOver;
  if (a.limitRemaining !== b.limitRemaining) return a.limitRemaining < b.limitRemaining;
  return durationMs(a.durationUntilReset) > durationMs(b.durationUntilReset);
}

function durationMs(d: { seconds: bigint; nanos: number } | undefined): number {
  return d === undefined ? 0 : Number(d.seconds) * 1000 + d.nanos / 1e6;
}

/** The rate limiter's own `Retry-After` (it knows when a bucket refills, not just when it resets). */
function retryAfterHeader(response: rls.RateLimitResponse): number | undefined {
  for (const h of response.responseHeadersToAdd) {
    if (h.key.toLowerCase() !== 'retry-after') continue;
    const n = Number(h.value);
    if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  }
  return undefined;
}

/**
 * Picks the most restrictive enforced status of a response (one with a `current_limit`: over the
 * limit first, then fewest remaining, then longest to reset) and what to tell the caller.
 * `retryAfterSeconds` is the limiter's `Retry-After` header when it sent one, else the chosen
 * status's time to reset, rounded up, and never below 1 so an obedient client does not spin.
 */
export function summarizeLimit(response: rls.RateLimitResponse): LimitSummary {
  let best: Status | undefined;
  for (const s of response.statuses) {
    if (s.currentLimit === undefined) continue;
    if (best === undefined || tighter(s, best)) best = s;
  }
  const fromStatus = best === undefined ? 0 : Math.ceil(durationMs(best.durationUntilReset) / 1000);
  const retryAfterSeconds = Math.max(1, retryAfterHeader(response) ?? fromStatus);
  if (best?.currentLimit === undefined) return { limit: 0, remaining: 0, window: 'window', retryAfterSeconds };
  const l = best.currentLimit;
  const unit = UNIT_NAMES[l.unit] ?? 'window';
  const multiplier = l.unitMultiplier ?? 1;
  return {
    limit: l.requestsPerUnit,
    remaining: best.limitRemaining,
    window: multiplier > 1 ? `${multiplier} ${unit}s` : unit,
    retryAfterSeconds,
  };
}

/**
 * The `retry-after` trailer (RFC 9110 seconds, at least 1) every RESOURCE_EXHAUSTED refusal of
 * the coordinator carries — rate limited, rate limiter unavailable, overloaded — and the quorumkv
 * SDK waits out before retrying.
 */
export function retryAfterTrailers(seconds: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(seconds))) };
}

/**
 * The rate limiter refused the call (RESOURCE_EXHAUSTED). Its trailers tell the client how long
 * to wait: `retry-after` (RFC 9110 seconds, what the quorumkv SDK honours) and the System Design
 * Interview headers `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-retry-after`.
 */
export class RateLimitExceededError extends ServiceError {
  override readonly name = 'RateLimitExceededError';
  readonly limit: number;
  readonly remaining: number;
  readonly window: string;
  readonly retryAfterSeconds: number;
  constructor(
    readonly caller: string,
    readonly method: string,
    summary: LimitSummary,
  ) {
    super(
      status.RESOURCE_EXHAUSTED,
      `rate limit exceeded for caller ${caller} on ${method}: limit ${summary.limit} per ${summary.window}; retry after ${summary.retryAfterSeconds} s`,
      {
        'x-ratelimit-limit': String(summary.limit),
        'x-ratelimit-remaining': String(summary.remaining),
        'x-ratelimit-retry-after': String(summary.retryAfterSeconds),
        ...retryAfterTrailers(summary.retryAfterSeconds),
      },
    );
    this.limit = summary.limit;
    this.remaining = summary.remaining;
    this.window = summary.window;
    this.retryAfterSeconds = summary.retryAfterSeconds;
  }
}

/**
 * No decision could be had and the coordinator fails closed (`--rate-limit-failure-mode
 * closed`): RESOURCE_EXHAUSTED with `retry-after: 1`, naming why.
 */
export class RateLimiterUnavailableError extends ServiceError {
  override readonly name = 'RateLimiterUnavailableError';
  constructor(
    readonly method: string,
    readonly reason: CheckFailureReason,
    readonly detail: string,
  ) {
    super(status.RESOURCE_EXHAUSTED, `rate limiter gave no decision for ${method} (${reason}: ${detail}); refusing while failing closed`, retryAfterTrailers(1));
  }
}
