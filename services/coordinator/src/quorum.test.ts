import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceededError } from '@quorumkv/service-kit';
import { QuorumNotReachedError, ReplicaStreamBrokenError, ReplicaTimeoutError } from './errors.js';
import { awaitQuorum, quorumSize, withDeadlines, type ReplicaAttempt } from './quorum.js';
import { systemTimers } from './timers.js';

/** A replica answer the test settles by hand. */
function deferred<T>(node: string): ReplicaAttempt<T> & { resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const result = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { node, result, resolve, reject };
}

/** Settles when `p` does, without throwing: lets a test look at a rejection it expects. */
async function outcome<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

const T0 = 1_000_000;

describe('awaitQuorum', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const opts = (needed: number, extra: Partial<Parameters<typeof awaitQuorum>[1]> = {}): Parameters<typeof awaitQuorum>[1] => ({
    needed,
    callDeadlineMs: Number.POSITIVE_INFINITY,
    replicaDeadlineMs: T0 + 1000,
    timers: systemTimers,
    what: 'reading the key',
    ...extra,
  });

  it('resolves with the first R answers without waiting for the slowest replica', async () => {
    const [a, b, c] = [deferred<string>('node-1'), deferred<string>('node-2'), deferred<string>('node-3')];
    const wait = awaitQuorum([a, b, c], opts(2));
    b.resolve('B');
    a.resolve('A');
    const got = await wait;
    expect(got.answers.map((x) => x.node)).toEqual(['node-2', 'node-1']);
    expect(got.answers.map((x) => x.value)).toEqual(['B', 'A']);
  });

  it('fails at once, not at the deadline, when too many replicas failed for the quorum to be possible', async () => {
    const [a, b, c] = [deferred<string>('node-1'), deferred<string>('node-2'), deferred<string>('node-3')];
    const wait = outcome(awaitQuorum([a, b, c], opts(2)));
    a.resolve('A');
    b.reject(new ReplicaStreamBrokenError('node-2', 'connection reset'));
    c.reject(new ReplicaStreamBrokenError('node-3', 'connection refused'));
    const { error } = await wait;
    expect(Date.now()).toBe(T0);
    expect(error).toBeInstanceOf(QuorumNotReachedError);
    const e = error as QuorumNotReachedError;
    expect([e.needed, e.answered, e.asked]).toEqual([2, 1, 3]);
    expect(e.message).toBe('quorum not reached: 1 of 3 replicas answered, 2 needed (node-2: connection reset, node-3: connection refused)');
  });

  it('counts every replica that answered when an early failure made the quorum impossible (R=3, one node down)', async () => {
    const [a, b, c] = [deferred<string>('node-1'), deferred<string>('node-2'), deferred<string>('node-3')];
    const wait = outcome(awaitQuorum([a, b, c], opts(3)));
    // The down node fails at once, before the two live replicas answer.
    a.reject(new ReplicaStreamBrokenError('node-1', 'connection refused'));
    await Promise.resolve();
    b.resolve('B');
    c.resolve('C');
    const { error } = await wait;
    expect(Date.now()).toBe(T0);
    const e = error as QuorumNotReachedError;
    expect([e.needed, e.answered, e.asked]).toEqual([3, 2, 3]);
    expect(e.message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-1: connection refused)');
  });

  it('counts exactly when more replicas are needed than were asked', async () => {
    const [a, b] = [deferred<string>('node-1'), deferred<string>('node-2')];
    const wait = outcome(awaitQuorum([a, b], opts(3, { asked: 3 })));
    a.resolve('A');
    b.resolve('B');
    const { error } = await wait;
    expect((error as Error).message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed');
  });

  it('once the quorum is impossible, waits for the other replicas no longer than the replica deadline', async () => {
    const [a, b, c] = [deferred<string>('node-1'), deferred<string>('node-2'), deferred<string>('node-3')];
    const wait = outcome(awaitQuorum([a, b, c], opts(3)));
    a.reject(new ReplicaStreamBrokenError('node-1', 'connection refused'));
    b.resolve('B');
    await vi.advanceTimersByTimeAsync(1000);
    const { error } = await wait;
    expect(Date.now()).toBe(T0 + 1000);
    expect((error as Error).message).toBe('quorum not reached: 1 of 3 replicas answered, 3 needed (node-1: connection refused, node-3: deadline)');
  });

  it('counts replicas silent at the replica deadline as "deadline" misses', async () => {
    const [a, b, c] = [deferred<string>('node-1'), deferred<string>('node-2'), deferred<string>('node-3')];
    const wait = outcome(awaitQuorum([a, b, c], opts(3)));
    a.resolve('A');
    await vi.advanceTimersByTimeAsync(999);
    b.resolve('B');
    await vi.advanceTimersByTimeAsync(1);
    const { error } = await wait;
    expect(error).toBeInstanceOf(QuorumNotReachedError);
    expect((error as Error).message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-3: deadline)');
  });

  it("rejects with DEADLINE_EXCEEDED when the client's deadline comes before the replica deadline", async () => {
    const [a, b] = [deferred<string>('node-1'), deferred<string>('node-2')];
    const wait = outcome(awaitQuorum([a, b], opts(2, { callDeadlineMs: T0 + 300 })));
    a.resolve('A');
    await vi.advanceTimersByTimeAsync(300);
    const { error } = await wait;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now()).toBe(T0 + 300);
  });

  it('adds the replicas of an earlier phase to the counts (a write counts its minting replica)', async () => {
    const [b, c] = [deferred<void>('node-2'), deferred<void>('node-3')];
    const wait = outcome(awaitQuorum([b, c], opts(2, { prior: { answered: 1 }, asked: 3 })));
    b.resolve();
    c.reject(new ReplicaTimeoutError('node-3'));
    const { error } = await wait;
    expect((error as Error).message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-3: deadline)');
  });

  it('resolves at once when nothing is needed, and a later failure is not an unhandled rejection', async () => {
    const b = deferred<void>('node-2');
    const got = await awaitQuorum([b], opts(0));
    expect(got.answers).toEqual([]);
    b.reject(new ReplicaStreamBrokenError('node-2', 'stream broken'));
    await vi.advanceTimersByTimeAsync(10);
  });

  it('clears its timer once the quorum is reached', async () => {
    const a = deferred<string>('node-1');
    const wait = awaitQuorum([a], opts(1));
    expect(vi.getTimerCount()).toBe(1);
    a.resolve('A');
    await wait;
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('withDeadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fails a silent replica with a replica timeout when the replica deadline comes first', async () => {
    const a = deferred<string>('node-1');
    const wait = outcome(withDeadlines('node-1', a.result, { callDeadlineMs: T0 + 5000, replicaDeadlineMs: T0 + 100, timers: systemTimers, what: 'w' }));
    await vi.advanceTimersByTimeAsync(100);
    expect((await wait).error).toBeInstanceOf(ReplicaTimeoutError);
  });

  it("keeps the replica's own error when it fails before any deadline", async () => {
    const a = deferred<string>('node-1');
    const wait = outcome(withDeadlines('node-1', a.result, { callDeadlineMs: T0 + 5000, replicaDeadlineMs: T0 + 100, timers: systemTimers, what: 'w' }));
    const own = new ReplicaStreamBrokenError('node-1', 'connection reset');
    a.reject(own);
    expect((await wait).error).toBe(own);
  });
});

describe('quorumSize', () => {
  it('is floor(N/2)+1', () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });
});
