import { isAlgorithmName, isUnit, unitToMs, type LimitPolicy, type Unit } from '@quorumkv/ratelimit';
import { type ratelimitReplica, rls, envoyType } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';

const RlsUnit = rls.RateLimitResponse_RateLimit_Unit;
const OverrideUnit = envoyType.RateLimitUnit;

/** Envoy's response-unit enum for one of our units; a week is reported as 7 days. */
export function toEnvoyLimit(
  policy: LimitPolicy,
  name: string,
): rls.RateLimitResponse_RateLimit {
  const base = { name, requestsPerUnit: policy.requestsPerUnit };
  switch (policy.unit) {
    case 'second':
      return { ...base, unit: RlsUnit.SECOND };
    case 'minute':
      return { ...base, unit: RlsUnit.MINUTE };
    case 'hour':
      return { ...base, unit: RlsUnit.HOUR };
    case 'day':
      return { ...base, unit: RlsUnit.DAY };
    // Envoy's enum has no WEEK; unit_multiplier (Envoy ≥ 1.35) says "7 days" on the wire.
    case 'week':
      return { ...base, unit: RlsUnit.DAY, unitMultiplier: 7 };
    case 'month':
      return { ...base, unit: RlsUnit.MONTH };
    case 'year':
      return { ...base, unit: RlsUnit.YEAR };
  }
}

/**
 * The unit of a request's `limit` override. A multiplier is accepted only where it names one of
 * our units (7 days = a week); any other window cannot be enforced exactly, so it is refused.
 * @throws InvalidArgumentError naming the field.
 */
export function overrideUnit(
  field: string,
  unit: envoyType.RateLimitUnit,
  multiplier: number | undefined,
): Unit {
  const m = multiplier === undefined || multiplier === 0 ? 1 : multiplier;
  let u: Unit | undefined;
  switch (unit) {
    case OverrideUnit.SECOND:
      u = 'second';
      break;
    case OverrideUnit.MINUTE:
      u = 'minute';
      break;
    case OverrideUnit.HOUR:
      u = 'hour';
      break;
    case OverrideUnit.DAY:
      u = m === 7 ? 'week' : 'day';
      break;
    case OverrideUnit.MONTH:
      u = 'month';
      break;
    case OverrideUnit.YEAR:
      u = 'year';
      break;
    default:
      throw new InvalidArgumentError(`${field}.unit`, `must be SECOND, MINUTE, HOUR, DAY, MONTH or YEAR, got ${unit}`);
  }
  if (m !== 1 && !(u === 'week' && m === 7)) {
    throw new InvalidArgumentError(`${field}.unit_multiplier`, `only 1 (or 7 with DAY) is supported, got ${m}`);
  }
  return u;
}

/** The window length of a policy in whole seconds (for `RateLimit-Policy: …;w=`). */
export function windowSeconds(policy: LimitPolicy): number {
  return Math.round(unitToMs(policy.unit) / 1000);
}

/** A string that differs whenever two policies would need different limiter state. */
export function policySignature(policy: LimitPolicy): string {
  return `${policy.requestsPerUnit}/${policy.unit}/${policy.algorithm}/${policy.burst ?? ''}`;
}

/** The policy as it travels to the owner replica. */
export function encodePolicy(policy: LimitPolicy): ratelimitReplica.LimitPolicy {
  return {
    requestsPerUnit: policy.requestsPerUnit,
    unit: policy.unit,
    algorithm: policy.algorithm,
    burst: policy.burst ?? 0,
    unitMultiplier: 0,
  };
}

/** A forwarded policy that cannot be enforced. */
export class BadForwardedPolicyError extends Error {
  override readonly name = 'BadForwardedPolicyError';
  constructor(readonly problem: string) {
    super(`forwarded policy: ${problem}`);
  }
}

/**
 * The policy a peer forwarded, checked (peers run the same code, but a mixed-version rollout
 * must not crash the owner).
 * @throws BadForwardedPolicyError
 */
export function decodePolicy(p: ratelimitReplica.LimitPolicy | undefined): LimitPolicy {
  if (!p) throw new BadForwardedPolicyError('missing');
  if (!isUnit(p.unit)) throw new BadForwardedPolicyError(`unknown unit "${p.unit}"`);
  if (!isAlgorithmName(p.algorithm)) throw new BadForwardedPolicyError(`unknown algorithm "${p.algorithm}"`);
  if (p.unitMultiplier > 1) throw new BadForwardedPolicyError(`unit multiplier ${p.unitMultiplier} is not supported`);
  return {
    requestsPerUnit: p.requestsPerUnit,
    unit: p.unit,
    algorithm: p.algorithm,
    ...(p.burst > 0 ? { burst: p.burst } : {}),
  };
}
