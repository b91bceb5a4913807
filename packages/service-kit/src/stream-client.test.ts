import { EventEmitter } from 'node:events';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { MultiplexedStreamClient } from './stream-client.js';
import type { MultiplexedStreamOptions } from './stream-client-options.js';
import { StreamBrokenError, StreamClosedError, StreamOverloadedError, StreamTimeoutError, StreamUnavailableError } from './stream-errors.js';
import { ManualClock } from './testing/manual-clock.js';

interface Item {
  readonly id: number;
  readonly q: string;
}
interface Answer {
  readonly id: number;
  readonly a: string;
}
type Out = { readonly items: Item[] };
type In = { readonly answers: Answer[] };

/** The client side of one stream: records what was written, and answers when the test says. */
class FakeStream extends EventEmitter {
  readonly writes: Out[] = [];
  /** What `write` returns (false: the peer is not reading). */
  accepting = true;
  cancelled = false;
  write(message: Out): boolean {
    this.writes.push(message);
    return this.accepting;
  }
  end(): void {}
  cancel(): void {
    this.cancelled = true;
  }
  answer(...answers: Answer[]): void {
    this.emit('data', { answers });
  }
  ids(): number[] {
    return this.writes.flatMap((w) => w.items.map((i) => i.id));
  }
}

const logger = createLogger({ service: 'test', level: 'silent' });
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(overrides: Partial<MultiplexedStreamOptions<Item, Out, Answer, In>> = {}) {
  const clock = new ManualClock();
  const streams: FakeStream[] = [];
  let turn: (() => void)[] = [];
  const client = new MultiplexedStreamClient<Item, Out, Answer, In>({
    peer: 'peer-1',
    what: 'test stream',
    open: () => {
      const s = new FakeStream();
      streams.push(s);
      return s as unknown as ClientDuplexStream<Out, In>;
    },
    pack: (items) => ({ items }),
    unpack: (m) => m.answers,
    logger,
    timers: clock,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1_000 },
    schedule: (fn) => turn.push(fn),
    ...overrides,
  });
  const endTurn = (): void => {
    const fns = turn;
    turn = [];
    for (const fn of fns) fn();
  };
  const ask = (q: string, timeoutMs = 1_000): Promise<Answer> => client.call((id) => ({ id, q }), timeoutMs);
  return { client, clock, streams, endTurn, ask };
}

describe('MultiplexedStreamClient', () => {
  it('sends the calls of one turn as one message and matches answers to calls by id, in any order', async () => {
    const { client, streams, endTurn, ask } = setup();
    const calls = ['a', 'b', 'c'].map((q) => ask(q));
    endTurn();
    expect(streams).toHaveLength(1);
    expect(streams[0]!.writes).toHaveLength(1);
    const [a, b, c] = streams[0]!.writes[0]!.items;
    streams[0]!.answer({ id: c!.id, a: 'C' }, { id: a!.id, a: 'A' });
    streams[0]!.answer({ id: b!.id, a: 'B' });
    expect((await Promise.all(calls)).map((r) => r.a)).toEqual(['A', 'B', 'C']);
    expect(new Set([a!.id, b!.id, c!.id]).size).toBe(3);
    expect(client.inFlight).toBe(0);
  });

  it('fails a call once its timeout passes — never before, at most one granularity after — with one timer for all', async () => {
    const { client, clock, endTurn, ask } = setup({ timeoutGranularityMs: 10 });
    const results = [ask('a', 100), ask('b', 100), ask('c', 103)].map((p) => p.then(() => 'answered', (e: unknown) => e));
    endTurn();
    expect(clock.timerCount).toBe(1);
    clock.advance(99);
    await settled();
    expect(client.inFlight).toBe(3);
    clock.advance(1);
    await settled();
    expect(client.inFlight).toBe(1);
    clock.advance(10);
    const errors = await Promise.all(results);
    expect(errors.every((e) => e instanceof StreamTimeoutError)).toBe(true);
    expect(clock.timerCount).toBe(0);
  });

  it('settles a call whose answer arrived in the same turn its timer fired: a late timer is not a late answer', async () => {
    const { streams, clock, endTurn, ask } = setup();
    const call = ask('a', 50);
    endTurn();
    clock.advance(60);
    // The timer has fired, but the I/O of this turn (the answer) is read before its verdict.
    streams[0]!.answer({ id: streams[0]!.ids()[0]!, a: 'in time' });
    await expect(call).resolves.toMatchObject({ a: 'in time' });
  });

  it('ignores an answer that comes after its call timed out', async () => {
    const { streams, clock, endTurn, ask } = setup();
    const late = ask('a', 50).catch((e: unknown) => e);
    endTurn();
    clock.advance(60);
    expect(await late).toBeInstanceOf(StreamTimeoutError);
    const id = streams[0]!.writes[0]!.items[0]!.id;
    expect(() => streams[0]!.answer({ id, a: 'late' })).not.toThrow();
  });

  it('fails the calls of a broken stream at once, fails fast during the backoff, then reopens by timer', async () => {
    const { client, clock, streams, endTurn, ask } = setup();
    client.start();
    const onTheStream = ask('a', 60_000).catch((e: unknown) => e);
    endTurn();
    expect(client.up).toBe(true);
    streams[0]!.emit('error', new Error('connection reset'));
    expect(await onTheStream).toBeInstanceOf(StreamBrokenError);
    expect(client.up).toBe(false);
    expect(client.downReason).toBe('connection reset');
    // random 0.5: the first delay is 100/2 + 0.5*50 = 75 ms.
    await expect(ask('b')).rejects.toBeInstanceOf(StreamUnavailableError);
    clock.advance(74);
    expect(streams).toHaveLength(1);
    clock.advance(1);
    expect(streams).toHaveLength(2);
    expect(client.up).toBe(true);
  });

  it('backs off longer after each failure, and resets once the peer answers', () => {
    const { client, clock, streams } = setup();
    const delays: number[] = [];
    client.start();
    for (let i = 0; i < 4; i++) {
      streams.at(-1)!.emit('error', new Error('refused'));
      const before = streams.length;
      let waited = 0;
      while (streams.length === before) {
        clock.advance(1);
        waited++;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([75, 150, 300, 600]);
    streams.at(-1)!.answer();
    streams.at(-1)!.emit('error', new Error('refused'));
    let waited = 0;
    while (streams.length === 5) {
      clock.advance(1);
      waited++;
    }
    expect(waited).toBe(75);
  });

  it('with a handshake, is up only once the peer answered it, and heartbeats an idle stream', async () => {
    const { client, clock, streams, endTurn, ask } = setup({ handshake: { message: () => ({ items: [] }), heartbeatMs: 500 } });
    const states: boolean[] = [];
    client.onStateChange((up) => states.push(up));
    client.start();
    expect(streams[0]!.writes).toEqual([{ items: [] }]);
    expect(client.up).toBe(false);
    await expect(ask('early')).rejects.toBeInstanceOf(StreamUnavailableError);
    streams[0]!.answer();
    expect(client.up).toBe(true);
    expect(states).toEqual([true]);
    clock.advance(500);
    expect(streams[0]!.writes).toHaveLength(2);
    // A stream with traffic needs no heartbeat.
    void ask('x').catch(() => undefined);
    clock.advance(400);
    endTurn();
    clock.advance(100);
    expect(streams[0]!.writes).toHaveLength(3);
    expect(streams[0]!.writes[2]!.items).toHaveLength(1);
  });

  it('holds batches while write() reports back-pressure, sends the live ones on drain, and refuses past maxHeld', async () => {
    const { client, clock, streams, endTurn, ask } = setup({ maxHeld: 3 });
    const first = ask('a');
    endTurn();
    const s = streams[0]!;
    s.accepting = false;
    const blocking = ask('b');
    endTurn();
    expect(s.writes).toHaveLength(2);
    const expiring = ask('held-and-expired', 20).catch((e: unknown) => e);
    const held = [ask('c'), ask('d')];
    endTurn();
    expect(s.writes).toHaveLength(2);
    const refused = await ask('e').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamOverloadedError);
    expect(refused).toMatchObject({ what: 'held', limit: 3 });
    clock.advance(30);
    expect(await expiring).toBeInstanceOf(StreamTimeoutError);
    s.accepting = true;
    s.emit('drain');
    expect(s.writes).toHaveLength(3);
    expect(s.writes[2]!.items.map((i) => i.q)).toEqual(['c', 'd']);
    s.answer(...s.ids().map((id) => ({ id, a: 'ok' })));
    await Promise.all([first, blocking, ...held]);
    expect(client.inFlight).toBe(0);
  });

  it('refuses a call past maxInFlight at once, with a retryable overloaded error', async () => {
    const { endTurn, ask } = setup({ maxInFlight: 2 });
    void ask('a').catch(() => undefined);
    void ask('b').catch(() => undefined);
    endTurn();
    await expect(ask('c')).rejects.toMatchObject({ name: 'StreamOverloadedError', what: 'in-flight', limit: 2 });
  });

  it('breaks a stream that answered nothing for stallMs, but not one that answered since', async () => {
    const { client, clock, streams, endTurn, ask } = setup({ stallMs: 1_000, timeoutGranularityMs: 10 });
    void ask('a', 20).catch(() => undefined);
    endTurn();
    clock.advance(30);
    await settled();
    expect(client.up).toBe(true);
    streams[0]!.answer();
    clock.advance(2_000);
    void ask('b', 20).catch(() => undefined);
    endTurn();
    clock.advance(30);
    await settled();
    expect(client.up).toBe(true);
    clock.advance(970);
    const c = ask('c', 20).catch((e: unknown) => e);
    endTurn();
    clock.advance(30);
    expect(await c).toBeInstanceOf(StreamTimeoutError);
    expect(client.up).toBe(false);
    expect(client.downReason).toMatch(/^no answer on the stream for \d+ ms$/);
  });

  it('opens a stream on the first call when a failed open has waited out its backoff', async () => {
    let fail = true;
    const streams: FakeStream[] = [];
    const { client, clock, endTurn, ask } = setup({
      open: () => {
        if (fail) throw new Error('channel closed');
        const s = new FakeStream();
        streams.push(s);
        return s as unknown as ClientDuplexStream<Out, In>;
      },
    });
    await expect(ask('a')).rejects.toMatchObject({ name: 'StreamUnavailableError', reason: 'channel closed' });
    fail = false;
    clock.advance(75);
    expect(client.up).toBe(true);
    const b = ask('b');
    endTurn();
    streams[0]!.answer({ id: streams[0]!.ids()[0]!, a: 'B' });
    await expect(b).resolves.toMatchObject({ a: 'B' });
  });

  it('fails everything waiting when closed, and every later call', async () => {
    const { client, clock, streams, endTurn, ask } = setup();
    const sent = ask('a').catch((e: unknown) => e);
    endTurn();
    const queued = ask('b').catch((e: unknown) => e);
    client.close();
    expect(await sent).toBeInstanceOf(StreamClosedError);
    expect(await queued).toBeInstanceOf(StreamClosedError);
    await expect(ask('c')).rejects.toBeInstanceOf(StreamClosedError);
    expect(streams[0]!.cancelled).toBe(true);
    expect(client.up).toBe(false);
    expect(clock.timerCount).toBe(0);
  });
});
