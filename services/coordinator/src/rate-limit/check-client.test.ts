import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reservePorts } from '@quorumkv/local-cluster';
import { rls } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { FakeRateLimiter, okResponse, overLimitResponse } from '../testing/fake-rate-limiter.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import { RateLimitCheckClient, type RateLimitCheckClientOptions } from './check-client.js';
import { rateLimitRequest } from './interceptor.js';

const logger = createLogger({ service: 'check-client-test', level: 'silent' });
const Unit = rls.RateLimitResponse_RateLimit_Unit;

/** The process clock, moved forward by `skew` ms: lets a test step past a reconnect backoff. */
function skewedTimers(): Timers & { skew: number } {
  const t = {
    skew: 0,
    now: () => Date.now() + t.skew,
    setTimeout: (fn: () => void, ms: number) => systemTimers.setTimeout(fn, ms),
    clearTimeout: (h: TimerHandle) => systemTimers.clearTimeout(h),
  };
  return t;
}


describe('RateLimitCheckClient', () => {
  let fake: FakeRateLimiter;
  const clients: RateLimitCheckClient[] = [];
  const releases: (() => void)[] = [];
  const client = (options: Partial<RateLimitCheckClientOptions> = {}): RateLimitCheckClient => {
    const c = new RateLimitCheckClient({ address: fake.address, timeoutMs: 2_000, logger, random: () => 0, ...options });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    fake = await FakeRateLimiter.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const release of releases.splice(0)) release();
    await fake.close();
  });

  it('sends the checks made in one turn as one message and matches each result to its check by id', async () => {
    fake.behaviour = {
      kind: 'answer',
      decide: (req) => (req.descriptors[0]?.entries[0]?.value === 'tight' ? overLimitResponse(5, Unit.MINUTE, 40) : okResponse()),
    };
    const c = client();
    const callers = ['a', 'tight', 'b', 'tight', 'c'];
    const verdicts = await Promise.all(callers.map((caller) => c.check(rateLimitRequest('quorumkv', caller, 'Put'))));
    expect(verdicts.map((v) => v.kind)).toEqual(['allowed', 'limited', 'allowed', 'limited', 'allowed']);
    expect(fake.batches).toHaveLength(1);
    expect(fake.batches[0]!.items.map((i) => i.request?.descriptors[0]?.entries[0]?.value)).toEqual(callers);
    expect(c.counters).toMatchObject({ allowed: 3, limited: 2 });
    // A later turn is a later message on the same stream.
    await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    expect(fake.batches).toHaveLength(2);
    expect(fake.streamsOpened).toBe(1);
  });

  it('answers a check the limiter leaves unanswered by failing open after the timeout, counted as a timeout', async () => {
    fake.behaviour = { kind: 'silent' };
    const c = client({ timeoutMs: 30 });
    const started = Date.now();
    const verdict = await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    expect(verdict).toMatchObject({ kind: 'failed-open', reason: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(c.counters.failOpen.timeout).toBe(1);
    expect(c.counters.allowed + c.counters.limited).toBe(0);
  });

  it('refuses instead when the failure mode is closed, counted apart', async () => {
    fake.behaviour = { kind: 'silent' };
    const failures: string[] = [];
    const c = client({ timeoutMs: 30, failureMode: 'closed', onFailure: (reason, mode) => failures.push(`${mode}:${reason}`) });
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Get'))).toMatchObject({ kind: 'failed-closed', reason: 'timeout' });
    expect(c.counters.failClosed.timeout).toBe(1);
    expect(c.counters.failOpen.timeout).toBe(0);
    expect(failures).toEqual(['closed:timeout']);
  });

  it('fails open at once the checks on a stream that breaks, answers at once during the backoff, then reopens', async () => {
    fake.behaviour = { kind: 'break' };
    const timers = skewedTimers();
    // random 0: the first reconnect waits exactly initialMs / 2 = 5 s of the skewed clock.
    const c = client({ timeoutMs: 10_000, timers, backoff: { initialMs: 10_000, maxMs: 10_000 } });
    const started = Date.now();
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Put'))).toMatchObject({ kind: 'failed-open', reason: 'stream-broken' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.connected).toBe(false);
    // In the backoff: no stream is opened, the check is answered without waiting.
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Put'))).toMatchObject({ kind: 'failed-open', reason: 'unreachable' });
    expect(fake.streamsOpened).toBe(1);
    expect(c.counters.failOpen).toMatchObject({ 'stream-broken': 1, unreachable: 1 });
    // Past the backoff, a new stream is opened and decides again.
    fake.behaviour = { kind: 'answer', decide: okResponse };
    timers.skew += 5_001;
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Put'))).toMatchObject({ kind: 'allowed' });
    expect(fake.streamsOpened).toBe(2);
  });

  it('fails open quickly when nothing listens at the address', async () => {
    // A reserved port: no other test is given it and the kernel never hands it out, so nothing listens there.
    const closed = await reservePorts(1);
    const c = new RateLimitCheckClient({ address: `127.0.0.1:${closed.ports[0]}`, timeoutMs: 10_000, logger });
    clients.push(c);
    releases.push(() => closed.release());
    const started = Date.now();
    const verdict = await c.check(rateLimitRequest('quorumkv', 'a', 'Put'));
    expect(verdict.kind).toBe('failed-open');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.counters.failOpen['stream-broken'] + c.counters.failOpen.unreachable).toBe(1);
  });

  it('declares a stream that has answered nothing to a batch sent stallMs ago broken, and reopens it', async () => {
    fake.behaviour = { kind: 'silent' };
    const timers = skewedTimers();
    // 100 ms: long enough that the reopened stream's first decision beats it on a loaded machine.
    const c = client({ timeoutMs: 100, stallMs: 1_000, timers, backoff: { initialMs: 0, maxMs: 0 } });
    // Timeouts alone, however many, do not condemn a stream that was asked only just now.
    for (let i = 0; i < 3; i++) await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    expect(c.connected).toBe(true);
    // A second later, still not one answer (not even late) to the first batch: stalled.
    timers.skew += 1_000;
    await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    expect(c.connected).toBe(false);
    expect(c.counters.failOpen.timeout).toBe(4);
    fake.behaviour = { kind: 'answer', decide: okResponse };
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Get'))).toMatchObject({ kind: 'allowed' });
    expect(fake.streamsOpened).toBe(2);
  });

  it('restarts the stall clock on any answer: a stream that answered since is kept through a later timeout', async () => {
    fake.behaviour = { kind: 'silent' };
    const timers = skewedTimers();
    const c = client({ timeoutMs: 100, stallMs: 1_000, timers });
    await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    // The limiter answers again, which proves the stream alive.
    fake.behaviour = { kind: 'answer', decide: okResponse };
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Get'))).toMatchObject({ kind: 'allowed' });
    timers.skew += 5_000;
    fake.behaviour = { kind: 'silent' };
    await c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    expect(c.connected).toBe(true);
  });

  it('answers an item the limiter could not decide by the failure mode, as a limiter error', async () => {
    fake.behaviour = { kind: 'answer', decide: () => ({ error: 'domain: must not be empty' }) };
    const c = client();
    expect(await c.check(rateLimitRequest('', 'a', 'Get'))).toEqual({ kind: 'failed-open', reason: 'limiter-error', detail: 'domain: must not be empty' });
    expect(c.counters.failOpen['limiter-error']).toBe(1);
  });

  it('answers the checks still queued when closed, and every later one, by the failure mode', async () => {
    const c = client();
    const queued = c.check(rateLimitRequest('quorumkv', 'a', 'Get'));
    c.close();
    expect(await queued).toMatchObject({ kind: 'failed-open', reason: 'unreachable' });
    expect(await c.check(rateLimitRequest('quorumkv', 'a', 'Get'))).toMatchObject({ kind: 'failed-open', reason: 'unreachable' });
    await waitUntil(() => c.inFlight === 0, 1_000, 'nothing in flight');
  });
});
