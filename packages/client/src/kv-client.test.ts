import { status } from '@grpc/grpc-js';
import { kv } from '@quorumkv/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { reservePorts } from '@quorumkv/local-cluster';
import {
  CoordinatorUnreachableError,
  DeadlineExceededError,
  InvalidArgumentError,
  QuorumKvError,
  RateLimitedError,
  UnavailableError,
} from './errors.js';
import { QuorumKvClient, newRequestId, type QuorumKvClientOptions } from './kv-client.js';
import { type FakeCoordinator, FakeFailure, type FakeHandlers, failFirst, startFakeCoordinator } from './testing/fake-coordinator.js';

const ok: kv.PutResponse = { context: Buffer.from('ctx-1') };

/** A client on a fake clock: sleeps return at once and advance `now`; every wait is recorded. */
function fakeTime(random = 0.5): { delays: number[]; options: Pick<QuorumKvClientOptions, 'now' | 'sleep' | 'random'> } {
  let t = 0;
  const delays: number[] = [];
  return {
    delays,
    options: {
      now: () => t,
      sleep: (ms) => {
        delays.push(ms);
        t += ms;
        return Promise.resolve();
      },
      random: () => random,
    },
  };
}

describe('QuorumKvClient', () => {
  let fake: FakeCoordinator | undefined;
  let client: QuorumKvClient | undefined;
  afterEach(async () => {
    client?.close();
    await fake?.close();
    client = undefined;
    fake = undefined;
  });

  async function connect(handlers: FakeHandlers, options: QuorumKvClientOptions = {}): Promise<QuorumKvClient> {
    fake = await startFakeCoordinator(handlers);
    client = new QuorumKvClient({ address: fake.address, ...options });
    return client;
  }

  it('sends key, value, context, consistency, w and a request id as the wire expects, and returns the new context', async () => {
    const c = await connect({ put: () => Promise.resolve(ok) }, { requestIds: () => Buffer.from('rid-1') });
    const res = await c.put('k', new Uint8Array([1, 2]), { context: Buffer.from('seen'), consistency: 'all', w: 2 });
    expect(res.context.toString()).toBe('ctx-1');
    expect(fake?.calls[0]?.request).toEqual({
      key: Buffer.from('k'),
      value: Buffer.from([1, 2]),
      context: Buffer.from('seen'),
      consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_ALL,
      w: 2,
      requestId: Buffer.from('rid-1'),
      pw: 0,
    });
  });

  it('returns every sibling and the context of a get, leaving consistency unset by default', async () => {
    const c = await connect({
      get: () =>
        Promise.resolve({ found: true, siblings: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }], context: Buffer.from('c'), standIns: [] }),
    });
    const res = await c.get(Buffer.from('k'), { r: 1 });
    expect(res).toEqual({ found: true, siblings: [Buffer.from('a'), Buffer.from('b')], context: Buffer.from('c') });
    expect(fake?.calls[0]?.request).toEqual({ key: Buffer.from('k'), consistency: 0, r: 1, pr: 0 });
  });

  it('sends a delete with its context and reports the cluster status in SDK types', async () => {
    const c = await connect({
      delete: () => Promise.resolve({}),
      status: () =>
        Promise.resolve({
          replicationFactor: 3,
          vnodesPerNode: 64,
          nodes: [{ id: 'n1', address: '127.0.0.1:7101', up: true, ringShare: 0.5, keyCount: 7n, approximateBytes: 900n }],
        }),
    });
    await c.delete('k', { context: Buffer.from('x') });
    expect(fake?.calls[0]?.request).toMatchObject({ key: Buffer.from('k'), context: Buffer.from('x'), consistency: 0, w: 0 });
    const st = await c.status();
    expect(st.nodes[0]).toEqual({ id: 'n1', address: '127.0.0.1:7101', up: true, ringShare: 0.5, keyCount: 7n, approximateBytes: 900n });
    expect(st.replicationFactor).toBe(3);
  });

  it('names the caller in x-quorumkv-caller metadata on every call when given one, and sends none otherwise', async () => {
    const c = await connect({ put: () => Promise.resolve(ok), get: () => Promise.resolve({ found: false, siblings: [], context: Buffer.alloc(0), standIns: [] }) }, { caller: 'billing' });
    await c.put('k', 'v');
    await c.get('k');
    expect(fake?.calls.map((call) => call.caller)).toEqual(['billing', 'billing']);
    const anonymous = new QuorumKvClient({ address: fake!.address });
    try {
      await anonymous.put('k', 'v');
    } finally {
      anonymous.close();
    }
    expect(fake?.calls[2]?.caller).toBeUndefined();
    expect(() => new QuorumKvClient({ caller: 'bad\nname' })).toThrow(/caller/);
  });

  it('retries UNAVAILABLE with full-jitter exponential backoff and then succeeds', async () => {
    const time = fakeTime(0.5);
    const c = await connect(
      { put: failFirst(3, () => new FakeFailure(status.UNAVAILABLE, 'quorum not reached: 1 of 2'), ok) },
      time.options,
    );
    await expect(c.put('k', 'v')).resolves.toEqual(ok);
    // random 0.5 × caps 25, 50, 100
    expect(time.delays).toEqual([12, 25, 50]);
    expect(fake?.calls).toHaveLength(4);
  });

  it('waits as long as retry-after says (plus jitter below baseDelayMs) after RESOURCE_EXHAUSTED', async () => {
    const time = fakeTime(0.5);
    const limited = (): FakeFailure => new FakeFailure(status.RESOURCE_EXHAUSTED, 'over limit', { 'retry-after': '2' });
    const c = await connect({ put: failFirst(1, limited, ok) }, time.options);
    await c.put('k', 'v');
    expect(time.delays).toEqual([2000 + 12]);
  });

  it('honours x-ratelimit-retry-after, in seconds, when retry-after is absent', async () => {
    const time = fakeTime(0);
    const limited = (): FakeFailure =>
      new FakeFailure(status.RESOURCE_EXHAUSTED, 'over limit', { 'x-ratelimit-retry-after': '0.25' });
    const c = await connect({ get: failFirst(2, limited, { found: false, siblings: [], context: Buffer.alloc(0), standIns: [] }) }, time.options);
    await c.get('k');
    expect(time.delays).toEqual([250, 250]);
  });

  it('gives up at once with RateLimitedError when retry-after would end past the deadline', async () => {
    const time = fakeTime(0.5);
    const limited = (): FakeFailure => new FakeFailure(status.RESOURCE_EXHAUSTED, 'over limit', { 'retry-after': '10' });
    const c = await connect({ put: failFirst(1, limited, ok) }, { ...time.options, deadlineMs: 5000 });
    const err = await c.put('k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(10_000);
    expect((err as RateLimitedError).attempts).toBe(1);
    expect(time.delays).toEqual([]);
  });

  it('stops after maxAttempts and reports the last UNAVAILABLE with the attempt count', async () => {
    const time = fakeTime(0.99);
    const down = (): FakeFailure => new FakeFailure(status.UNAVAILABLE, 'quorum not reached');
    const c = await connect({ put: failFirst(10, down, ok) }, { ...time.options, retry: { maxAttempts: 3 } });
    const err = await c.put('k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).not.toBeInstanceOf(CoordinatorUnreachableError);
    expect((err as UnavailableError).attempts).toBe(3);
    expect((err as UnavailableError).details).toBe('quorum not reached');
    expect(time.delays).toEqual([24, 49]);
  });

  it('sends one request id per logical write, the same on every retry of it, and a new one for the next write', async () => {
    const time = fakeTime();
    const down = (): FakeFailure => new FakeFailure(status.UNAVAILABLE, 'stored on 2 of 3 replicas', { 'x-quorumkv-replicas-stored': '2' });
    const c = await connect({ put: failFirst(2, down, ok), delete: failFirst(1, down, {}) }, time.options);
    await c.put('k', 'v');
    await c.put('k', 'v');
    await c.delete('k');
    const ids = (fake?.calls ?? []).map((call) => Buffer.from((call.request as { requestId: Uint8Array }).requestId).toString('hex'));
    expect(ids).toHaveLength(6);
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(new Set([ids[0], ids[3], ids[4]]).size).toBe(3);
    expect(ids[5]).toBe(ids[4]);
  });

  it('sends the request id a caller chose, so its own retries of one write are recognised too, and refuses one over 64 bytes', async () => {
    const c = await connect({ put: () => Promise.resolve(ok) });
    const requestId = newRequestId();
    await c.put('k', 'v', { requestId });
    await c.put('k', 'v', { requestId });
    expect(fake?.calls.map((call) => (call.request as { requestId: Buffer }).requestId)).toEqual([Buffer.from(requestId), Buffer.from(requestId)]);
    await expect(c.put('k', 'v', { requestId: new Uint8Array(65) })).rejects.toThrow(/requestId: must be 1 to 64 bytes/);
  });

  it('tells on how many replicas a failed write is stored, from the coordinator\'s trailer', async () => {
    const down = (): FakeFailure => new FakeFailure(status.UNAVAILABLE, 'stored on 2 of 3 replicas', { 'x-quorumkv-replicas-stored': '2' });
    const c = await connect({ put: failFirst(10, down, ok) }, { ...fakeTime().options, retry: { maxAttempts: 1 } });
    const err = await c.put('k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).replicasStored).toBe(2);
  });

  it('does not retry INVALID_ARGUMENT and keeps the server details and trailers', async () => {
    const time = fakeTime();
    const bad = (): FakeFailure => new FakeFailure(status.INVALID_ARGUMENT, 'value: 20000 bytes > 10240', { field: 'value' });
    const c = await connect({ put: failFirst(1, bad, ok) }, time.options);
    const err = await c.put('k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).message).toBe('INVALID_ARGUMENT: value: 20000 bytes > 10240');
    expect((err as InvalidArgumentError).metadata.get('field')).toEqual(['value']);
    expect(fake?.calls).toHaveLength(1);
    expect(time.delays).toEqual([]);
  });

  it('gives each attempt the whole remaining deadline, and no more', async () => {
    const c = await connect({ get: () => Promise.resolve({ found: false, siblings: [], context: Buffer.alloc(0), standIns: [] }) });
    const before = Date.now();
    await c.get('k', { deadlineMs: 1500 });
    const deadline = fake?.calls[0]?.deadline ?? 0;
    expect(deadline).toBeGreaterThan(before + 1000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 1500);
  });

  it('reports DeadlineExceededError when the server does not answer within the deadline', async () => {
    let release: () => void = () => undefined;
    const never = new Promise<kv.GetResponse>((resolve) => {
      release = () => resolve({ found: false, siblings: [], context: Buffer.alloc(0), standIns: [] });
    });
    const c = await connect({ get: () => never });
    const err = await c.get('k', { deadlineMs: 100 }).catch((e: unknown) => e);
    release();
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as DeadlineExceededError).deadlineMs).toBe(100);
  });

  it('reports CoordinatorUnreachableError naming the address when nothing listens there', async () => {
    const time = fakeTime();
    // A reserved port: no other test is given it and the kernel never hands it out.
    const closed = await reservePorts(1);
    const address = `127.0.0.1:${closed.ports[0]}`;
    client = new QuorumKvClient({ address, ...time.options });
    const err = await client.get('k').catch((e: unknown) => e);
    closed.release();
    expect(err).toBeInstanceOf(CoordinatorUnreachableError);
    expect((err as CoordinatorUnreachableError).address).toBe(address);
    expect((err as CoordinatorUnreachableError).attempts).toBe(4);
  });

  it('refuses a zero or fractional replica count before sending anything', async () => {
    const c = await connect({});
    await expect(c.get('k', { r: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(c.put('k', 'v', { w: 1.5 })).rejects.toThrow(/w: must be a positive integer/);
    expect(fake?.calls).toHaveLength(0);
  });

  it('reports an unexpected status as a plain QuorumKvError with its code', async () => {
    const c = await connect({});
    const err = await c.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumKvError);
    expect((err as QuorumKvError).code).toBe(status.UNIMPLEMENTED);
  });
});
