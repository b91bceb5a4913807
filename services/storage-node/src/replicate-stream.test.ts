import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { storage } from '@quorumkv/proto';
import { describe, expect, it } from 'vitest';
import { ReplicateSession, type ReplicaResult } from './replicate-stream.js';
import { captureLogger } from './testing/log-capture.js';

/** The parts of a grpc-js server duplex stream the session uses, with the flow state visible. */
class FakeCall extends EventEmitter {
  readonly written: storage.ReplicaResponse[] = [];
  acceptWrites = true;
  paused = false;
  endedByServer = false;
  write(response: storage.ReplicaResponse): boolean {
    this.written.push(response);
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
  request(id: number): void {
    this.emit('data', { id, trace: {}, timeoutMs: 0, op: { $case: 'read', read: { key: Buffer.from('k') } } });
  }
}

/** A handler whose answers the test releases one by one. */
function manualHandler() {
  const waiting: (() => void)[] = [];
  const handle = (): Promise<ReplicaResult> =>
    new Promise((resolve) => waiting.push(() => resolve({ $case: 'read', read: { versions: [] } })));
  const releaseOne = async (): Promise<void> => {
    waiting.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { handle, releaseOne, waiting };
}

function session(call: FakeCall, handle: () => Promise<ReplicaResult>, maxInFlight = 256): ReplicateSession {
  return new ReplicateSession(call as unknown as ServerDuplexStream<storage.ReplicaRequest, storage.ReplicaResponse>, {
    handle,
    logger: captureLogger().logger,
    now: () => 0,
    maxInFlight,
  });
}

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
    call.request(1);
    call.request(2);
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
