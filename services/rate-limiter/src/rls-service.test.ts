import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { envoyType, rls } from '@quorumkv/proto';
import { request, startTestLimiter, type TestLimiter } from './test-harness.js';

const Code = rls.RateLimitResponse_Code;
const Unit = rls.RateLimitResponse_RateLimit_Unit;

const RULES = `
domain: shop
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: path
    value: /api*
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: client
    value: trusted
  - key: client
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: internal
    rate_limit: {unlimited: true}
  - key: soft
    shadow_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: tenant
    descriptors:
      - key: method
        rate_limit: {unit: hour, requests_per_unit: 2, name: tenant-method}
`;

// The start of a minute (and an hour) plus one second: windows are aligned to the epoch.
const T0 = Date.UTC(2030, 0, 1, 0, 0, 1);

// Every case runs against both ways of serving the call: straight from HTTP/2 (the default)
// and through grpc-js (`--direct-serve false`); the answers must be the same.
describe.each([
  ['served straight from HTTP/2', true],
  ['served by grpc-js', false],
])('ShouldRateLimit over gRPC, %s', (_how, directServe) => {
  let limiter: TestLimiter;
  let now = T0;

  beforeAll(async () => {
    limiter = await startTestLimiter({ rules: { 'shop.yaml': RULES }, now: () => now, directServe });
  });
  afterAll(async () => {
    await limiter.close();
  });
  beforeEach(() => {
    // Each test moves to a fresh hour so counters from other tests never interfere.
    now += 3_600_000;
  });

  it('admits a key-only limit exactly requests_per_unit times per window, then answers OVER_LIMIT', async () => {
    const codes: number[] = [];
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await limiter.shouldRateLimit(request('shop', [['user', 'alice']]));
      codes.push(res.overallCode);
      remaining.push(res.statuses[0]!.limitRemaining);
    }
    expect(codes).toEqual([Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT]);
    expect(remaining).toEqual([2, 1, 0, 0]);
    const last = await limiter.shouldRateLimit(request('shop', [['user', 'alice']]));
    expect(last.statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, currentLimit: { requestsPerUnit: 3, unit: Unit.MINUTE } });
    expect(last.statuses[0]!.durationUntilReset).toEqual({ seconds: 59n, nanos: 0 });
    // A key-only default counts each value on its own.
    expect((await limiter.shouldRateLimit(request('shop', [['user', 'bob']]))).overallCode).toBe(Code.OK);
    // The next window starts fresh.
    now += 60_000;
    expect((await limiter.shouldRateLimit(request('shop', [['user', 'alice']]))).overallCode).toBe(Code.OK);
  });

  it('matches a rule only at its own depth: shallower or deeper descriptors are not limited', async () => {
    const shallow = await limiter.shouldRateLimit(request('shop', [['tenant', 'a']]));
    const deeper = await limiter.shouldRateLimit(request('shop', [['tenant', 'a'], ['method', 'get'], ['extra', 'x']]));
    const exact = await limiter.shouldRateLimit(request('shop', [['tenant', 'a'], ['method', 'get']]));
    expect(shallow.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: undefined });
    expect(deeper.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: undefined });
    expect(exact.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: { requestsPerUnit: 2, unit: Unit.HOUR, name: 'tenant-method' }, limitRemaining: 1 });
  });

  it('never limits an allow-listed value, while other values of the key are limited', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await limiter.shouldRateLimit(request('shop', [['client', 'trusted']]));
      expect(res.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: undefined });
    }
    const others = [];
    for (let i = 0; i < 3; i++) others.push((await limiter.shouldRateLimit(request('shop', [['client', 'other']]))).overallCode);
    expect(others).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT]);
  });

  it('answers an unlimited rule OK with no current_limit and the maximum remaining, however often', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await limiter.shouldRateLimit(request('shop', [['internal', 'batch']]));
      expect(res.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: undefined, limitRemaining: 0xffff_ffff });
      expect(res.responseHeadersToAdd).toEqual([]);
    }
  });

  it('applies a wildcard value to every value with its prefix, each value counted apart', async () => {
    const v1 = [];
    for (let i = 0; i < 3; i++) v1.push((await limiter.shouldRateLimit(request('shop', [['path', '/api/v1']]))).overallCode);
    expect(v1).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT]);
    expect((await limiter.shouldRateLimit(request('shop', [['path', '/api/v2']]))).overallCode).toBe(Code.OK);
    const other = await limiter.shouldRateLimit(request('shop', [['path', '/static/x']]));
    expect(other.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: undefined });
  });

  it('in shadow mode counts a request over the limit but answers OK', async () => {
    const before = (await limiter.listRules('shop')).rules.find((r) => r.id === 'shop.soft')!.counters!;
    const first = await limiter.shouldRateLimit(request('shop', [['soft', 'x']]));
    const second = await limiter.shouldRateLimit(request('shop', [['soft', 'x']]));
    expect(first.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
    expect(second.overallCode).toBe(Code.OK);
    expect(second.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: { requestsPerUnit: 1 } });
    // A soft limit never shows in the headers: the client was not limited.
    expect(second.responseHeadersToAdd).toEqual([]);
    const after = (await limiter.listRules('shop')).rules.find((r) => r.id === 'shop.soft')!.counters!;
    expect(after.totalHits - before.totalHits).toBe(2n);
    expect(after.overLimit - before.overLimit).toBe(1n);
    expect(after.shadowMode - before.shadowMode).toBe(1n);
    expect(after.withinLimit - before.withinLimit).toBe(1n);
  });

  it('lets a descriptor limit override replace the rule, counted apart from the rule and never in shadow mode', async () => {
    const withOverride = (rpu: number): rls.RateLimitRequest => {
      const req = request('shop', [['user', 'carol']]);
      req.descriptors[0]!.limit = { requestsPerUnit: rpu, unit: envoyType.RateLimitUnit.MINUTE, unitMultiplier: undefined };
      return req;
    };
    const a = await limiter.shouldRateLimit(withOverride(1));
    const b = await limiter.shouldRateLimit(withOverride(1));
    expect(a.statuses[0]).toMatchObject({ code: Code.OK, currentLimit: { requestsPerUnit: 1, unit: Unit.MINUTE } });
    expect(b.statuses[0]!.code).toBe(Code.OVER_LIMIT);
    // The rule's own counter for carol is untouched by the override's hits.
    const plain = await limiter.shouldRateLimit(request('shop', [['user', 'carol']]));
    expect(plain.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2, currentLimit: { requestsPerUnit: 3 } });
    // An override applies even to a descriptor no rule matches (the domain is known)…
    const unmatched = request('shop', [['nothing', 'here']]);
    unmatched.descriptors[0]!.limit = { requestsPerUnit: 5, unit: envoyType.RateLimitUnit.HOUR, unitMultiplier: undefined };
    expect((await limiter.shouldRateLimit(unmatched)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4, currentLimit: { requestsPerUnit: 5, unit: Unit.HOUR } });
    // …and an override on a shadow-mode rule is enforced.
    const soft = request('shop', [['soft', 'override']]);
    soft.descriptors[0]!.limit = { requestsPerUnit: 1, unit: envoyType.RateLimitUnit.MINUTE, unitMultiplier: undefined };
    await limiter.shouldRateLimit(soft);
    expect((await limiter.shouldRateLimit(soft)).overallCode).toBe(Code.OVER_LIMIT);
  });

  it('adds hits_addend hits (0 means 1), a descriptor hits_addend overriding the request one', async () => {
    const two = { ...request('shop', [['user', 'dave']]), hitsAddend: 2 };
    expect((await limiter.shouldRateLimit(two)).statuses[0]!.limitRemaining).toBe(1);
    const zero = { ...request('shop', [['user', 'dave']]), hitsAddend: 0 };
    expect((await limiter.shouldRateLimit(zero)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
    const erin = request('shop', [['user', 'erin']]);
    erin.hitsAddend = 1;
    erin.descriptors[0]!.hitsAddend = 3n;
    expect((await limiter.shouldRateLimit(erin)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
    const tooMany = request('shop', [['user', 'frank']]);
    tooMany.descriptors[0]!.hitsAddend = 4n;
    // All or nothing: a request larger than what is left is refused and consumes nothing.
    expect((await limiter.shouldRateLimit(tooMany)).statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, limitRemaining: 3 });
  });

  it("treats a descriptor's own hits_addend of 0 as a check that counts nothing (envoyproxy/ratelimit: zero means check only)", async () => {
    const check = request('shop', [['user', 'hana']]);
    check.descriptors[0]!.hitsAddend = 0n;
    for (let i = 0; i < 5; i++) expect((await limiter.shouldRateLimit(check)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 3 });
    const counted = request('shop', [['user', 'hana']]);
    for (let i = 0; i < 3; i++) await limiter.shouldRateLimit(counted);
    // Used up but not over: a check still passes and reports nothing left; a real hit is refused.
    expect((await limiter.shouldRateLimit(check)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
    expect((await limiter.shouldRateLimit(counted)).overallCode).toBe(Code.OVER_LIMIT);
  });

  it('gives hits back for is_negative_hits (a refund), never past a fresh limit', async () => {
    const take = request('shop', [['user', 'ivan']]);
    for (let i = 0; i < 3; i++) await limiter.shouldRateLimit(take);
    expect((await limiter.shouldRateLimit(take)).overallCode).toBe(Code.OVER_LIMIT);
    const refund = request('shop', [['user', 'ivan']]);
    refund.descriptors[0]!.hitsAddend = 2n;
    refund.descriptors[0]!.isNegativeHits = true;
    expect((await limiter.shouldRateLimit(refund)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
    expect((await limiter.shouldRateLimit(take)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 1 });
    // Refunding more than was taken only gets back to the full limit: no credit is banked.
    refund.descriptors[0]!.hitsAddend = 10n;
    expect((await limiter.shouldRateLimit(refund)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 3 });
    // Without its own hits_addend a refund gives back the request's hits_addend (0 means 1).
    const one = request('shop', [['user', 'ivan']]);
    one.descriptors[0]!.isNegativeHits = true;
    await limiter.shouldRateLimit(take);
    expect((await limiter.shouldRateLimit(one)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 3 });
  });

  it('answers one status per descriptor in request order, OVER_LIMIT overall when any limited one is over', async () => {
    await limiter.shouldRateLimit(request('shop', [['client', 'x']]));
    await limiter.shouldRateLimit(request('shop', [['client', 'x']]));
    const res = await limiter.shouldRateLimit(request('shop', [['internal', 'a']], [['user', 'gina']], [['client', 'x']], [['nothing', 'z']]));
    expect(res.overallCode).toBe(Code.OVER_LIMIT);
    expect(res.statuses.map((s) => s.code)).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT, Code.OK]);
    expect(res.statuses.map((s) => s.currentLimit?.requestsPerUnit)).toEqual([undefined, 3, 2, undefined]);
  });

  it('adds the draft and the X-Ratelimit headers for the most restrictive limit, and Retry-After when over', async () => {
    const ok = await limiter.shouldRateLimit(request('shop', [['user', 'hal']], [['client', 'hal']]));
    const headers = Object.fromEntries(ok.responseHeadersToAdd.map((h) => [h.key, h.value]));
    expect(headers).toEqual({
      'RateLimit-Policy': '"shop.client";q=2;w=60',
      RateLimit: '"shop.client";r=1;t=59',
      'X-Ratelimit-Limit': '2',
      'X-Ratelimit-Remaining': '1',
    });
    await limiter.shouldRateLimit(request('shop', [['client', 'hal']]));
    const over = await limiter.shouldRateLimit(request('shop', [['user', 'hal']], [['client', 'hal']]));
    const overHeaders = Object.fromEntries(over.responseHeadersToAdd.map((h) => [h.key, h.value]));
    expect(overHeaders).toMatchObject({ RateLimit: '"shop.client";r=0;t=59', 'X-Ratelimit-Retry-After': '59', 'Retry-After': '59' });
  });

  it('answers a domain it has no rules for with OK and no limits', async () => {
    const res = await limiter.shouldRateLimit(request('elsewhere', [['user', 'alice']]));
    expect(res.overallCode).toBe(Code.OK);
    expect(res.statuses).toEqual([{ code: Code.OK, currentLimit: undefined, limitRemaining: 0, durationUntilReset: undefined, quota: undefined }]);
  });

  it('refuses an empty domain, an empty descriptor list and an unknown override unit with INVALID_ARGUMENT, counting nothing', async () => {
    const codeOf = async (req: Partial<rls.RateLimitRequest>): Promise<number | undefined> => {
      try {
        await limiter.shouldRateLimit(req);
        return undefined;
      } catch (err) {
        return (err as ServiceError).code;
      }
    };
    expect(await codeOf(request('', [['user', 'x']]))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf({ domain: 'shop', descriptors: [] })).toBe(status.INVALID_ARGUMENT);
    const bad = request('shop', [['user', 'ivan']], [['user', 'ivan']]);
    bad.descriptors[1]!.limit = { requestsPerUnit: 1, unit: envoyType.RateLimitUnit.UNKNOWN, unitMultiplier: undefined };
    expect(await codeOf(bad)).toBe(status.INVALID_ARGUMENT);
    // The first descriptor of the refused request was not counted.
    expect((await limiter.shouldRateLimit(request('shop', [['user', 'ivan']]))).statuses[0]!.limitRemaining).toBe(2);
  });

  it('lists the loaded rules with Envoy-named counters and the config load count', async () => {
    const res = await limiter.listRules('shop');
    expect(res.configLoadSuccess).toBe(1n);
    expect(res.configLoadError).toBe(0n);
    const user = res.rules.find((r) => r.id === 'shop.user')!;
    expect(user).toMatchObject({ domain: 'shop', requestsPerUnit: 3, unit: 'minute', algorithm: 'fixed_window', unlimited: false });
    expect(user.counters!.totalHits).toBeGreaterThan(0n);
    expect(user.counters!.totalHits).toBe(user.counters!.withinLimit + user.counters!.overLimit);
    expect(res.rules.find((r) => r.id === 'shop.internal')).toMatchObject({ unlimited: true, requestsPerUnit: 0 });
    expect(res.replica).toMatchObject({ id: 'rl-1', replicas: ['rl-1'], failureMode: 'open', ownerUnreachable: 0n });
  });
});
