import { describe, expect, it } from 'vitest';
import { parseGrpcTimeout } from './grpc-timeout.js';

describe('parseGrpcTimeout', () => {
  it('reads every unit of the gRPC spec into milliseconds', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('4S')).toBe(4_000);
    expect(parseGrpcTimeout('20m')).toBe(20);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('99999999n')).toBeCloseTo(99.999999);
  });

  it('tells an absent header (undefined) from a malformed one (null)', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    for (const bad of ['', '20', 'm', '123456789S', '1.5S', '-1S', '20ms', ' 20m']) expect(parseGrpcTimeout(bad)).toBeNull();
    expect(parseGrpcTimeout(['1S', '2S'])).toBeNull();
  });
});
