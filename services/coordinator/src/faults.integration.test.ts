/**
 * Failures against three real storage-node processes: a node killed with SIGKILL, a node that
 * stops answering (SIGSTOP), and a node that comes back. Tests run in order on one cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { status } from '@grpc/grpc-js';
import { ClusterFixture } from './testing/cluster-fixture.js';

/** Long enough that "did not wait for the replica timeout" is unambiguous on a loaded machine. */
const REPLICA_TIMEOUT_MS = 2000;
let cluster: ClusterFixture;
let seq = 0;
const freshKey = (name: string): Buffer => Buffer.from(`${name}-${process.pid}-${++seq}`);

/** Waits for `cond` with a bound (no fixed sleeps standing in for synchronisation). */
const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> => waitUntil(cond, timeoutMs, what);

beforeAll(async () => {
  cluster = await ClusterFixture.start({ replicaTimeoutMs: REPLICA_TIMEOUT_MS });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

describe('coordinator when storage nodes fail', () => {
  it('keeps serving W=2 and R=2 after one node is killed with SIGKILL', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => freshKey(`survive-${i}`));
    cluster.node('node-2').process.kill('SIGKILL');
    await until('the stream to node-2 to break', () => !cluster.pool.isUp('node-2'));
    let slowest = 0;
    for (const key of keys) {
      let started = Date.now();
      const put = await cluster.put({ key, value: key, w: 2 });
      slowest = Math.max(slowest, Date.now() - started);
      expect(put.ok).toBe(true);
      started = Date.now();
      const got = await cluster.get({ key, r: 2 });
      slowest = Math.max(slowest, Date.now() - started);
      expect(got.ok && got.value.siblings.map((s) => s.value.toString())).toEqual([key.toString()]);
    }
    // A dead node fails its requests at once: no call waited for the replica timeout.
    expect(slowest).toBeLessThan(REPLICA_TIMEOUT_MS * 0.75);
  });

  it('answers W=3 with UNAVAILABLE naming the counts and the dead node, at once', async () => {
    const started = Date.now();
    const put = await cluster.put({ key: freshKey('all'), value: Buffer.from('v'), w: 3 });
    expect(put.ok).toBe(false);
    if (put.ok) return;
    expect(put.error.code).toBe(status.UNAVAILABLE);
    // It fails once node-2's failure made W=3 impossible and the live replicas answered: the
    // count is exact (2 of 3), and nothing waits for the replica timeout.
    expect(put.error.details).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-2: connection refused)');
    expect(Date.now() - started).toBeLessThan(REPLICA_TIMEOUT_MS * 0.75);
    expect(cluster.coordinator.operations.counts.quorumFailures.put).toBe(1);
  });

  it('reports the killed node as down in Status', async () => {
    const s = await cluster.status();
    expect(s.ok && s.value.nodes.map((n) => [n.id, n.up])).toEqual([
      ['node-1', true],
      ['node-2', false],
      ['node-3', true],
    ]);
  });

  it('reconnects when the node comes back, and W=3 works again', async () => {
    await cluster.restart('node-2');
    await until('the stream to node-2 to reopen', () => cluster.pool.isUp('node-2'), 10_000);
    const put = await cluster.put({ key: freshKey('back'), value: Buffer.from('v'), w: 3 });
    expect(put.ok).toBe(true);
  });

  it("answers DEADLINE_EXCEEDED at the client's deadline when replicas hang, before the replica timeout", async () => {
    const key = freshKey('hang');
    const hung = cluster.preferenceList(key).slice(0, 2);
    for (const id of hung) cluster.node(id).process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const got = await cluster.get({ key, r: 2 }, 300);
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.error.code).toBe(status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeLessThan(REPLICA_TIMEOUT_MS * 0.75);
    } finally {
      for (const id of hung) cluster.node(id).process.kill('SIGCONT');
    }
  });

  it('counts a hung replica as a miss after --replica-timeout-ms and says "deadline"', async () => {
    const key = freshKey('slow');
    const [, second] = cluster.preferenceList(key);
    if (second === undefined) throw new Error('short preference list');
    cluster.node(second).process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const put = await cluster.put({ key, value: Buffer.from('v'), w: 3 }, 5000);
      expect(put.ok).toBe(false);
      if (!put.ok) {
        expect(put.error.code).toBe(status.UNAVAILABLE);
        expect(put.error.details).toContain(`${second}: deadline`);
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(REPLICA_TIMEOUT_MS - 100);
      expect(Date.now() - started).toBeLessThan(REPLICA_TIMEOUT_MS * 2.5);
    } finally {
      cluster.node(second).process.kill('SIGCONT');
    }
  });
});
