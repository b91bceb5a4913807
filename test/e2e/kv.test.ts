import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import { type kv } from '@quorumkv/proto';
import { clusterCredentials, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const b = (s: string): Buffer => Buffer.from(s);
const texts = (res: kv.GetResponse): string[] => res.siblings.map((s) => Buffer.from(s.value).toString()).sort();

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('quorumkv over real processes (3 storage nodes, N=3)', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, replicationFactor: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('returns on Get exactly the value a Put stored', async () => {
    await t.kv.put({ key: b('round-trip'), value: b('hello') });
    const res = await t.kv.get({ key: b('round-trip') });
    expect(res.found).toBe(true);
    expect(texts(res)).toEqual(['hello']);
    expect(res.context.length).toBeGreaterThan(0);
  });

  it('keeps two blind puts as two siblings, and a put with the read context resolves them to one', async () => {
    await t.kv.put({ key: b('siblings'), value: b('a') });
    await t.kv.put({ key: b('siblings'), value: b('b') });
    const read = await t.kv.get({ key: b('siblings') });
    expect(texts(read)).toEqual(['a', 'b']);
    await t.kv.put({ key: b('siblings'), value: b('merged'), context: read.context });
    expect(texts(await t.kv.get({ key: b('siblings') }))).toEqual(['merged']);
  });

  it('hides a deleted key, and a later put works', async () => {
    await t.kv.put({ key: b('deleted'), value: b('x') });
    const read = await t.kv.get({ key: b('deleted') });
    await t.kv.delete({ key: b('deleted'), context: read.context });
    const gone = await t.kv.get({ key: b('deleted') });
    expect(gone.found).toBe(false);
    expect(gone.siblings).toEqual([]);
    await t.kv.put({ key: b('deleted'), value: b('back') });
    expect(texts(await t.kv.get({ key: b('deleted') }))).toEqual(['back']);
  });

  it('refuses each bad input with INVALID_ARGUMENT naming the problem, and stores nothing', async () => {
    const cases: { name: string; call: () => Promise<unknown>; key: Buffer; mention: RegExp }[] = [
      { name: 'empty key', call: () => t.kv.put({ key: b(''), value: b('v') }), key: b(''), mention: /key/ },
      { name: 'key over 1 KiB', call: () => t.kv.put({ key: Buffer.alloc(1025, 'k'), value: b('v') }), key: Buffer.alloc(1025, 'k'), mention: /key.*1024/ },
      { name: 'value over 10 KiB', call: () => t.kv.put({ key: b('big-value'), value: Buffer.alloc(10 * 1024 + 1) }), key: b('big-value'), mention: /value.*10240/ },
      { name: 'malformed context', call: () => t.kv.put({ key: b('bad-context'), value: b('v'), context: b('not a context') }), key: b('bad-context'), mention: /context/ },
      { name: 'w above N', call: () => t.kv.put({ key: b('big-w'), value: b('v'), w: 4 }), key: b('big-w'), mention: /\bw\b.*3/ },
      { name: 'r above N', call: () => t.kv.get({ key: b('big-r'), r: 4 }), key: b('big-r'), mention: /\br\b.*3/ },
      { name: 'delete with malformed context', call: () => t.kv.delete({ key: b('round-trip'), context: b('junk') }), key: b('round-trip'), mention: /context/ },
    ];
    for (const c of cases) {
      const err = await grpcError(c.call());
      expect(err.code, c.name).toBe(status.INVALID_ARGUMENT);
      expect(err.details, c.name).toMatch(c.mention);
    }
    // Nothing reached any replica: each node holds no version of the refused keys, and the
    // refused delete left round-trip in place.
    for (const node of t.cluster.storageNodes) {
      for (const key of [b('big-value'), b('bad-context'), b('big-w')]) {
        expect(await readReplica(node.process.address, key, 5_000, clusterCredentials(t.cluster, 'coordinator')), `${node.id} ${key.toString()}`).toEqual([]);
      }
    }
    expect(texts(await t.kv.get({ key: b('round-trip') }))).toEqual(['hello']);
  });

  it('reports each storage node and its share of the ring', async () => {
    const s = await t.kv.status();
    expect(s.replicationFactor).toBe(3);
    expect(s.nodes.map((n) => n.id).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    expect(s.nodes.every((n) => n.up)).toBe(true);
    expect(s.nodes.reduce((sum, n) => sum + n.ringShare, 0)).toBeCloseTo(1, 6);
  });

  it('keeps serving W=2/R=2 puts and gets with one storage node killed -9, and the node keeps its data across a restart', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => b(`durable-${i}`));
    for (const key of keys) await t.kv.put({ key, value: key, w: 3 });
    const victim = t.cluster.node('node-2');
    victim.process.kill('SIGKILL');
    await victim.process.exited();

    for (let i = 0; i < 20; i++) {
      const key = b(`while-down-${i}`);
      await t.kv.put({ key, value: key, w: 2 });
      expect(texts(await t.kv.get({ key, r: 2 }))).toEqual([key.toString()]);
    }
    for (const key of keys) expect(texts(await t.kv.get({ key, r: 2 }))).toEqual([key.toString()]);
    // W=3 cannot be met with a node down: UNAVAILABLE saying where the write is stored.
    const err = await grpcError(t.kv.put({ key: b('needs-all'), value: b('v'), w: 3 }));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/stored on 2 of 3 replicas .*3 needed; not stored on node-2/);

    await t.cluster.restartNode('node-2');
    for (const key of keys) {
      const versions = await readReplica(t.cluster.node('node-2').process.address, key, 5_000, clusterCredentials(t.cluster, 'coordinator'));
      expect(versions.map((v) => Buffer.from(v.value).toString()), key.toString()).toEqual([key.toString()]);
    }
  });
});
