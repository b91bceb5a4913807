import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReplicaStreamBrokenError, ReplicaTimeoutError } from './errors.js';
import { PendingRequests } from './pending-requests.js';
import { systemTimers } from './timers.js';

describe('PendingRequests', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires only the requests past their own timeout, within one sweep interval', async () => {
    const p = new PendingRequests('node-1', systemTimers, 50);
    const short = p.open(100);
    const long = p.open(10_000);
    const shortResult = short.answer.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(150);
    expect(await shortResult).toBeInstanceOf(ReplicaTimeoutError);
    expect(p.size).toBe(1);
    p.settle({ id: long.id, result: { $case: 'merge', merge: {} } });
    expect(await long.answer).toEqual({ $case: 'merge', merge: {} });
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
  });

  it('fails everything at once on failAll, and ignores answers for ids it no longer holds', async () => {
    const p = new PendingRequests('node-1', systemTimers, 50);
    const a = p.open(1000);
    const b = p.open(1000);
    p.failAll(new ReplicaStreamBrokenError('node-1', 'connection reset'));
    await expect(a.answer).rejects.toBeInstanceOf(ReplicaStreamBrokenError);
    await expect(b.answer).rejects.toBeInstanceOf(ReplicaStreamBrokenError);
    p.settle({ id: a.id, result: { $case: 'merge', merge: {} } });
    expect(p.size).toBe(0);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toBeGreaterThan(0);
  });
});
