import { describe, expect, it } from 'vitest';
import type { Decision, LimitPolicy } from '@quorumkv/ratelimit';
import { ceilSeconds, mostRestrictive, rateLimitHeaders, sfString, type HeaderSource } from './headers.js';

const policy = (requestsPerUnit: number, unit: LimitPolicy['unit'] = 'minute'): LimitPolicy => ({ requestsPerUnit, unit, algorithm: 'fixed_window' });
const decision = (d: Partial<Decision>): Decision => ({ allowed: true, limit: 10, remaining: 5, resetAfterMs: 30_000, retryAfterMs: 0, ...d });
const source = (name: string, p: LimitPolicy, d: Partial<Decision>): HeaderSource => ({ name, policy: p, decision: decision(d) });
const asMap = (h: { key: string; value: string }[]): Record<string, string> => Object.fromEntries(h.map((x) => [x.key, x.value]));

describe('rate limit headers', () => {
  it('pick a refused limit before any admitted one, then the fewest remaining, then the longest wait', () => {
    const a = source('a', policy(10), { remaining: 1 });
    const b = source('b', policy(10), { allowed: false, remaining: 4, retryAfterMs: 1_000 });
    const c = source('c', policy(10), { remaining: 1, resetAfterMs: 50_000 });
    expect(mostRestrictive([a, b, c])?.name).toBe('b');
    expect(mostRestrictive([a, c])?.name).toBe('c');
    expect(mostRestrictive([])).toBeUndefined();
  });

  it('follow draft-ietf-httpapi-ratelimit-headers: a quoted policy name with q and w, then r and t', () => {
    const h = asMap(rateLimitHeaders('draft', [source('per-user', policy(10, 'hour'), { remaining: 3, resetAfterMs: 41_200 })], false));
    expect(h).toEqual({ 'RateLimit-Policy': '"per-user";q=10;w=3600', RateLimit: '"per-user";r=3;t=42' });
  });

  it('x-ratelimit: X-Ratelimit-Limit and -Remaining, and -Retry-After in seconds only when refused', () => {
    const ok = asMap(rateLimitHeaders('x-ratelimit', [source('x', policy(10), { remaining: 3 })], false));
    expect(ok).toEqual({ 'X-Ratelimit-Limit': '10', 'X-Ratelimit-Remaining': '3' });
    const refused = asMap(rateLimitHeaders('x-ratelimit', [source('x', policy(10), { allowed: false, remaining: 0, retryAfterMs: 1_500 })], true));
    expect(refused).toEqual({ 'X-Ratelimit-Limit': '10', 'X-Ratelimit-Remaining': '0', 'X-Ratelimit-Retry-After': '2', 'Retry-After': '2' });
  });

  it('add nothing in mode none or without an enforced limit', () => {
    expect(rateLimitHeaders('none', [source('x', policy(1), {})], true)).toEqual([]);
    expect(rateLimitHeaders('all', [], false)).toEqual([]);
  });

  it('report a week as a 604800-second window', () => {
    const h = asMap(rateLimitHeaders('draft', [source('w', policy(7, 'week'), {})], false));
    expect(h['RateLimit-Policy']).toBe('"w";q=7;w=604800');
  });

  it('escape a policy name into a valid Structured Fields string', () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(sfString('naïve\n')).toBe('"na?ve?"');
  });

  it('round seconds up so a client never retries early', () => {
    expect([0, 1, 999, 1000, 1001].map(ceilSeconds)).toEqual([0, 1, 1, 1, 2]);
  });
});
