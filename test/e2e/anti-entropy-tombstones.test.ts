/**
 * Tombstones with real processes: a delete that one replica missed because it was down is not
 * purged from the others while it stays down, even past the grace period; once it is back, the
 * exchange hands it the tombstone and only then do all three purge the key, whose count goes down
 * on every node — and the deleted value never comes back.
 */
import { AntiEntropyClient, QuorumKvClient, type RepairStatus } from '@quorumkv/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaProbe } from '../support/replica-probe.js';
import { RingCluster } from '../support/ring-cluster.js';
import { clusterCredentials, clusterSdkOptions, eventually } from '../support/test-cluster.js';

const GRACE_MS = 6_000;
const KEYS = 300;
let cluster: RingCluster;
let kv: QuorumKvClient;
let ae: AntiEntropyClient;

async function keysOn(node: string): Promise<number> {
  const url = cluster.nodes.get(node)?.metricsUrl;
  if (url === undefined) throw new Error(`${node} has no metrics URL`);
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith('quorumkv_storage_keys '));
  return Number(line?.split(' ')[1]);
}

async function versionsOn(node: string, key: string): Promise<{ tombstone: boolean }[]> {
  const probe = new ReplicaProbe(cluster.nodeAddress(node), cluster.ring.epoch, clusterCredentials(cluster, 'coordinator'));
  try {
    return await probe.read(key);
  } finally {
    probe.close();
  }
}

/** Waits until a pass that started after `ms` has finished. */
async function passFinishedAfter(ms: number): Promise<RepairStatus> {
  let s: RepairStatus | undefined;
  await eventually(async () => {
    s = await ae.status();
    expect(s.last?.startedAtMs ?? 0).toBeGreaterThan(ms);
  }, 60_000, 200);
  return s as RepairStatus;
}

beforeAll(async () => {
  cluster = await RingCluster.start({
    // Short period and grace so the test sees them pass; the grace stays longer than the period.
    antiEntropyArgs: ['--period-ms', '2000', '--tombstone-grace-ms', String(GRACE_MS), '--purge-interval-ms', '0', '--confirm-pause-ms', '500'],
  });
  kv = new QuorumKvClient({ address: cluster.coordinatorAddress, deadlineMs: 10_000, ...clusterSdkOptions(cluster) });
  ae = new AntiEntropyClient({ address: cluster.antiEntropyAddress, credentials: clusterCredentials(cluster) });
  for (let i = 0; i < KEYS; i++) await kv.put(`k${i}`, `v${i}`);
}, 240_000);

afterAll(async () => {
  kv?.close();
  ae?.close();
  await cluster?.stop();
}, 60_000);

describe('tombstones', () => {
  it('a replica that missed the delete and was down past the grace period does not bring the key back; once it holds the tombstone, every replica purges it and key counts go down', async () => {
    const deleted = Array.from({ length: 100 }, (_, j) => `k${3 * j}`);
    await eventually(async () => expect(await keysOn('node-3')).toBe(KEYS), 30_000, 200);
    await cluster.stopNode('node-3');
    for (const key of deleted) {
      const read = await kv.get(key);
      await kv.delete(key, { context: read.context });
    }
    const deletedAt = Date.now();

    // The grace period passes with node-3 down: passes run, nothing is purged.
    await passFinishedAfter(deletedAt + GRACE_MS + 1_000);
    for (const node of ['node-1', 'node-2']) {
      expect(await keysOn(node)).toBe(KEYS);
      for (const key of deleted.slice(0, 10)) expect((await versionsOn(node, key)).every((v) => v.tombstone)).toBe(true);
    }
    expect((await ae.status()).tombstonesPurged).toBe(0);

    // node-3 comes back with its old disk, the values still on it.
    await cluster.startNode('node-3');
    expect((await versionsOn('node-3', deleted[0] as string)).some((v) => !v.tombstone)).toBe(true);
    await eventually(
      async () => {
        for (const node of ['node-1', 'node-2', 'node-3']) expect(await keysOn(node)).toBe(KEYS - deleted.length);
      },
      90_000,
      500,
    );
    const purged = (await ae.status()).tombstonesPurged;
    expect(purged).toBe(3 * deleted.length);

    // Later passes find nothing to bring back.
    await passFinishedAfter(Date.now() + 500);
    await passFinishedAfter(Date.now() + 500);
    for (const key of deleted) {
      expect((await kv.get(key, { consistency: 'all' })).found).toBe(false);
      for (const node of ['node-1', 'node-2', 'node-3']) expect(await versionsOn(node, key)).toEqual([]);
    }
    for (const node of ['node-1', 'node-2', 'node-3']) expect(await keysOn(node)).toBe(KEYS - deleted.length);
    expect((await kv.get('k1')).siblings.map(String)).toEqual(['v1']);
  }, 300_000);
});
