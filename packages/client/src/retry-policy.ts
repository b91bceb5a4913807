import { type Metadata, status } from '@grpc/grpc-js';
import { ClientOptionsError } from './errors.js';

/** How the SDK retries a failed call. Every field has a default; see {@link resolveRetryOptions}. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included. 1 turns retries off.
   * @default 4
   */
  maxAttempts?: number;
  /**
   * Backoff cap of the first retry; it doubles per retry up to `maxDelayMs`.
   * @default 25
   */
  baseDelayMs?: number;
  /**
   * Upper bound of the exponential backoff (a server's `retry-after` may ask for longer).
   * @default 1000
   */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Readonly<Required<RetryOptions>>;

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = { maxAttempts: 4, baseDelayMs: 25, maxDelayMs: 1000 };

/** Fills the defaults in and checks the ranges (one place, so every caller agrees). */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY_OPTIONS, ...stripUndefined(options) };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new ClientOptionsError('retry.maxAttempts', resolved.maxAttempts, 'a positive integer');
  }
  for (const key of ['baseDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) {
      throw new ClientOptionsError(`retry.${key}`, resolved[key], 'a non-negative number');
    }
  }
  return resolved;
}

function stripUndefined(options: RetryOptions): RetryOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/**
 * Full-jitter exponential backoff (the "full jitter" of the AWS architecture blog): a uniform
 * draw from [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))). Spreading the whole interval keeps
 * clients that failed together from retrying together.
 *
 * @param retry 1 for the first retry, 2 for the second…
 * @param random uniform in [0, 1)
 */
export function backoffDelayMs(retry: number, options: ResolvedRetryOptions, random: () => number): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

/** Trailers a rate-limited answer may carry, most specific first; values are seconds. */
export const RETRY_AFTER_KEYS = ['retry-after', 'x-ratelimit-retry-after'] as const;

/**
 * The wait a server asked for in its `retry-after` (or `x-ratelimit-retry-after`) trailer, in
 * ms, or undefined when neither is present and well formed (a non-negative decimal number of
 * seconds).
 */
export function retryAfterMs(metadata: Metadata): number | undefined {
  for (const key of RETRY_AFTER_KEYS) {
    for (const value of metadata.get(key)) {
      const text = (typeof value === 'string' ? value : value.toString('utf8')).trim();
      if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
    }
  }
  return undefined;
}

/** Status codes the SDK retries: transient unavailability and rate limiting. */
export function isRetryable(code: status): boolean {
  return code === status.UNAVAILABLE || code === status.RESOURCE_EXHAUSTED;
}

/**
 * The wait before retry number `retry`, or undefined when the failure is not retried.
 *
 * A RESOURCE_EXHAUSTED that says `retry-after` waits that long plus a jitter below
 * `baseDelayMs`: the server knows when capacity returns, and the jitter keeps the clients it
 * refused together from all arriving in the same millisecond. Without the trailer it backs off
 * like UNAVAILABLE.
 */
export function retryDelayMs(
  failure: { readonly code: status; readonly metadata: Metadata },
  retry: number,
  options: ResolvedRetryOptions,
  random: () => number,
): number | undefined {
  if (!isRetryable(failure.code)) return undefined;
  if (failure.code === status.RESOURCE_EXHAUSTED) {
    const wait = retryAfterMs(failure.metadata);
    if (wait !== undefined) return wait + Math.floor(random() * options.baseDelayMs);
  }
  return backoffDelayMs(retry, options, random);
}
