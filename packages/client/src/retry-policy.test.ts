import { Metadata, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientOptionsError } from './errors.js';
import { DEFAULT_RETRY_OPTIONS, backoffDelayMs, resolveRetryOptions, retryAfterMs, retryDelayMs } from './retry-policy.js';

function trailers(entries: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

describe('backoffDelayMs', () => {
  it('draws from [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))) for every retry and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (retry, r, baseDelayMs, maxDelayMs) => {
          const options = { maxAttempts: 4, baseDelayMs, maxDelayMs };
          const d = backoffDelayMs(retry, options, () => r);
          const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(cap);
        },
      ),
    );
  });

  it('doubles the cap per retry until maxDelayMs', () => {
    const almostOne = (): number => 0.9999;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(n, DEFAULT_RETRY_OPTIONS, almostOne))).toEqual([
      24, 49, 99, 199, 399, 799, 999, 999,
    ]);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after seconds, whole or decimal, as whole milliseconds rounded up', () => {
    expect(retryAfterMs(trailers({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(trailers({ 'retry-after': ' 0.0015 ' }))).toBe(2);
  });

  it('prefers retry-after over x-ratelimit-retry-after and falls back to it', () => {
    expect(retryAfterMs(trailers({ 'retry-after': '1', 'x-ratelimit-retry-after': '9' }))).toBe(1000);
    expect(retryAfterMs(trailers({ 'x-ratelimit-retry-after': '9' }))).toBe(9000);
  });

  it('ignores absent, negative or malformed values', () => {
    expect(retryAfterMs(new Metadata())).toBeUndefined();
    expect(retryAfterMs(trailers({ 'retry-after': '-1' }))).toBeUndefined();
    expect(retryAfterMs(trailers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }))).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const none = new Metadata();

  it('retries only UNAVAILABLE and RESOURCE_EXHAUSTED', () => {
    for (const code of Object.values(status).filter((v): v is status => typeof v === 'number')) {
      const d = retryDelayMs({ code, metadata: none }, 1, DEFAULT_RETRY_OPTIONS, () => 0);
      expect(d !== undefined).toBe(code === status.UNAVAILABLE || code === status.RESOURCE_EXHAUSTED);
    }
  });

  it('backs off exponentially on RESOURCE_EXHAUSTED without retry-after', () => {
    const d = retryDelayMs({ code: status.RESOURCE_EXHAUSTED, metadata: none }, 3, DEFAULT_RETRY_OPTIONS, () => 0.5);
    expect(d).toBe(50);
  });

  it('ignores retry-after on UNAVAILABLE (only a rate limit says when capacity returns)', () => {
    const md = trailers({ 'retry-after': '5' });
    expect(retryDelayMs({ code: status.UNAVAILABLE, metadata: md }, 1, DEFAULT_RETRY_OPTIONS, () => 0.5)).toBe(12);
  });
});

describe('resolveRetryOptions', () => {
  it('fills every default and keeps what the caller set', () => {
    expect(resolveRetryOptions({ maxAttempts: 2, baseDelayMs: undefined })).toEqual({ ...DEFAULT_RETRY_OPTIONS, maxAttempts: 2 });
  });

  it('names the option that is out of range', () => {
    expect(() => resolveRetryOptions({ maxAttempts: 0 })).toThrow(ClientOptionsError);
    expect(() => resolveRetryOptions({ maxDelayMs: -1 })).toThrow(/retry\.maxDelayMs/);
  });
});
