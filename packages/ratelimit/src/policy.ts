/**
 * The vocabulary shared by the algorithms and the rules engine: units, algorithm names, a limit
 * policy, and the decision every limiter returns.
 */

/** A rate-limit time unit, spelled as in the Envoy ratelimit grammar (lower case). */
export type Unit = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

/** Every unit, shortest first. */
export const UNITS: readonly Unit[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'];

const SECOND_MS = 1000;
const DAY_MS = 86_400 * SECOND_MS;

const UNIT_MS: Readonly<Record<Unit, number>> = {
  second: SECOND_MS,
  minute: 60 * SECOND_MS,
  hour: 3600 * SECOND_MS,
  day: DAY_MS,
  week: 7 * DAY_MS,
  // Why fixed lengths: envoyproxy/ratelimit (src/utils/utilities.go, UnitToDivider) divides
  // time into windows of 30 days for a month and 365 days for a year, aligned to the Unix
  // epoch, so a window never depends on a calendar or a time zone. We follow it so a rule means
  // the same here as behind Envoy's own service.
  month: 30 * DAY_MS,
  year: 365 * DAY_MS,
};

/**
 * The length of one unit in milliseconds. A month is 30 days and a year 365 days, as in
 * envoyproxy/ratelimit; windows are aligned to the Unix epoch.
 */
export function unitToMs(u: Unit): number {
  return UNIT_MS[u];
}

/** Whether a string names a unit (case-sensitive, lower case). */
export function isUnit(s: string): s is Unit {
  return Object.prototype.hasOwnProperty.call(UNIT_MS, s);
}

/** The five algorithms of the notes, as named in rule files (`rate_limit.algorithm`). */
export type AlgorithmName =
  | 'fixed_window'
  | 'token_bucket'
  | 'leaking_bucket'
  | 'sliding_window_log'
  | 'sliding_window_counter';

/** Every algorithm name; `fixed_window` (Envoy's own algorithm) is the default. */
export const ALGORITHMS: readonly AlgorithmName[] = [
  'fixed_window',
  'token_bucket',
  'leaking_bucket',
  'sliding_window_log',
  'sliding_window_counter',
];

/** The algorithm a rule uses when it names none: Envoy's fixed window. */
export const DEFAULT_ALGORITHM: AlgorithmName = 'fixed_window';

/** Whether a string names one of the five algorithms. */
export function isAlgorithmName(s: string): s is AlgorithmName {
  return (ALGORITHMS as readonly string[]).includes(s);
}

/**
 * One limit: `requestsPerUnit` per `unit`, enforced by `algorithm`.
 *
 * For the two buckets `requestsPerUnit / unit` is the refill (token bucket) or outflow (leaking
 * bucket) rate and `burst` is the capacity (token bucket) or queue size (leaking bucket);
 * `burst` defaults to `requestsPerUnit`. The window algorithms ignore `burst`.
 */
export interface LimitPolicy {
  readonly requestsPerUnit: number;
  readonly unit: Unit;
  readonly algorithm: AlgorithmName;
  readonly burst?: number;
}

/**
 * The answer to one `decide` call. All times are relative to the `nowMs` passed in.
 */
export interface Decision {
  /** Whether the hits were admitted (all of them: a decision never admits part of a request). */
  readonly allowed: boolean;
  /** The most hits the limiter can ever hold at once: the window limit or the bucket size. */
  readonly limit: number;
  /** Hits that would still be admitted right now, after this decision. */
  readonly remaining: number;
  /** Milliseconds until the state is back to fresh (window over, bucket full or empty). */
  readonly resetAfterMs: number;
  /**
   * Milliseconds until the same request could be admitted (if nothing else arrives); 0 exactly
   * when allowed. A request larger than `limit` is never admitted; for it this is `resetAfterMs`
   * but at least one unit, so a client that obeys it does not spin.
   */
  readonly retryAfterMs: number;
}

/** The state machine of one counter key. Pure: time comes in as an argument. */
export interface Limiter {
  /**
   * Try to admit `hits` (a non-negative integer) at time `nowMs`. All or nothing: rejected hits
   * consume nothing. `hits = 0` reports the state without changing it. A `nowMs` earlier than
   * one already seen is treated as the latest time seen (clocks may step back; limits must not
   * loosen because of it).
   */
  decide(hits: number, nowMs: number): Decision;
  /**
   * Gives `hits` back at `nowMs` (Envoy's `is_negative_hits`: a caller returning what it took,
   * e.g. a request that turned out not to count). Never banks credit: the state goes back at
   * most to fresh, so `remaining` never exceeds `limit`. Refunding right after an admitted
   * `decide(hits, t)` at the same `t` restores the state the limiter had before it. Returns the
   * state after the refund (always allowed).
   */
  refund(hits: number, nowMs: number): Decision;
  /** Approximate bytes of state this limiter holds (for accounting; see the README figures). */
  sizeBytes(): number;
}
