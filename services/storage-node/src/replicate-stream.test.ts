import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { storage } from '@quorumkv/proto';
import { describe, expect, it } from 'vitest';
import { ReplicateSession, type ReplicaOpHandler, type ReplicaResult } from './replicate-stream.js';
import { captureLogger } from './testing/log-capture.js';

/** The parts of a grpc-js server duplex stream the session uses, with the flow state visible. */
class FakeCall extends EventEmitter {
  /** Every answer written, in order, and the batch messages that carried them. */
  readonly written: storage.ReplicaResponse[] = [];
  readonly messages: storage.ReplicaResponseBatch[] = [];
  acceptWrites = true;
  paused = false;
  endedByServer = false;
  write(batch: storage.ReplicaResponseBatch): boolean {
    this.messages.push(batch);
    this.written.push(...batch.responses);
    return this.acceptWrites;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): this {
    this.endedByServer = true;
    return this;
  }
  /** One batch message of read requests with these ids. */
  request(...ids: number[]): void {
    this.emit('data', { requests: ids.map((id) => ({ id, trace: {}, timeoutMs: 0, deadlineMs: 0, op: { $case: 'read', read: { key: Buffer.from('k'), standIn: false } } })) });
  }
}

/** The end of an event-loop turn, run by hand: the session's answer batches leave here. */
const turns: (() => void)[] = [];
function endTurn(): void {
  for (const fn of turns.splice(0)) fn();
}

/** A handler whose answers the test releases one by one (each release ends a turn). */
function manualHandler() {
  const waiting: (() => void)[] = [];
  const handle = (): Promise<ReplicaResult> =>
    new Promise((resolve) => waiting.push(() => resolve({ $case: 'read', read: { versions: [], applied: [] } })));
  const release = async (count = 1): Promise<void> => {
    for (let i = 0; i < count; i++) waiting.shift()?.();
    await new Promise((r) => setImmediate(r));
    endTurn();
  };
  return { handle, releaseOne: () => release(1), release, waiting };
}

function session(call: FakeCall, handle: ReplicaOpHandler, maxInFlight = 256): ReplicateSession {
  return new ReplicateSession(call as unknown as ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>, {
    handle,
    logger: captureLogger().logger,
    now: () => 0,
    maxInFlight,
    schedule: (fn) => turns.push(fn),
  });
}

describe('ReplicateSession batching', () => {
  it('runs every request of a batch at once and sends the answers finished in one turn as one message', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    session(call, h.handle);
    call.request(1, 2, 3);
    expect(h.waiting).toHaveLength(3);
    await h.release(2);
    expect(call.messages.map((m) => m.responses.map((r) => r.id))).toEqual([[1, 2]]);
    await h.releaseOne();
    expect(call.messages.map((m) => m.responses.map((r) => r.id))).toEqual([[1, 2], [3]]);
  });

  it('answers a request of a later batch before a slow one of an earlier batch', async () => {
    const call = new FakeCall();
    const waiting = new Map<string, () => void>();
    session(call, (req) => new Promise((resolve) => waiting.set(String(req.id), () => resolve({ $case: 'merge', merge: {} }))));
    call.request(1);
    call.request(2);
    waiting.get('2')?.();
    await new Promise((r) => setImmediate(r));
    endTurn();
    expect(call.written.map((r) => r.id)).toEqual([2]);
    waiting.get('1')?.();
    await new Promise((r) => setImmediate(r));
    endTurn();
    expect(call.written.map((r) => r.id)).toEqual([2, 1]);
  });
});

describe('ReplicateSession flow control', () => {
  it('stops reading while the client is not taking answers, and reads again on drain', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    session(call, h.handle);
    call.acceptWrites = false;
    call.request(1);
    await h.releaseOne();
    expect(call.written.map((r) => r.id)).toEqual([1]);
    expect(call.paused).toBe(true);
    call.acceptWrites = true;
    call.emit('drain');
    expect(call.paused).toBe(false);
  });

  it('stops reading while maxInFlight requests run, and reads again when one finishes', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    session(call, h.handle, 2);
    call.request(1);
    expect(call.paused).toBe(false);
    call.request(2);
    expect(call.paused).toBe(true);
    await h.releaseOne();
    expect(call.paused).toBe(false);
  });

  it('ends the call only after the client ended and every request is answered', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    const s = session(call, h.handle);
    call.request(1, 2);
    call.emit('end');
    await h.releaseOne();
    expect(call.endedByServer).toBe(false);
    await h.releaseOne();
    expect(call.endedByServer).toBe(true);
    await s.closed();
    expect(call.written.map((r) => r.id)).toEqual([1, 2]);
  });

  it('writes nothing after the client cancelled', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    session(call, h.handle);
    call.request(1);
    call.emit('cancelled');
    await h.releaseOne();
    expect(call.written).toEqual([]);
  });
});

describe('ReplicateSession deadlines and clock', () => {
  const coordinate = (id: number, deadlineMs: number, timeoutMs: number): storage.ReplicaRequest => ({
    id,
    trace: {},
    timeoutMs,
    deadlineMs,
    ringEpoch: 0,
    op: { $case: 'coordinate', coordinate: { key: Buffer.from('k'), context: [], value: Buffer.from('v'), tombstone: false, requestId: Buffer.alloc(0) } },
  });

  it("drops a request read at or after its absolute deadline, though its timeout_ms has not run since it was read", async () => {
    const call = new FakeCall();
    const ran: number[] = [];
    const deadlines: number[] = [];
    let now = 50_000;
    new ReplicateSession(call as unknown as ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>, {
      handle: (req, deadline) => {
        ran.push(req.id);
        deadlines.push(deadline);
        return Promise.resolve({ $case: 'read', read: { versions: [], applied: [] } });
      },
      logger: captureLogger().logger,
      now: () => now,
      schedule: (fn) => turns.push(fn),
    });
    // Queued while the node was stopped: the coordinator gave up at 49 000 (node clock).
    call.emit('data', { requests: [coordinate(1, 49_000, 60_000), coordinate(2, 50_000, 60_000), coordinate(3, 50_400, 60_000)] });
    // Read in time, but with a timeout shorter than what is left of the absolute deadline.
    now = 50_100;
    call.emit('data', { requests: [coordinate(4, 90_000, 200)] });
    await new Promise((r) => setImmediate(r));
    endTurn();
    expect(ran).toEqual([3, 4]);
    expect(deadlines).toEqual([50_400, 50_300]);
    const codes = new Map(call.written.map((r) => [r.id, r.result?.$case === 'error' ? r.result.error.code : 'ok']));
    expect(codes.get(1)).toBe(2); // CODE_DEADLINE_EXCEEDED
    expect(codes.get(2)).toBe(2);
    expect(codes.get(3)).toBe('ok');
  });

  it('answers an empty batch (a clock probe) at once, and stamps every answer batch with its clock', async () => {
    const call = new FakeCall();
    const h = manualHandler();
    let now = 7_000;
    new ReplicateSession(call as unknown as ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>, {
      handle: h.handle,
      logger: captureLogger().logger,
      now: () => now,
      schedule: (fn) => turns.push(fn),
    });
    call.emit('data', { requests: [] });
    expect(call.messages).toEqual([{ responses: [], nodeTimeMs: 7_000 }]);
    call.request(1);
    now = 7_250;
    await h.releaseOne();
    expect(call.messages[1]).toMatchObject({ responses: [{ id: 1 }], nodeTimeMs: 7_250 });
  });
});
