import { Metadata } from '@grpc/grpc-js';
import { DeadlineExceededError, type QuorumKvError } from './errors.js';
import { type ResolvedRetryOptions, retryDelayMs } from './retry-policy.js';

/** Time and randomness the retry loop uses; injected so tests choose every delay. */
export interface RetryClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

/** One decision to retry: which attempt failed, how, and how long the loop waits. */
export interface RetryEvent {
  /** The attempt that failed (1 for the first call). */
  readonly attempt: number;
  readonly error: QuorumKvError;
  readonly delayMs: number;
}

/** Everything {@link callWithRetry} needs besides the call itself. */
export interface CallWithRetryOptions {
  readonly retry: ResolvedRetryOptions;
  readonly clock: RetryClock;
  /** The overall deadline of the call, retries and waits included. */
  readonly deadlineMs: number;
  /** Turns what an attempt rejected with into a typed error (`attempts` made so far). */
  readonly toError: (err: unknown, attempts: number) => QuorumKvError;
  /** Told before each wait; for logging and metrics. */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails with a status that is not retried, runs out of
 * attempts, or would run past the overall deadline. `attempt` gets the milliseconds left of the
 * overall deadline and must not run longer.
 *
 * This is a wrapper rather than a grpc-js interceptor on purpose: the decision needs the overall
 * deadline measured on the injected clock, the injected sleep and randomness, and the typed
 * error; a callback-style interceptor would have to re-issue calls and re-derive all three.
 *
 * Why it gives up early instead of sleeping to the deadline: when the next wait would end at
 * or past the deadline, a retry could not finish in time anyway, so the caller gets the real
 * failure (say a `RateLimitedError` with its `retryAfterMs`) now rather than a
 * DEADLINE_EXCEEDED later.
 */
export async function callWithRetry<T>(
  attempt: (remainingMs: number) => Promise<T>,
  options: CallWithRetryOptions,
): Promise<T> {
  const { clock, retry, deadlineMs } = options;
  const end = clock.now() + deadlineMs;
  let lastError: QuorumKvError | undefined;
  for (let n = 1; ; n++) {
    const remaining = end - clock.now();
    if (remaining <= 0) {
      throw lastError ?? new DeadlineExceededError(deadlineMs, `no time left of ${deadlineMs} ms`, new Metadata(), n - 1);
    }
    try {
      return await attempt(remaining);
    } catch (err: unknown) {
      const error = options.toError(err, n);
      lastError = error;
      if (n >= retry.maxAttempts) throw error;
      const delayMs = retryDelayMs(error, n, retry, () => clock.random());
      if (delayMs === undefined || clock.now() + delayMs >= end) throw error;
      options.onRetry?.({ attempt: n, error, delayMs });
      await clock.sleep(delayMs);
    }
  }
}
