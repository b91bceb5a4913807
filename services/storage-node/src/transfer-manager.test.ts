import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { membership, storage } from '@quorumkv/proto';
import { RingView, sha1Position, type RingMember } from '@quorumkv/ring';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { GrpcRangePuller, type RangePuller } from './range-client.js';
import { createStorageServer } from './server.js';
import { captureLogger } from './testing/log-capture.js';
import { CheckpointStore } from './transfer-checkpoints.js';
import { TransferManager } from './transfer-manager.js';

const KEYS = 3000;
const keyOf = (i: number): Buffer => Buffer.from(`key-${i}`);
let dir: string;
const engines: StorageEngine[] = [];
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-transfers-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) s.forceShutdown();
  for (const e of engines.splice(0)) await e.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(id: string): Promise<StorageEngine> {
  const engine = await StorageEngine.open({ dataDir: join(dir, id), nodeId: id, logger: captureLogger(id).logger });
  engines.push(engine);
  return engine;
}

/** A storage node serving PullRange over real gRPC on port 0; `epoch` is the ring epoch it knows. */
async function serve(id: string, engine: StorageEngine, epoch: () => number = () => 1): Promise<string> {
  const server = new Server();
  const s = createStorageServer({ nodeId: id, engine, ranges: engine, logger: captureLogger(id).logger, currentEpoch: epoch });
  server.addService(s.definition, s.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

/** The ring of epoch 1: node-1..3 NORMAL (every one served by `address`), node-4 JOINING. */
function joiningView(addresses: Record<string, string>, extra: Partial<Record<string, Partial<RingMember>>> = {}): RingView {
  const members: RingMember[] = ['node-1', 'node-2', 'node-3'].map((id) => ({ id, address: addresses[id] ?? '', state: 'normal', ...extra[id] }));
  members.push({ id: 'node-4', address: 'unused', state: 'joining' });
  return new RingView({ epoch: 1, replicationFactor: 3, vnodes: 16, members });
}

/** Writes KEYS keys on `engine` (as a full copy of every replica). */
async function fill(engine: StorageEngine): Promise<void> {
  for (let i = 0; i < KEYS; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, KEYS - i) }, (_, j) => engine.coordinate(keyOf(i + j), { context: [], value: Buffer.alloc(64, 1), tombstone: false })),
    );
  }
}

/** A puller that counts what it pulled and can be made to fail. */
class CountingPuller implements RangePuller {
  bytes = 0;
  batches = 0;
  failNext = 0;
  failWith = status.UNAVAILABLE;
  constructor(private readonly inner: RangePuller = new GrpcRangePuller()) {}
  async pull(address: string, request: storage.PullRangeRequest, timeoutMs: number): Promise<storage.PullRangeResponse> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw Object.assign(new Error('refused by the test'), { code: this.failWith });
    }
    const res = await this.inner.pull(address, request, timeoutMs);
    this.batches += 1;
    for (const r of res.records) this.bytes += r.record.length + r.key.length;
    return res;
  }
  close(): void {
    this.inner.close();
  }
}

function manager(dest: StorageEngine, puller: RangePuller, reports: membership.TransferReport[], opts: { rate?: number; now?: () => number; sleep?: (ms: number) => Promise<void>; parallel?: number } = {}): TransferManager {
  return new TransferManager({
    nodeId: 'node-4',
    engine: dest,
    checkpoints: new CheckpointStore(dest.meta),
    puller,
    report: (r) => {
      reports.push(r);
      return Promise.resolve();
    },
    logger: captureLogger('node-4').logger,
    reportEveryMs: 20,
    maxBatchBytes: 16 * 1024,
    ...(opts.rate ? { bytesPerSecond: opts.rate } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    ...(opts.parallel ? { parallelPulls: opts.parallel } : {}),
  });
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function heldKeys(engine: StorageEngine): Promise<string[]> {
  return (await engine.scanRange(0, 0, { limit: 1_000_000, records: false })).map((e) => e.key.toString()).sort();
}

describe('TransferManager', () => {
  it('a joining node receives exactly the keys it will replicate, reports progress, and reports complete only once every range is in', async () => {
    const source = await open('node-1');
    await fill(source);
    const address = await serve('node-1', source);
    const dest = await open('node-4');
    const reports: membership.TransferReport[] = [];
    const view = joiningView({ 'node-1': address, 'node-2': address, 'node-3': address });
    const m = manager(dest, new CountingPuller(), reports);
    m.onView(view);
    await until(() => reports.some((r) => r.complete));
    await m.stop();
    const expected = Array.from({ length: KEYS }, (_, i) => keyOf(i))
      .filter((k) => view.futureReplicas(k).includes('node-4'))
      .map(String)
      .sort();
    expect(await heldKeys(dest)).toEqual(expected);
    const final = reports.find((r) => r.complete)!;
    expect(final.epoch).toBe(1n);
    expect(final.ranges.every((r) => r.complete && r.keysLeft === 0n)).toBe(true);
    expect(final.ranges.reduce((n, r) => n + Number(r.keysDone), 0)).toBe(expected.length);
    expect(reports.slice(0, reports.indexOf(final)).every((r) => !r.complete)).toBe(true);
    for (const k of expected.slice(0, 50)) expect(await dest.read(Buffer.from(k))).toEqual(await source.read(Buffer.from(k)));
  });

  it('an interrupted transfer resumes from its checkpoint: the second manager pulls only what the first had not, and the total is under 1.3 x the range', async () => {
    const source = await open('node-1');
    await fill(source);
    const address = await serve('node-1', source);
    const dest = await open('node-4');
    const view = joiningView({ 'node-1': address, 'node-2': address, 'node-3': address });
    const first = new CountingPuller();
    const m1 = manager(dest, first, []);
    m1.onView(view);
    await until(() => first.batches >= 8);
    await m1.stop();
    const reports: membership.TransferReport[] = [];
    const second = new CountingPuller();
    const m2 = manager(dest, second, reports);
    m2.onView(view);
    await until(() => reports.some((r) => r.complete));
    await m2.stop();
    const total = reports.find((r) => r.complete)!.ranges.reduce((n, r) => n + Number(r.bytesDone), 0);
    expect(first.bytes).toBeGreaterThan(0);
    expect(second.bytes).toBeLessThan(total);
    expect(first.bytes + second.bytes).toBeLessThan(1.3 * total);
    expect((await heldKeys(dest)).length).toBe(reports.find((r) => r.complete)!.ranges.reduce((n, r) => n + Number(r.keysDone), 0));
  });

  it('paces the bytes it receives to the throttle, and a throttle lowered mid-transfer applies to the next batch', async () => {
    const source = await open('node-1');
    await fill(source);
    const address = await serve('node-1', source);
    const dest = await open('node-4');
    const view = joiningView({ 'node-1': address, 'node-2': address, 'node-3': address });
    // A virtual clock: the pacer's waits advance it instead of passing.
    let virtual = 0;
    const puller = new CountingPuller();
    const reports: membership.TransferReport[] = [];
    const m = manager(dest, puller, reports, {
      parallel: 1,
      rate: 200_000,
      now: () => virtual,
      sleep: (ms) => {
        virtual += ms;
        return new Promise((r) => setImmediate(r));
      },
    });
    m.onView(view);
    await until(() => puller.bytes > 60_000);
    const [bytesAtChange, timeAtChange] = [puller.bytes, virtual];
    m.setRate(50_000);
    await until(() => reports.some((r) => r.complete));
    await m.stop();
    // Bytes received ≤ rate × virtual time + one burst (rate / 10) + two batches pulled but not yet
    // paced (the one being paced and the next, asked for while it is), at each rate.
    const batch = 2 * 16 * 1024;
    expect(bytesAtChange).toBeLessThanOrEqual((200_000 * timeAtChange) / 1000 + 20_000 + batch);
    const slowBytes = puller.bytes - bytesAtChange;
    const slowMs = virtual - timeAtChange;
    expect(slowBytes).toBeLessThanOrEqual((50_000 * slowMs) / 1000 + 5_000 + batch);
    // And not slower than the throttle allows by more than a batch.
    expect(slowBytes).toBeGreaterThanOrEqual((50_000 * slowMs) / 1000 - batch);
    expect(slowMs).toBeGreaterThan(1000);
  });

  it('a refusing source is retried until it serves, and the range is not reported complete meanwhile', async () => {
    const source = await open('node-1');
    await fill(source);
    const address = await serve('node-1', source);
    const dest = await open('node-4');
    const view = joiningView({ 'node-1': address, 'node-2': address, 'node-3': address });
    const puller = new CountingPuller();
    puller.failNext = 4;
    puller.failWith = status.FAILED_PRECONDITION;
    const reports: membership.TransferReport[] = [];
    const waits: number[] = [];
    const m = manager(dest, puller, reports, {
      parallel: 1,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((r) => setImmediate(r));
      },
    });
    m.onView(view);
    await until(() => reports.some((r) => r.complete));
    await m.stop();
    expect(puller.failNext).toBe(0);
    // Back-off doubles between attempts.
    expect(waits.slice(0, 4)).toEqual([100, 200, 400, 800]);
    const expected = Array.from({ length: KEYS }, (_, i) => keyOf(i)).filter((k) => view.futureReplicas(k).includes('node-4'));
    expect((await heldKeys(dest)).length).toBe(expected.length);
  });

  it('the ranges of a removed node are rebuilt from every surviving replica, their versions merged', async () => {
    // node-2 and node-3 each hold a version of every key the other lacks; node-1 is removed.
    const n2 = await open('node-2');
    const n3 = await open('node-3');
    for (let i = 0; i < 400; i++) {
      await n2.coordinate(keyOf(i), { context: [], value: Buffer.from('from-2'), tombstone: false });
      await n3.coordinate(keyOf(i), { context: [], value: Buffer.from('from-3'), tombstone: false });
    }
    const [a2, a3] = [await serve('node-2', n2), await serve('node-3', n3)];
    const members: RingMember[] = [
      { id: 'node-1', address: 'gone:1', state: 'leaving', removed: true },
      { id: 'node-2', address: a2, state: 'normal' },
      { id: 'node-3', address: a3, state: 'normal' },
      { id: 'node-4', address: 'unused', state: 'normal' },
    ];
    const view = new RingView({ epoch: 3, replicationFactor: 3, vnodes: 16, members });
    expect(view.transfersTo('node-4').some((t) => t.sources.length === 2)).toBe(true);
    const dest = await open('node-4');
    const reports: membership.TransferReport[] = [];
    const m = manager(dest, new CountingPuller(), reports);
    m.onView(view);
    await until(() => reports.some((r) => r.complete));
    await m.stop();
    const rebuilt = view.transfersTo('node-4').filter((t) => t.sources.length === 2);
    const inRebuilt = (k: Buffer): boolean => rebuilt.some((t) => (t.start < t.end ? sha1Position(k) > t.start && sha1Position(k) <= t.end : sha1Position(k) > t.start || sha1Position(k) <= t.end));
    const sample = Array.from({ length: 400 }, (_, i) => keyOf(i)).filter(inRebuilt);
    expect(sample.length).toBeGreaterThan(0);
    for (const k of sample) expect((await dest.read(k)).map((v) => Buffer.from(v.value).toString()).sort()).toEqual(['from-2', 'from-3']);
  });

  it('a source that knows a newer ring epoch refuses the pull (FAILED_PRECONDITION) rather than answer for arcs it may no longer hold', async () => {
    const source = await open('node-1');
    await fill(source);
    const address = await serve('node-1', source, () => 5);
    const puller = new GrpcRangePuller();
    try {
      await expect(
        puller.pull(address, { start: 0, end: 0, resume: false, afterPosition: 0, afterKey: Buffer.alloc(0), ringEpoch: 4n, maxKeys: 10, maxBytes: 0, countKeys: false, requesterId: 't' }, 5_000),
      ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
      const ok = await puller.pull(address, { start: 0, end: 0, resume: false, afterPosition: 0, afterKey: Buffer.alloc(0), ringEpoch: 5n, maxKeys: 10, maxBytes: 0, countKeys: true, requesterId: 't' }, 5_000);
      expect(ok.records).toHaveLength(10);
      expect(ok.keysLeft).toBe(BigInt(KEYS));
      expect(ok.done).toBe(false);
      const tooMany = await puller
        .pull(address, { start: 0, end: 0, resume: false, afterPosition: 0, afterKey: Buffer.alloc(0), ringEpoch: 5n, maxKeys: 20_000, maxBytes: 0, countKeys: false, requesterId: 't' }, 5_000)
        .then(() => undefined, (err: { code: number; details: string }) => err);
      expect(tooMany?.code).toBe(status.INVALID_ARGUMENT);
      expect(tooMany?.details).toContain('max_keys');
    } finally {
      puller.close();
    }
  });
});
