import { Metadata, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RetryClock, callWithRetry } from './call-with-retry.js';
import { DeadlineExceededError, QuorumKvError, RateLimitedError, UnavailableError } from './errors.js';
import { DEFAULT_RETRY_OPTIONS } from './retry-policy.js';

/** A clock whose sleeps advance time at once; `elapse` stands for time an attempt takes. */
function fakeClock(random: () => number): RetryClock & { t: number; delays: number[] } {
  const clock = {
    t: 0,
    delays: [] as number[],
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.delays.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
    random,
  };
  return clock;
}

const unavailable = (attempts: number): QuorumKvError => new UnavailableError('down', new Metadata(), attempts);
const toError = (err: unknown): QuorumKvError => err as QuorumKvError;

describe('callWithRetry', () => {
  it('passes each attempt the time left of the overall deadline', async () => {
    const clock = fakeClock(() => 0.5);
    const seen: number[] = [];
    const result = await callWithRetry(
      (remaining) => {
        seen.push(remaining);
        clock.t += 100; // the attempt itself takes 100 ms
        return seen.length < 3 ? Promise.reject(unavailable(seen.length)) : Promise.resolve('done');
      },
      { retry: DEFAULT_RETRY_OPTIONS, clock, deadlineMs: 1000, toError },
    );
    expect(result).toBe('done');
    expect(clock.delays).toEqual([12, 25]);
    expect(seen).toEqual([1000, 1000 - 100 - 12, 1000 - 200 - 12 - 25]);
  });

  it('tells onRetry which attempt failed and how long it will wait', async () => {
    const clock = fakeClock(() => 0);
    const events: [number, number][] = [];
    await callWithRetry((_r) => (events.length < 1 ? Promise.reject(unavailable(1)) : Promise.resolve(1)), {
      retry: DEFAULT_RETRY_OPTIONS,
      clock,
      deadlineMs: 1000,
      toError,
      onRetry: (e) => events.push([e.attempt, e.delayMs]),
    });
    expect(events).toEqual([[1, 0]]);
  });

  it('never sleeps past the deadline, whatever the failures, draws and budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 300 }),
        async (rateLimited, r, deadlineMs, maxAttempts, attemptMs) => {
          const clock = fakeClock(() => r);
          let n = 0;
          const run = callWithRetry(
            () => {
              clock.t += attemptMs;
              const limited = rateLimited[n++ % rateLimited.length] ?? false;
              const md = new Metadata();
              if (limited) md.set('retry-after', '1');
              return Promise.reject(
                limited ? new RateLimitedError(1000, 'limited', md, n) : new UnavailableError('down', md, n),
              );
            },
            { retry: { ...DEFAULT_RETRY_OPTIONS, maxAttempts }, clock, deadlineMs, toError },
          );
          await expect(run).rejects.toBeInstanceOf(QuorumKvError);
          expect(n).toBeLessThanOrEqual(maxAttempts);
          const slept = clock.delays.reduce((a, b) => a + b, 0);
          expect(slept + attemptMs * (n - 1)).toBeLessThan(deadlineMs);
        },
      ),
    );
  });

  it('does not retry a status other than UNAVAILABLE or RESOURCE_EXHAUSTED', async () => {
    const clock = fakeClock(() => 0.5);
    let calls = 0;
    const err = new QuorumKvError(status.FAILED_PRECONDITION, 'no', new Metadata(), 1);
    await expect(
      callWithRetry(
        () => {
          calls++;
          return Promise.reject(err);
        },
        { retry: DEFAULT_RETRY_OPTIONS, clock, deadlineMs: 1000, toError },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('fails with DeadlineExceededError without calling when no time is left', async () => {
    const clock = fakeClock(() => 0.5);
    const run = callWithRetry(() => Promise.resolve(1), {
      retry: DEFAULT_RETRY_OPTIONS,
      clock: { ...clock, now: () => (clock.t += 10) },
      deadlineMs: 5,
      toError,
    });
    await expect(run).rejects.toBeInstanceOf(DeadlineExceededError);
  });
});
