import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { LimitPolicy } from '@quorumkv/ratelimit';
import type { ratelimitReplica } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { ManualClock } from '@quorumkv/service-kit/testing';
import { OwnerUnreachableError } from './errors.js';
import { PeerForwarder, type OpenForwardStream } from './peer-forwarder.js';

/** A stand-in for the client side of one Forward stream: records writes, emits answers. */
class FakeStream extends EventEmitter {
  readonly writes: ratelimitReplica.ForwardRequest[] = [];
  ended = false;
  write(msg: ratelimitReplica.ForwardRequest): boolean {
    this.writes.push(msg);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.ended = true;
  }
  answer(decisions: Array<Partial<ratelimitReplica.Decision> & { id: number }>): void {
    this.emit('data', {
      decisions: decisions.map((d) => ({ allowed: true, limit: 10, remaining: 9, resetAfterMs: 1000, retryAfterMs: 0, error: '', ...d })),
    });
  }
}

const policy: LimitPolicy = { requestsPerUnit: 10, unit: 'second', algorithm: 'fixed_window' };
const logger = createLogger({ service: 'test', level: 'silent' });
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function forwarder(timeoutMs = 1_000, timers?: ManualClock): { f: PeerForwarder; streams: FakeStream[] } {
  const streams: FakeStream[] = [];
  const open = (() => {
    const s = new FakeStream();
    streams.push(s);
    return s;
  }) as unknown as OpenForwardStream;
  return { f: new PeerForwarder({ selfId: 'rl-1', peerId: 'rl-2', address: 'unused', timeoutMs, logger, open, random: () => 0, ...(timers ? { timers } : {}) }), streams };
}

describe('peer forwarder', () => {
  const made: PeerForwarder[] = [];
  afterEach(() => {
    for (const f of made.splice(0)) f.close();
  });

  it('sends every decision asked in one turn of the event loop as one message, and resolves each by id', async () => {
    const { f, streams } = forwarder();
    made.push(f);
    const asked = [0, 1, 2, 3, 4].map((i) => f.decide(`key-${i}`, policy, i + 1));
    await nextTurn();
    expect(streams).toHaveLength(1);
    const s = streams[0]!;
    expect(s.writes).toHaveLength(1);
    const items = s.writes[0]!.items;
    expect(s.writes[0]!.from).toBe('rl-1');
    expect(items.map((i) => [i.counterKey, i.hits])).toEqual([0, 1, 2, 3, 4].map((i) => [`key-${i}`, i + 1]));
    expect(items[0]!.policy).toEqual({ requestsPerUnit: 10, unit: 'second', algorithm: 'fixed_window', burst: 0, unitMultiplier: 0 });
    // Answers may come back in any order; each caller gets its own.
    s.answer([...items].reverse().map((it) => ({ id: it.id, remaining: it.hits })));
    expect((await Promise.all(asked)).map((d) => d.remaining)).toEqual([1, 2, 3, 4, 5]);
    expect(f.inFlight).toBe(0);
    // The next turn reuses the same long-lived stream.
    const later = f.decide('key-9', policy, 1);
    await nextTurn();
    expect(streams).toHaveLength(1);
    s.answer([{ id: s.writes[1]!.items[0]!.id }]);
    await expect(later).resolves.toMatchObject({ allowed: true });
  });

  it('fails an item the owner does not answer in time with OwnerUnreachableError (timeout)', async () => {
    const { f } = forwarder(20);
    made.push(f);
    const err = await f.decide('k', policy, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OwnerUnreachableError);
    expect(err).toMatchObject({ owner: 'rl-2', reason: 'timeout' });
    expect(f.inFlight).toBe(0);
  });

  it('fails the items written on a broken stream, fails fast during its short backoff, then reopens', async () => {
    const clock = new ManualClock();
    const { f, streams } = forwarder(1_000, clock);
    made.push(f);
    const a = f.decide('k', policy, 1);
    await nextTurn();
    streams[0]!.emit('error', new Error('connection reset'));
    await expect(a).rejects.toMatchObject({ reason: 'stream-failed', detail: 'connection reset' });
    await expect(f.decide('k', policy, 1)).rejects.toMatchObject({ reason: 'stream-failed' });
    // random 0: the first reconnect waits half of the 20 ms initial backoff.
    clock.advance(10);
    expect(streams).toHaveLength(2);
    const b = f.decide('k', policy, 1);
    await nextTurn();
    streams[1]!.answer([{ id: streams[1]!.writes[0]!.items[0]!.id, remaining: 7 }]);
    await expect(b).resolves.toMatchObject({ remaining: 7 });
  });

  it('fails only the item the owner refused, not its batch', async () => {
    const { f, streams } = forwarder();
    made.push(f);
    const a = f.decide('a', policy, 1);
    const b = f.decide('b', policy, 1);
    await nextTurn();
    const [ia, ib] = streams[0]!.writes[0]!.items;
    streams[0]!.answer([
      { id: ia!.id, error: 'forwarded policy: unknown unit "fortnight"' },
      { id: ib!.id, remaining: 3 },
    ]);
    await expect(a).rejects.toMatchObject({ reason: 'owner-refused' });
    await expect(b).resolves.toMatchObject({ remaining: 3 });
  });

  it('fails the decisions of a turn when no stream can be opened, without throwing', async () => {
    const open = (() => {
      throw new Error('channel closed');
    }) as unknown as OpenForwardStream;
    const f = new PeerForwarder({ selfId: 'rl-1', peerId: 'rl-2', address: 'unused', timeoutMs: 1_000, logger, open });
    made.push(f);
    await expect(f.decide('k', policy, 1)).rejects.toMatchObject({ reason: 'stream-failed', detail: 'channel closed' });
  });

  it('refuses new decisions after close and fails those still waiting', async () => {
    const { f } = forwarder();
    const waiting = f.decide('k', policy, 1);
    await nextTurn();
    f.close();
    await expect(waiting).rejects.toMatchObject({ reason: 'closed' });
    await expect(f.decide('k', policy, 1)).rejects.toMatchObject({ reason: 'closed' });
  });
});
