/**
 * The storage node's side of a living ring, with real processes: storage nodes started with
 * --seeds join through a membership stand-in (test/support/membership-stand-in.ts, the
 * claimant's rules), receive the ranges they gain over PullRange, report progress, and drop what
 * they release after the commit — while several writers keep writing with W + P acknowledgements.
 * One cluster goes through: a 4th node added; a 5th node killed with kill -9 in the middle of its
 * transfer and restarted (it resumes from its checkpoint); a decommission; a kill -9'd node
 * removed. After each change, every acknowledged key is read from each of its replicas (R = ALL)
 * and is held by exactly the ring's preference list.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serviceEntry } from '@quorumkv/local-cluster';
import type { RingView } from '@quorumkv/ring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembershipStandIn } from '../support/membership-stand-in.js';
import { ReplicaClients, readValues, writeContinuously, writeKey, type WriteTally } from '../support/ring-writer.js';
import { eventually } from '../support/test-cluster.js';

interface Node {
  readonly id: string;
  child: ChildProcess;
  address: string;
  metricsUrl: string;
  lines: string[];
}

const STATIC_KEYS = 3000;
let dir: string;
let membership: MembershipStandIn;
const nodes = new Map<string, Node>();
const written = new Map<string, string>();
const summary: string[] = [];

function start(id: string, listen = '127.0.0.1:0'): Promise<Node> {
  const args = [serviceEntry('storage-node'), '--id', id, '--listen', listen, '--data-dir', join(dir, id), '--seeds', membership.address, '--grace-ms', '2000'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
  const lines: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id}: no listening line:\n${lines.join('\n')}`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (!line.includes('"listening"')) return;
      const parsed = JSON.parse(line) as { address: string; metricsUrl: string };
      clearTimeout(timer);
      const node = { id, child, address: parsed.address, metricsUrl: parsed.metricsUrl, lines };
      nodes.set(id, node);
      resolve(node);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${id} exited (${code}):\n${lines.join('\n')}`));
    });
  });
}

function kill9(id: string): Promise<void> {
  const node = nodes.get(id)!;
  const exited = new Promise<void>((resolve) => node.child.once('exit', () => resolve()));
  node.child.kill('SIGKILL');
  return exited;
}

/** Waits for the ring to have no pending change, with `check` true of it. */
async function ringSettles(check: (ring: RingView) => boolean, timeoutMs = 40_000): Promise<RingView> {
  await eventually(() => {
    expect(membership.ring.changesPending).toBe(false);
    expect(check(membership.ring)).toBe(true);
  }, timeoutMs);
  return membership.ring;
}

/** A counter of a node's /metrics, summed over its label sets. */
async function metric(node: Node, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(node.metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

/**
 * Every acknowledged key, read from every live node with the ring's epoch: a read of all its
 * replicas (R = ALL) finds it; no node outside its preference list holds it; at least W = 2 of
 * its replicas hold it (what W + P acknowledgements guarantee; a replica that refused the write,
 * e.g. fenced while a new epoch reached it, gets it from read repair or anti-entropy). Returns how
 * many keys all their replicas hold. Eventually, because cleanup on the nodes that released arcs
 * runs once they see the commit.
 */
async function checkPlacement(ring: RingView, keys: Map<string, string>, live: readonly string[]): Promise<number> {
  const clients = new ReplicaClients();
  let onAll = 0;
  try {
    await eventually(async () => {
      onAll = 0;
      for (const [key, value] of keys) {
        const replicas = ring.readReplicas(key);
        const reads = await Promise.all(live.map((id) => readValues(clients, nodes.get(id)!.address, ring.epoch, key)));
        const holders = live.filter((_, i) => reads[i]!.includes(value));
        for (const id of holders) expect(replicas, `${key} held by non-replica ${id}`).toContain(id);
        live.forEach((id, i) => {
          if (!replicas.includes(id)) expect(reads[i], `${key} on non-replica ${id}`).toEqual([]);
        });
        expect(holders.length, `${key}: replicas holding it`).toBeGreaterThanOrEqual(Math.min(2, replicas.length));
        if (holders.length === replicas.filter((id) => live.includes(id)).length) onAll += 1;
      }
    }, 30_000, 250);
  } finally {
    clients.close();
  }
  summary.push(`  ${ring.epoch}: ${keys.size} acknowledged keys checked, ${onAll} on every replica, the rest on >= 2`);
  return onAll;
}

function tallyLine(change: string, tally: WriteTally): string {
  const failed = [...tally.failed.values()].reduce((a, b) => a + b, 0);
  const reasons = [...tally.failed].map(([r, n]) => `${n} × ${r}`).join('; ');
  return `${change}: ${tally.acked.size} writes acknowledged, ${failed} failed${failed > 0 ? ` (${reasons})` : ''}`;
}

async function duringChange(change: string, act: () => Promise<RingView>): Promise<RingView> {
  const writers = writeContinuously(() => membership.ring, change.replace(/\W+/g, '_'), 3);
  let ring: RingView;
  try {
    ring = await act();
  } finally {
    await writers.stop();
  }
  for (const [k, v] of writers.tally.acked) written.set(k, v);
  summary.push(tallyLine(change, writers.tally));
  expect(writers.tally.acked.size).toBeGreaterThan(0);
  return ring;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkv-ring-transfers-'));
  membership = new MembershipStandIn(3);
  await membership.listen();
  for (const id of ['node-1', 'node-2', 'node-3']) await start(id);
  await ringSettles((r) => r.allMembers().length === 3);
  const clients = new ReplicaClients();
  for (let i = 0; i < STATIC_KEYS; i += 100) {
    const batch = Array.from({ length: 100 }, (_, j) => `static-${i + j}`);
    const failures = await Promise.all(batch.map((k) => writeKey(clients, () => membership.ring, k, `v-${k}`)));
    expect(failures.filter((f) => f !== undefined)).toEqual([]);
    for (const k of batch) written.set(k, `v-${k}`);
  }
  clients.close();
}, 90_000);

afterAll(async () => {
  await Promise.all(
    [...nodes.values()].filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => kill9(n.id)),
  );
  membership?.stop();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`\nwrites during each membership change:\n  ${summary.join('\n  ')}\n`);
});

describe('storage nodes in a living ring (real processes, membership stand-in)', () => {
  it('a 4th node joins by itself, receives exactly the keys it now replicates (within 10% of ideal), and the others drop what they released', async () => {
    const ring = await duringChange('add node-4', async () => {
      await start('node-4');
      return ringSettles((r) => r.member('node-4')?.state === 'normal');
    });
    const final = membership.reports.filter((r) => r.nodeId === 'node-4' && r.complete).pop()!;
    const streamed = final.ranges.reduce((n, r) => n + Number(r.keysDone), 0);
    // Ideal: every key node-4 now replicates. Keys written during the move after their arc was
    // streamed reached it as a pending replica instead, so the ratio is a little under 1.
    const ideal = [...written.keys()].filter((k) => ring.readReplicas(k).includes('node-4')).length;
    const ratio = streamed / ideal;
    summary.push(`keys moved on 3 -> 4: ${streamed} streamed to node-4, ideal ${ideal} (every key it now replicates), ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
    await checkPlacement(ring, written, ['node-1', 'node-2', 'node-3', 'node-4']);
  });

  it('a node killed with kill -9 in the middle of its transfer resumes from its checkpoint after a restart (sources serve < 1.3 x the range)', async () => {
    membership.throttle(64 * 1024);
    const outBefore = await sumOut(['node-1', 'node-2', 'node-3', 'node-4']);
    const ring = await duringChange('add node-5, kill -9 it mid-transfer, restart it', async () => {
      const n5 = await start('node-5');
      const port = n5.address.split(':').pop()!;
      await eventually(() => {
        const last = membership.reports.filter((r) => r.nodeId === 'node-5').pop();
        expect(last && last.ranges.reduce((n, r) => n + Number(r.keysDone), 0)).toBeGreaterThan(300);
      }, 30_000);
      await kill9('node-5');
      membership.throttle(24 * 1024 * 1024);
      await start('node-5', `127.0.0.1:${port}`);
      return ringSettles((r) => r.member('node-5')?.state === 'normal');
    });
    expect(nodes.get('node-5')!.lines.some((l) => l.includes('range transfers resume from their checkpoints'))).toBe(true);
    const final = membership.reports.filter((r) => r.nodeId === 'node-5' && r.complete).pop()!;
    const rangeBytes = final.ranges.reduce((n, r) => n + Number(r.bytesDone), 0);
    const served = (await sumOut(['node-1', 'node-2', 'node-3', 'node-4'])) - outBefore;
    summary.push(`kill -9 mid-transfer: sources served ${served} bytes for a range of ${rangeBytes} bytes (${(served / rangeBytes).toFixed(2)} x)`);
    expect(served).toBeLessThan(1.3 * rangeBytes);
    await checkPlacement(ring, written, ['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
  });

  it('a decommissioned node streams its ranges to their new owners, becomes LEFT, refuses replica traffic and drops its data', async () => {
    const ring = await duringChange('decommission node-2', async () => {
      membership.leave('node-2');
      return ringSettles((r) => r.member('node-2')?.state === 'left');
    });
    await checkPlacement(ring, written, ['node-1', 'node-3', 'node-4', 'node-5']);
    await eventually(async () => expect(await metric(nodes.get('node-2')!, 'quorumkv_storage_keys')).toBe(0), 20_000);
    const clients = new ReplicaClients();
    await expect(readValues(clients, nodes.get('node-2')!.address, ring.epoch, 'static-1')).rejects.toThrow(/left the ring/);
    clients.close();
  });

  it('a node killed with kill -9 and removed is rebuilt on its new owners from the surviving replicas', async () => {
    await kill9('node-3');
    const ring = await duringChange('remove kill -9ed node-3', async () => {
      membership.remove('node-3');
      return ringSettles((r) => r.member('node-3')?.state === 'left');
    });
    await checkPlacement(ring, written, ['node-1', 'node-4', 'node-5']);
  });
});

async function sumOut(ids: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of ids) n += await metric(nodes.get(id)!, 'quorumkv_storage_transfer_bytes_total', 'direction="out"');
  return n;
}
