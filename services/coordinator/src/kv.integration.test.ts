/**
 * The coordinator against three real storage-node processes: the public API end to end over
 * real gRPC. Build the storage node first: `npx tsc -b services/storage-node`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { status } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { ClusterFixture } from './testing/cluster-fixture.js';

let cluster: ClusterFixture;
let seq = 0;
/** A fresh key per test, so tests do not see each other's data. */
const freshKey = (name: string): Buffer => Buffer.from(`${name}-${process.pid}-${++seq}`);

beforeAll(async () => {
  cluster = await ClusterFixture.start();
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

function must<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

describe('coordinator with three storage nodes', () => {
  it('returns a written value on the next read, with a context', async () => {
    const key = freshKey('round-trip');
    expect(must(await cluster.get({ key })).found).toBe(false);
    const put = must(await cluster.put({ key, value: Buffer.from('hello') }));
    expect(put.context.length).toBeGreaterThan(0);
    const got = must(await cluster.get({ key }));
    expect(got.found).toBe(true);
    expect(got.siblings.map((s) => s.value.toString())).toEqual(['hello']);
  });

  it('stores a write on all N replicas even though it replies after W', async () => {
    const key = freshKey('replicated');
    must(await cluster.put({ key, value: Buffer.from('everywhere') }));
    // W=2 replied; the third MergeOp is in flight: wait for it with a bound.
    const deadline = Date.now() + 2000;
    for (;;) {
      const counts = await Promise.all(cluster.preferenceList(key).map((n) => cluster.replicaVersions(n, key)));
      if (counts.every((v) => v.length === 1)) break;
      if (Date.now() > deadline) throw new Error(`replicas hold ${counts.map((v) => v.length).join(',')} versions`);
      await new Promise((r) => setImmediate(r));
    }
    const versions = await Promise.all(cluster.preferenceList(key).map((n) => cluster.replicaVersions(n, key)));
    // One dot, minted by exactly one node, identical everywhere.
    const dots = new Set(versions.map((v) => `${v[0]?.dot?.node}:${v[0]?.dot?.counter}`));
    expect(dots.size).toBe(1);
  });

  it('keeps two puts without a context as two siblings, and a put with the read context supersedes both', async () => {
    const key = freshKey('siblings');
    must(await cluster.put({ key, value: Buffer.from('a') }));
    must(await cluster.put({ key, value: Buffer.from('b') }));
    const read = must(await cluster.get({ key, r: 3 }));
    expect(read.siblings.map((s) => s.value.toString()).sort()).toEqual(['a', 'b']);
    must(await cluster.put({ key, value: Buffer.from('resolved'), context: read.context, w: 3 }));
    const after = must(await cluster.get({ key, r: 3 }));
    expect(after.siblings.map((s) => s.value.toString())).toEqual(['resolved']);
  });

  it('returns byte-identical concurrent values once', async () => {
    const key = freshKey('dedupe');
    must(await cluster.put({ key, value: Buffer.from('same') }));
    must(await cluster.put({ key, value: Buffer.from('same') }));
    const read = must(await cluster.get({ key, r: 3 }));
    expect(read.siblings.map((s) => s.value.toString())).toEqual(['same']);
  });

  it('hides a deleted key, and a later put without a context writes a clean value', async () => {
    const key = freshKey('delete');
    const put = must(await cluster.put({ key, value: Buffer.from('doomed'), w: 3 }));
    must(await cluster.delete({ key, context: put.context, w: 3 }));
    const gone = must(await cluster.get({ key, r: 3 }));
    expect(gone.found).toBe(false);
    expect(gone.siblings).toEqual([]);
    must(await cluster.put({ key, value: Buffer.from('reborn'), w: 3 }));
    const back = must(await cluster.get({ key, r: 3 }));
    expect(back.siblings.map((s) => s.value.toString())).toEqual(['reborn']);
  });

  it('refuses bad input with INVALID_ARGUMENT naming the field, and stores nothing on any replica', async () => {
    const key = freshKey('bad');
    const cases = [
      { r: await cluster.put({ key: Buffer.alloc(0), value: Buffer.from('v') }), field: 'key' },
      { r: await cluster.put({ key: Buffer.alloc(1025, 1), value: Buffer.from('v') }), field: 'key' },
      { r: await cluster.put({ key, value: Buffer.alloc(10241) }), field: 'value' },
      { r: await cluster.put({ key, value: Buffer.from('v'), context: Buffer.from('not a context') }), field: 'context' },
      { r: await cluster.put({ key, value: Buffer.from('v'), w: 4 }), field: 'w' },
      { r: await cluster.delete({ key, context: Buffer.from([0x51, 0x01, 9, 9]) }), field: 'context' },
      { r: await cluster.get({ key, r: 4 }), field: 'r' },
    ];
    for (const c of cases) {
      expect(c.r.ok).toBe(false);
      if (c.r.ok) continue;
      expect(c.r.error.code).toBe(status.INVALID_ARGUMENT);
      expect(c.r.error.details.startsWith(`${c.field}:`)).toBe(true);
    }
    expect((cases[2]?.r.ok === false && cases[2].r.error.details) || '').toContain('10240');
    for (const node of cluster.preferenceList(key)) expect(await cluster.replicaVersions(node, key)).toEqual([]);
    expect(cluster.coordinator.operations.counts.quorumFailures).toEqual({ get: 0, put: 0, delete: 0 });
  });

  it('repairs stale replicas after a read, including the ones the reply did not wait for', async () => {
    const key = freshKey('repair');
    const [first] = cluster.preferenceList(key);
    if (first === undefined) throw new Error('empty preference list');
    // A version only one replica holds (as if the other two missed the write).
    const minted = await cluster.direct.coordinate(first, { key, context: [], value: Buffer.from('lonely'), tombstone: false, requestId: Buffer.alloc(0) }, 2000, 1);
    const before = cluster.coordinator.readRepair.counts.sent;
    must(await cluster.get({ key, r: 1 }));
    await waitUntil(
      async () => {
        const sets = await Promise.all(cluster.preferenceList(key).map((n) => cluster.replicaVersions(n, key)));
        return sets.every((s) => s.length === 1 && s[0]?.dot?.counter === minted.version?.dot?.counter);
      },
      3000,
      'the replicas to be repaired',
    );
    expect(cluster.coordinator.readRepair.counts.sent - before).toBe(2);
  });

  it('reports the cluster: N, vnodes, every node up with its ring share and key count', async () => {
    const s = must(await cluster.status());
    expect(s.replicationFactor).toBe(3);
    expect(s.vnodesPerNode).toBe(64);
    expect(s.nodes.map((n) => [n.id, n.up])).toEqual([
      ['node-1', true],
      ['node-2', true],
      ['node-3', true],
    ]);
    const total = s.nodes.reduce((a, n) => a + n.ringShare, 0);
    expect(total).toBeCloseTo(1, 6);
    expect(s.nodes.some((n) => n.keyCount > 0n)).toBe(true);
  });

  it('maps a sibling-limit refusal of the minting node to FAILED_PRECONDITION telling how to resolve', async () => {
    const key = freshKey('limit');
    let last: Awaited<ReturnType<typeof cluster.put>> | undefined;
    // The node's default limit is 64 live siblings; writes without a context add one each.
    for (let i = 0; i < 70; i++) {
      last = await cluster.put({ key, value: Buffer.from(`v${i}`), w: 1 });
      if (!last.ok) break;
    }
    expect(last?.ok).toBe(false);
    if (last?.ok !== false) return;
    expect(last.error.code).toBe(status.FAILED_PRECONDITION);
    expect(last.error.details).toContain('context');
    expect(cluster.coordinator.operations.counts.siblingLimitRefusals).toBe(1);
    expect(storage.ReplicaError_Code.CODE_SIBLING_LIMIT).toBe(3);
  });
});
