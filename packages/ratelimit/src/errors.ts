import type { LimitPolicy } from './policy.js';

/** A limit policy that no limiter can enforce (negative, fractional or non-finite numbers). */
export class InvalidPolicyError extends Error {
  override readonly name = 'InvalidPolicyError';
  constructor(
    readonly policy: LimitPolicy,
    readonly field: 'requestsPerUnit' | 'burst' | 'unit' | 'algorithm',
    readonly problem: string,
  ) {
    super(`invalid limit policy: ${field}: ${problem}`);
  }
}

/** A `decide` call with a hit count that is not a non-negative safe integer. */
export class InvalidHitsError extends Error {
  override readonly name = 'InvalidHitsError';
  constructor(readonly hits: number) {
    super(`hits must be a non-negative integer, got ${hits}`);
  }
}
