import { FixedWindowCounter } from './algorithms/fixed-window-counter.js';
import { LeakingBucket } from './algorithms/leaking-bucket.js';
import { SlidingWindowCounter } from './algorithms/sliding-window-counter.js';
import { SlidingWindowLog } from './algorithms/sliding-window-log.js';
import { TokenBucket } from './algorithms/token-bucket.js';
import { checkCount } from './algorithms/common.js';
import { InvalidPolicyError } from './errors.js';
import { isAlgorithmName, isUnit, unitToMs, type Limiter, type LimitPolicy } from './policy.js';

/**
 * A fresh limiter (the state of one counter key) enforcing `policy`.
 *
 * - `fixed_window`, `sliding_window_log`, `sliding_window_counter`: `requestsPerUnit` hits per
 *   window of one `unit`.
 * - `token_bucket`: capacity `burst ?? requestsPerUnit`, refilled `requestsPerUnit` per `unit`.
 * - `leaking_bucket`: queue size `burst ?? requestsPerUnit`, drained `requestsPerUnit` per `unit`.
 *
 * @throws InvalidPolicyError when a count is negative, fractional or unsafe, or the unit or
 *   algorithm is unknown (policies built by the rules engine are already valid).
 */
export function createLimiter(policy: LimitPolicy): Limiter {
  checkCount(policy, 'requestsPerUnit', policy.requestsPerUnit);
  if (policy.burst !== undefined) checkCount(policy, 'burst', policy.burst);
  if (!isUnit(policy.unit)) throw new InvalidPolicyError(policy, 'unit', `unknown unit ${String(policy.unit)}`);
  const unitMs = unitToMs(policy.unit);
  const n = policy.requestsPerUnit;
  const size = policy.burst ?? n;
  switch (policy.algorithm) {
    case 'fixed_window':
      return new FixedWindowCounter(n, unitMs);
    case 'token_bucket':
      return new TokenBucket(size, n, unitMs);
    case 'leaking_bucket':
      return new LeakingBucket(size, n, unitMs);
    case 'sliding_window_log':
      return new SlidingWindowLog(n, unitMs);
    case 'sliding_window_counter':
      return new SlidingWindowCounter(n, unitMs);
    default:
      return unknownAlgorithm(policy, policy.algorithm);
  }
}

function unknownAlgorithm(policy: LimitPolicy, name: never): never {
  const s = String(name);
  throw new InvalidPolicyError(policy, 'algorithm', isAlgorithmName(s) ? s : `unknown algorithm ${s}`);
}
