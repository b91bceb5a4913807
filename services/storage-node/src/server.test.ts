import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { createStorageServer, type StorageServer } from './server.js';
import { GatedEngine } from './testing/gated-engine.js';
import { captureLogger } from './testing/log-capture.js';
import { ReplicaStreamClient } from './testing/replica-stream-client.js';

const Code = storage.ReplicaError_Code;
const k = (s: string): Buffer => Buffer.from(s);
const coordinate = (key: string, value: string, context: storage.ClockEntry[] = []) =>
  ({ $case: 'coordinate', coordinate: { key: k(key), context, value: k(value), tombstone: false, requestId: Buffer.alloc(0) } }) as const;
const read = (key: string) => ({ $case: 'read', read: { key: k(key), standIn: false } }) as const;

let dir: string;
let engine: StorageEngine;
let gated: GatedEngine;
let grpcServer: Server;
let storageServer: StorageServer;
let client: ReplicaStreamClient;
let now = 1_700_000_000_000;
let knownEpoch = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-server-'));
  const { logger } = captureLogger('node-1');
  engine = await StorageEngine.open({ dataDir: dir, nodeId: 'node-1', logger, maxSiblings: 2, now: () => now });
  gated = new GatedEngine(engine);
  knownEpoch = 0;
  storageServer = createStorageServer({ nodeId: 'node-1', engine: gated, logger, now: () => now, currentEpoch: () => knownEpoch });
  grpcServer = new Server();
  grpcServer.addService(storageServer.definition, storageServer.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new ReplicaStreamClient(`127.0.0.1:${port}`);
});

afterEach(async () => {
  client.close();
  grpcServer.forceShutdown();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function resultOf(response: storage.ReplicaResponse): storage.ReplicaResponse['result'] {
  return response.result;
}

describe('StorageService over a real gRPC stream', () => {
  it('answers a write and a read of the same key with the ids they were sent with', async () => {
    const w = await client.send(coordinate('a', 'v1'));
    expect(w.result).toMatchObject({ $case: 'coordinate', coordinate: { siblingCount: 1, version: { dot: { node: 'node-1', counter: 1n } } } });
    const r = await client.send(read('a'));
    expect(r.id).toBe(2);
    const versions = r.result?.$case === 'read' ? r.result.read.versions : [];
    expect(versions.map((v) => v.value.toString())).toEqual(['v1']);
  });

  it('sends the whole set as the record bytes it stored, never also as version messages', async () => {
    const first = await client.send(coordinate('single', 'only'));
    const result = first.result?.$case === 'coordinate' ? first.result.coordinate : undefined;
    expect(result?.siblingCount).toBe(1);
    expect(result?.version?.value.toString()).toBe('only');
    expect(result?.versions).toEqual([]);
    const record = storage.VersionSet.decode(result?.versionsRecord ?? Buffer.alloc(0));
    expect(record.versions).toEqual([result?.version]);
  });

  it('returns with a minted version the key\'s whole set, so the coordinator replicates every sibling', async () => {
    await client.send(coordinate('whole-set', 'first'));
    const second = await client.send(coordinate('whole-set', 'second'));
    const result = second.result?.$case === 'coordinate' ? second.result.coordinate : undefined;
    expect(result?.siblingCount).toBe(2);
    const record = storage.VersionSet.decode(result?.versionsRecord ?? Buffer.alloc(0));
    expect(record.versions.map((v) => v.value.toString()).sort()).toEqual(['first', 'second']);
  });

  it('answers out of order: a quick request overtakes one that is still waiting', async () => {
    gated.hold('slow');
    const slow = client.send(coordinate('slow', 'v'));
    await gated.arrived('slow');
    const quick = await client.send(coordinate('quick', 'v'));
    expect(quick.id).toBe(2);
    expect(client.arrivals).toEqual([2]);
    gated.open('slow');
    expect((await slow).result?.$case).toBe('coordinate');
    expect(client.arrivals).toEqual([2, 1]);
  });

  it('answers a bad request with CODE_INVALID_ARGUMENT and keeps the stream serving', async () => {
    const empty = await client.send(read(''));
    expect(resultOf(empty)).toMatchObject({ $case: 'error', error: { code: Code.CODE_INVALID_ARGUMENT } });
    const noOp = await client.sendRaw({ id: 77, trace: {}, timeoutMs: 0, deadlineMs: 0, ringEpoch: 0, op: undefined });
    expect(resultOf(noOp)).toMatchObject({ $case: 'error', error: { code: Code.CODE_INVALID_ARGUMENT } });
    const noDot = await client.send({
      $case: 'merge',
      merge: { key: k('a'), versions: [{ dot: undefined, context: [], value: k('x'), tombstone: false, writtenAtMs: 0n }], versionsRecord: Buffer.alloc(0), applied: [], hintedFor: '' },
    });
    expect(resultOf(noDot)).toMatchObject({ $case: 'error', error: { code: Code.CODE_INVALID_ARGUMENT } });
    expect((await client.send(coordinate('a', 'v'))).result?.$case).toBe('coordinate');
  });

  it('drops a request whose timeout expired while it waited, with CODE_DEADLINE_EXCEEDED, storing nothing', async () => {
    gated.hold('late');
    const late = client.send(coordinate('late', 'v'), 50);
    await gated.arrived('late');
    now += 100;
    gated.open('late');
    expect(resultOf(await late)).toMatchObject({ $case: 'error', error: { code: Code.CODE_DEADLINE_EXCEEDED } });
    const r = await client.send(read('late'));
    expect(r.result).toEqual({ $case: 'read', read: { versions: [], applied: [] } });
  });

  it('refuses a write past the sibling limit with CODE_SIBLING_LIMIT', async () => {
    await client.send(coordinate('a', 'v1'));
    await client.send(coordinate('a', 'v2'));
    const third = await client.send(coordinate('a', 'v3'));
    expect(resultOf(third)).toMatchObject({ $case: 'error', error: { code: Code.CODE_SIBLING_LIMIT } });
  });

  it('merges a version minted by another node, so a read returns both siblings', async () => {
    const minted = await client.send(coordinate('a', 'local'));
    expect(minted.result?.$case).toBe('coordinate');
    const remote: storage.Version = {
      dot: { node: 'node-2', epoch: 7n, counter: 1n },
      context: [],
      value: k('remote'),
      tombstone: false,
      writtenAtMs: 5n,
    };
    expect((await client.send({ $case: 'merge', merge: { key: k('a'), versions: [remote], versionsRecord: Buffer.alloc(0), applied: [], hintedFor: '' } })).result).toEqual({ $case: 'merge', merge: {} });
    const r = await client.send(read('a'));
    const values = r.result?.$case === 'read' ? r.result.read.versions.map((v) => v.value.toString()).sort() : [];
    expect(values).toEqual(['local', 'remote']);
  });

  it('reports its node id, key count and epoch through Stats', async () => {
    await client.send(coordinate('a', 'v'));
    await client.send(coordinate('b', 'v'));
    const stats = await client.stats();
    expect(stats.nodeId).toBe('node-1');
    expect(stats.keyCount).toBe(2n);
    expect(stats.approximateBytes).toBeGreaterThan(0n);
    expect(stats.epoch).toBe(engine.epoch);
  });

  it('answers a coordinate carrying a request id it applied before with that version, flagged deduplicated', async () => {
    const withId = (value: string, requestId: Buffer): NonNullable<storage.ReplicaRequest['op']> => ({
      $case: 'coordinate',
      coordinate: { key: k('idem'), context: [], value: k(value), tombstone: false, requestId },
    });
    const first = resultOf(await client.send(withId('v', Buffer.from('rid-1'))));
    const again = resultOf(await client.send(withId('v', Buffer.from('rid-1'))));
    expect(first).toMatchObject({ $case: 'coordinate', coordinate: { deduplicated: false } });
    expect(again).toMatchObject({ $case: 'coordinate', coordinate: { deduplicated: true } });
    const dot = (r: typeof first) => (r?.$case === 'coordinate' ? r.coordinate.version?.dot : undefined);
    expect(dot(again)).toEqual(dot(first));
    const tooLong = resultOf(await client.send(withId('v', Buffer.alloc(65))));
    expect(tooLong).toMatchObject({ $case: 'error', error: { code: Code.CODE_INVALID_ARGUMENT } });
    expect(tooLong?.$case === 'error' ? tooLong.error.message : '').toMatch(/request_id.*65 bytes.*64/);
  });

  it('ends the stream after answering everything once the client half-closes', async () => {
    gated.hold('a');
    const pending = client.send(coordinate('a', 'v'));
    await gated.arrived('a');
    const ended = client.end();
    gated.open('a');
    expect((await pending).result?.$case).toBe('coordinate');
    await ended;
  });

  it('on drain answers running requests, refuses new ones with CODE_UNAVAILABLE, then ends the stream', async () => {
    gated.hold('a');
    const running = client.send(coordinate('a', 'v'));
    await gated.arrived('a');
    const drained = storageServer.drain();
    const refused = await client.send(read('b'));
    expect(resultOf(refused)).toMatchObject({ $case: 'error', error: { code: Code.CODE_UNAVAILABLE } });
    gated.open('a');
    expect((await running).result?.$case).toBe('coordinate');
    await drained;
    await client.whenEnded();
  });

  it('refuses a request routed by an older ring epoch with CODE_STALE_EPOCH and its own epoch, storing nothing; the same or a newer epoch is served', async () => {
    knownEpoch = 7;
    client.ringEpoch = 6;
    const stale = resultOf(await client.send(coordinate('fenced', 'v')));
    expect(stale).toMatchObject({ $case: 'error', error: { code: Code.CODE_STALE_EPOCH, ringEpoch: 7 } });
    expect(stale?.$case === 'error' ? stale.error.message : '').toMatch(/ring epoch 6.*knows epoch 7/);
    expect(resultOf(await client.send(read('fenced')))).toMatchObject({ $case: 'error', error: { code: Code.CODE_STALE_EPOCH } });
    client.ringEpoch = 7;
    expect(resultOf(await client.send(read('fenced')))).toEqual({ $case: 'read', read: { versions: [], applied: [] } });
    client.ringEpoch = 8;
    expect(resultOf(await client.send(coordinate('fenced', 'v')))?.$case).toBe('coordinate');
  });

  it('drainedBelow(e) waits for the requests admitted under an older epoch, not for newer ones', async () => {
    knownEpoch = 3;
    client.ringEpoch = 3;
    gated.hold('old');
    const old = client.send(coordinate('old', 'v'));
    await gated.arrived('old');
    knownEpoch = 4;
    let drained = false;
    const waiting = storageServer.drainedBelow(4).then(() => (drained = true));
    client.ringEpoch = 4;
    gated.hold('new');
    const newer = client.send(coordinate('new', 'v'));
    await gated.arrived('new');
    expect(drained).toBe(false);
    gated.open('old');
    expect((await old).result?.$case).toBe('coordinate');
    await waiting;
    expect(drained).toBe(true);
    gated.open('new');
    expect((await newer).result?.$case).toBe('coordinate');
    await expect(storageServer.drainedBelow(5)).resolves.toBeUndefined();
  });
});
