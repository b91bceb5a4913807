/**
 * Anti-entropy with real processes (membership, three storage nodes joined through it, a
 * coordinator following the ring, the anti-entropy worker): a replica whose disk was replaced
 * gets every acknowledged key back from `qkv repair --node`; divergence injected into one
 * replica's engine converges with exactly those keys repaired; writes in flight during an
 * exchange are not counted as repairs.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AntiEntropyClient, QuorumKvClient, type RepairStatus } from '@quorumkv/client';
import { repoRoot } from '@quorumkv/local-cluster';
import { createLogger } from '@quorumkv/service-kit';
import { StorageEngine } from '@quorumkv/storage-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaProbe } from '../support/replica-probe.js';
import { RingCluster } from '../support/ring-cluster.js';
import { clusterCredentials, clusterSdkOptions, eventually } from '../support/test-cluster.js';

const KEYS = 20_000;
const QKV = join(repoRoot, 'packages/client/dist/cli/main.js');
const run = promisify(execFile);

let cluster: RingCluster;
let kv: QuorumKvClient;
let ae: AntiEntropyClient;
/** Every key a put acknowledged, with its value. */
const acknowledged = new Map<string, string>();

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/** `qkv repair ARGS --wait` as a user runs it; returns its output. */
async function qkvRepair(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [QKV, 'repair', ...args, '--wait', '--anti-entropy', cluster.antiEntropyAddress, ...cluster.qkvTlsArgs], { timeout: 240_000 });
  return stdout;
}

/** The worker's status once no pass runs any more. */
async function settled(): Promise<RepairStatus> {
  let s: RepairStatus | undefined;
  await eventually(async () => {
    s = await ae.status();
    expect(s.running).toEqual([]);
  }, 120_000, 250);
  return s as RepairStatus;
}

/** The dots of a key's set on one node, sorted (what a replica's version-set digest covers). */
async function dotsOn(node: string, key: string): Promise<string[]> {
  const probe = new ReplicaProbe(cluster.nodeAddress(node), cluster.ring.epoch, clusterCredentials(cluster, 'coordinator'));
  try {
    return (await probe.read(key)).map((v) => `${v.dot?.node}/${v.dot?.epoch}/${v.dot?.counter}`).sort();
  } finally {
    probe.close();
  }
}

beforeAll(async () => {
  cluster = await RingCluster.start({
    // One pass at start-up, then only what the test asks for (or a node coming back).
    antiEntropyArgs: ['--period-ms', '3600000', '--confirm-pause-ms', '1500', '--keys-per-second', '200000', '--exchanges-per-second', '5000'],
  });
  kv = new QuorumKvClient({ address: cluster.coordinatorAddress, deadlineMs: 20_000, ...clusterSdkOptions(cluster) });
  ae = new AntiEntropyClient({ address: cluster.antiEntropyAddress, credentials: clusterCredentials(cluster) });
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
  await inParallel(keys, 128, async (key) => {
    await kv.put(key, `value of ${key}`);
    acknowledged.set(key, `value of ${key}`);
  });
}, 600_000);

afterAll(async () => {
  kv?.close();
  ae?.close();
  await cluster?.stop();
}, 60_000);

describe('anti-entropy on a real cluster', () => {
  it('a replica restarted with a wiped data folder gets every acknowledged key back from `qkv repair --node`: with the other replicas stopped, R=1 reads find them all', async () => {
    expect(acknowledged.size).toBe(KEYS);
    await cluster.stopNode('node-2');
    rmSync(cluster.nodeDir('node-2'), { recursive: true, force: true });
    await cluster.startNode('node-2');
    const out = await qkvRepair('--node', 'node-2');
    expect(out).toMatch(/pass \d+ started: \d+ range exchanges \(node-2\)/);
    await settled();

    await cluster.stopNode('node-1');
    await cluster.stopNode('node-3');
    const missing: string[] = [];
    await inParallel([...acknowledged], 64, async ([key, value]) => {
      const got = await kv.get(key, { r: 1 });
      if (!got.siblings.some((s) => s.toString() === value)) missing.push(key);
    });
    expect(missing).toEqual([]);
    await cluster.startNode('node-1');
    await cluster.startNode('node-3');
    await cluster.ringSettles((ring) => ring.current.nodes().length === 3);
  }, 600_000);

  it('divergence injected into one replica\'s engine (1% of the keys changed, some deleted) converges with exactly those keys repaired', async () => {
    await qkvRepair();
    const before = await settled();
    await cluster.stopNode('node-3');
    const engine = await StorageEngine.open({ dataDir: cluster.nodeDir('node-3'), nodeId: 'node-3', logger: createLogger({ service: 'test', level: 'silent' }) });
    const changed: string[] = [];
    const deleted: string[] = [];
    try {
      for (let i = 0; i < KEYS; i += 100) {
        const key = `user:${i}`;
        if (i % 300 === 0) {
          // Gone from this replica's disk, record and index (a lost write).
          await engine.purgeIf(Buffer.from(key), () => true);
          deleted.push(key);
        } else {
          // A new version of this replica's own that no other replica has.
          const held = await engine.read(Buffer.from(key));
          const context = held.map((v) => ({ node: v.dot.node, epoch: v.dot.epoch, counter: v.dot.counter, timestampMs: v.writtenAtMs }));
          await engine.coordinate(Buffer.from(key), { context, value: Buffer.from(`changed ${key}`), tombstone: false });
          changed.push(key);
        }
      }
    } finally {
      await engine.close();
    }
    expect(changed.length + deleted.length).toBe(KEYS / 100);
    await cluster.startNode('node-3');
    await qkvRepair('--node', 'node-3');
    const after = await settled();
    expect(after.keysRepaired - before.keysRepaired).toBe(changed.length + deleted.length);
    for (const key of [...changed, ...deleted]) {
      const [a, b, c] = await Promise.all(['node-1', 'node-2', 'node-3'].map((n) => dotsOn(n, key)));
      expect(b, key).toEqual(a);
      expect(c, key).toEqual(a);
      expect(a?.length, key).toBeGreaterThan(0);
    }
    for (const key of changed) expect((await kv.get(key)).siblings.map(String)).toEqual([`changed ${key}`]);
  }, 600_000);

  it('writes in flight while an exchange runs are not counted as repairs: only the keys injected into one replica are', async () => {
    await qkvRepair();
    const before = await settled();
    // A sibling only node-1 holds, merged into it directly (as a stalled replication would leave it).
    const injected = Array.from({ length: 50 }, (_, j) => `user:${j * 397 + 11}`);
    const injector = new ReplicaProbe(cluster.nodeAddress('node-1'), cluster.ring.epoch, clusterCredentials(cluster, 'coordinator'));
    try {
      for (const key of injected) await injector.addSibling(key, `injected ${key}`);
    } finally {
      injector.close();
    }
    let stop = false;
    let writes = 0;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        await kv.put(`live:${w}:${i}`, `write ${i}`);
        writes += 1;
      }
    });
    await qkvRepair();
    stop = true;
    await Promise.all(writers);
    const after = await settled();
    expect(writes).toBeGreaterThan(0);
    expect(after.keysRepaired - before.keysRepaired).toBe(injected.length);
    for (const key of injected) expect((await kv.get(key)).siblings.map(String).sort()).toEqual([`injected ${key}`, `value of ${key}`]);
  }, 600_000);
});
