/**
 * Golden bytes written by hand from Envoy's field numbers (envoy/service/ratelimit/v3/rls.proto,
 * envoy/extensions/common/ratelimit/v3/ratelimit.proto, envoy/config/core/v3/base.proto): if a
 * field number or type in proto/envoy drifts from Envoy's, these stop decoding as expected.
 */
import { describe, expect, it } from 'vitest';
import { envoyType, rls } from '@quorumkv/proto';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('Envoy RLS wire format', () => {
  it('decodes a RateLimitRequest as Envoy encodes it, every descriptor field included', () => {
    const bytes = hex(`
      0a 01 64                              # domain = 1: "d"
      12 18                                 # descriptors = 2 (24 bytes)
        0a 06 0a 01 6b 12 01 76             #   entries = 1: { key = 1: "k", value = 2: "v" }
        12 08 08 05 10 02 1a 02 08 01       #   limit = 2: { requests_per_unit = 1: 5, unit = 2: MINUTE, unit_multiplier = 3: {1} }
        1a 02 08 07                         #   hits_addend = 3: UInt64Value {7}
        20 01                               #   is_negative_hits = 4: true
      18 02                                 # hits_addend = 3: 2
    `.replace(/#.*$/gm, ''));
    expect(rls.RateLimitRequest.decode(bytes)).toEqual({
      domain: 'd',
      descriptors: [
        {
          entries: [{ key: 'k', value: 'v' }],
          limit: { requestsPerUnit: 5, unit: envoyType.RateLimitUnit.MINUTE, unitMultiplier: 1 },
          hitsAddend: 7n,
          isNegativeHits: true,
        },
      ],
      hitsAddend: 2,
    });
  });

  it('decodes a RateLimitResponse as Envoy reads it, every field included', () => {
    const bytes = hex(`
      08 02                                 # overall_code = 1: OVER_LIMIT
      12 15                                 # statuses = 2 (21 bytes)
        08 02                               #   code = 1: OVER_LIMIT
        12 0b 08 0a 10 02 1a 01 6e 22 02 08 07  # current_limit = 2: { rpu = 1: 10, unit = 2: MINUTE, name = 3: "n", unit_multiplier = 4: {7} }
        18 03                               #   limit_remaining = 3: 3
        22 02 08 2a                         #   duration_until_reset = 4: { seconds: 42 }
      1a 06 0a 01 61 12 01 62               # response_headers_to_add = 3: { key = 1: "a", value = 2: "b" }
      22 06 0a 01 63 12 01 64               # request_headers_to_add = 4: { "c": "d" }
      2a 02 68 69                           # raw_body = 5: "hi"
      32 0a 0a 08 0a 01 78 12 03 1a 01 79   # dynamic_metadata = 6: Struct { "x": "y" }
      3a 09 08 05 12 02 08 01 1a 01 71      # quota = 7: { requests = 1: 5, valid_until = 2: {1 s}, id = 3: "q" }
    `.replace(/#.*$/gm, ''));
    const res = rls.RateLimitResponse.decode(bytes);
    expect(res.overallCode).toBe(rls.RateLimitResponse_Code.OVER_LIMIT);
    expect(res.statuses).toEqual([
      {
        code: rls.RateLimitResponse_Code.OVER_LIMIT,
        currentLimit: { requestsPerUnit: 10, unit: rls.RateLimitResponse_RateLimit_Unit.MINUTE, name: 'n', unitMultiplier: 7 },
        limitRemaining: 3,
        durationUntilReset: { seconds: 42n, nanos: 0 },
        quota: undefined,
      },
    ]);
    expect(res.responseHeadersToAdd).toEqual([{ key: 'a', value: 'b', rawValue: Buffer.alloc(0) }]);
    expect(res.requestHeadersToAdd).toEqual([{ key: 'c', value: 'd', rawValue: Buffer.alloc(0) }]);
    expect(res.rawBody.toString()).toBe('hi');
    expect(res.dynamicMetadata).toEqual({ x: 'y' });
    expect(res.quota).toEqual({ requests: 5, expirationSpecifier: { $case: 'validUntil', validUntil: new Date(1000) }, id: 'q' });
  });

  it('keeps Envoy\'s enum numbers: UNKNOWN, OK, OVER_LIMIT and SECOND…YEAR', () => {
    expect([rls.RateLimitResponse_Code.UNKNOWN, rls.RateLimitResponse_Code.OK, rls.RateLimitResponse_Code.OVER_LIMIT]).toEqual([0, 1, 2]);
    const U = rls.RateLimitResponse_RateLimit_Unit;
    expect([U.UNKNOWN, U.SECOND, U.MINUTE, U.HOUR, U.DAY, U.MONTH, U.YEAR]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const V = envoyType.RateLimitUnit;
    expect([V.UNKNOWN, V.SECOND, V.MINUTE, V.HOUR, V.DAY, V.MONTH, V.YEAR]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(rls.RateLimitServiceService.shouldRateLimit.path).toBe('/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit');
  });
});
