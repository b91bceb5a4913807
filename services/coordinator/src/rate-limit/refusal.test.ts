import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { rls } from '@quorumkv/proto';
import { RateLimitExceededError, summarizeLimit } from './refusal.js';

const Code = rls.RateLimitResponse_Code;
const Unit = rls.RateLimitResponse_RateLimit_Unit;

function st(code: rls.RateLimitResponse_Code, limit: number | undefined, remaining: number, resetMs: number, unit = Unit.MINUTE, unitMultiplier?: number): rls.RateLimitResponse_DescriptorStatus {
  return rls.RateLimitResponse_DescriptorStatus.fromPartial({
    code,
    currentLimit: limit === undefined ? undefined : { name: 'r', requestsPerUnit: limit, unit, ...(unitMultiplier === undefined ? {} : { unitMultiplier }) },
    limitRemaining: remaining,
    durationUntilReset: { seconds: BigInt(Math.floor(resetMs / 1000)), nanos: (resetMs % 1000) * 1_000_000 },
  });
}

function response(statuses: rls.RateLimitResponse_DescriptorStatus[], headers: Record<string, string> = {}): rls.RateLimitResponse {
  return rls.RateLimitResponse.fromPartial({
    overallCode: statuses.some((s) => s.code === Code.OVER_LIMIT) ? Code.OVER_LIMIT : Code.OK,
    statuses,
    responseHeadersToAdd: Object.entries(headers).map(([key, value]) => ({ key, value })),
  });
}

describe('summarizeLimit', () => {
  it('tells about the status that refused, even when another has fewer requests left', () => {
    const s = summarizeLimit(response([st(Code.OK, 100, 0, 1_000, Unit.SECOND), st(Code.OVER_LIMIT, 5, 0, 40_000), st(Code.OK, undefined, 0, 0)]));
    expect(s).toEqual({ limit: 5, remaining: 0, window: 'minute', retryAfterSeconds: 40 });
  });

  it('among refusing statuses, prefers fewer remaining, then the longer wait', () => {
    const s = summarizeLimit(response([st(Code.OVER_LIMIT, 10, 0, 5_000, Unit.HOUR), st(Code.OVER_LIMIT, 7, 0, 9_500, Unit.DAY, 7)]));
    expect(s).toEqual({ limit: 7, remaining: 0, window: '7 days', retryAfterSeconds: 10 });
  });

  it("takes the limiter's Retry-After header over the status's time to reset", () => {
    expect(summarizeLimit(response([st(Code.OVER_LIMIT, 5, 0, 40_000)], { 'Retry-After': '3' })).retryAfterSeconds).toBe(3);
  });

  it('never tells a client to retry after less than one second', () => {
    expect(summarizeLimit(response([st(Code.OVER_LIMIT, 5, 0, 0)], { 'Retry-After': '0' })).retryAfterSeconds).toBe(1);
    expect(summarizeLimit(response([])).retryAfterSeconds).toBe(1);
  });
});

describe('RateLimitExceededError', () => {
  it('is RESOURCE_EXHAUSTED with the four trailers and a message naming caller, method, limit and wait', () => {
    const err = new RateLimitExceededError('tight', 'Put', { limit: 5, remaining: 0, window: 'minute', retryAfterSeconds: 12 });
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.message).toBe('rate limit exceeded for caller tight on Put: limit 5 per minute; retry after 12 s');
    expect(err.trailers).toEqual({ 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-retry-after': '12', 'retry-after': '12' });
    expect([err.caller, err.method, err.limit, err.retryAfterSeconds]).toEqual(['tight', 'Put', 5, 12]);
  });
});
