/**
 * The membership service as real processes: it keeps the committed ring across its own kill -9
 * and restart, and several replicas agree on every epoch — a claimant killed in the middle of a
 * change never leaves two rings under one epoch, and another replica takes over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MembershipClient } from '@quorumkv/client';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import { reservePorts, type PortReservation } from '@quorumkv/local-cluster';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { EpochRecorder, type Replica, reportComplete, startReplica } from '../support/membership-replicas.js';

const dir = mkdtempSync(join(tmpdir(), 'qkv-membership-e2e-'));
const replicas: Replica[] = [];
const clients: { close(): void }[] = [];
const reservations: PortReservation[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(replicas.map((r) => r.process.stop(3_000)));
  for (const r of reservations) r.release();
  rmSync(dir, { recursive: true, force: true });
});

function client(address: string, deadlineMs = 10_000): MembershipClient {
  const c = new MembershipClient({ address, deadlineMs });
  clients.push(c);
  return c;
}

describe('one membership replica', () => {
  it('keeps the committed ring (epochs, states, settings) across a kill -9 and a restart, and numbers the next change after it', async () => {
    const ports = await reservePorts(1);
    reservations.push(ports);
    const address = `127.0.0.1:${ports.ports[0]}`;
    const r: Replica = { id: 'membership-1', address, dataDir: join(dir, 'solo'), process: await startReplica('membership-1', address, join(dir, 'solo'), [], join(dir, 'logs')) };
    replicas.push(r);
    const m = client(address);
    expect((await m.join('node-a', '127.0.0.1:17101')).epoch).toBe(1);
    expect((await m.join('node-b', '127.0.0.1:17102')).message).toMatch(/node-b is JOINING at ring epoch 2/);
    // node-b reports its ranges in: the claimant commits epoch 3 (node-b NORMAL).
    await reportComplete(address, 'node-b', 2);
    await waitUntil(async () => (await m.status()).epoch === 3, 10_000, 'epoch 3 to be committed');
    expect(await m.setThrottle(1_048_576)).toBe(1_048_576);

    r.process.kill('SIGKILL');
    await r.process.exited();
    r.process = await startReplica('membership-1', address, r.dataDir, [], join(dir, 'logs'));
    const watch = new ClusterViewClient({ seeds: [address], watcherId: 'test', role: 'coordinator' });
    clients.push(watch);
    watch.start();
    const view = await watch.waitForView(10_000);
    expect(view.ring.epoch).toBe(3);
    expect(view.ring.snapshot.members.map((x) => [x.id, x.address, x.state])).toEqual([
      ['node-a', '127.0.0.1:17101', 'normal'],
      ['node-b', '127.0.0.1:17102', 'normal'],
    ]);
    expect(view.settings.streamThroughputBytesPerS).toBe(1_048_576);
    expect((await m.join('node-c', '127.0.0.1:17103')).epoch).toBe(4);
  });
});

describe('three membership replicas', () => {
  it('agree on every epoch; a claimant killed -9 in the middle of a change leaves no forked epoch, and another takes over', async () => {
    const ports = await reservePorts(3);
    reservations.push(ports);
    const addresses = ports.ports.map((p) => `127.0.0.1:${p}`);
    const started = await Promise.all(
      addresses.map(async (address, i) => {
        const id = `membership-${i + 1}`;
        const dataDir = join(dir, id);
        const process = await startReplica(id, address, dataDir, addresses.filter((a) => a !== address), join(dir, 'logs'));
        return { id, address, dataDir, process };
      }),
    );
    replicas.push(...started);
    const recorder = new EpochRecorder();
    clients.push(recorder);
    for (const a of addresses) recorder.watch(a);
    const [first, , third] = started;
    if (!first || !third) throw new Error('replicas missing');
    const peersOf = (r: Replica): string[] => addresses.filter((a) => a !== r.address);
    const status = (r: Replica) => client(r.address).status();
    /** A replica's epoch, or -1 while it does not answer (starting, or just killed). */
    const epochOf = (r: Replica): Promise<number> => status(r).then((x) => x.epoch, () => -1);
    // Every replica gossips with the others: membership-1, the lowest id, is the claimant.
    await waitUntil(
      async () => (await Promise.all(started.map((r) => status(r).then((x) => x.claimant, () => '')))).every((c) => c === 'membership-1'),
      20_000,
      'the replicas to agree on the claimant',
    );

    // A change sent to a replica that is not the claimant is forwarded, and all three see it.
    expect((await client(third.address).join('node-1', '127.0.0.1:17201')).epoch).toBe(1);
    await waitUntil(async () => (await Promise.all(started.map(epochOf))).every((e) => e === 1), 10_000, 'every replica to learn epoch 1');

    // Kill the claimant in the middle of changes: it proposes node-x joins while it dies.
    const inFlight = ['node-x1', 'node-x2', 'node-x3'].map((id, i) => client(first.address, 3_000).join(id, `127.0.0.1:${17300 + i}`).then(
      (r) => ({ id, epoch: r.epoch }),
      () => ({ id, epoch: undefined }),
    ));
    await new Promise((resolve) => setTimeout(resolve, 15));
    first.process.kill('SIGKILL');
    const outcomes = await Promise.all(inFlight);
    await first.process.exited();

    // The survivors (a majority) take over: the next change goes through one of them. The first
    // one completes whatever the dead claimant had got accepted, then applies its own.
    const survivor = client(third.address, 40_000);
    expect(await survivor.setThrottle(2_000_000)).toBe(2_000_000);
    const pending = (await survivor.status()).members.find((m) => m.ringState === 'joining');
    // One change at a time: a join that made it stays JOINING until its transfers are reported.
    if (pending) await reportComplete(third.address, pending.id, (await survivor.status()).epoch);
    const after = await survivor.join('node-2', '127.0.0.1:17202');
    expect(after.message).toMatch(/node-2 is JOINING/);
    const survivors = started.filter((r) => r !== first);
    await waitUntil(async () => (await Promise.all(survivors.map(epochOf))).every((e) => e === after.epoch), 15_000, 'the survivors to agree');

    // The killed claimant comes back on its folder and learns what was chosen without it.
    first.process = await startReplica(first.id, first.address, first.dataDir, peersOf(first), join(dir, 'logs'));
    await waitUntil(async () => (await epochOf(first)) === after.epoch, 20_000, 'the restarted replica to catch up');
    const finals = await Promise.all(started.map(status));
    const rings = finals.map((s) => JSON.stringify(s.members.filter((m) => m.role === 'storage').map((m) => [m.id, m.ringState])));
    expect(new Set(rings).size).toBe(1);

    expect(recorder.forks).toEqual([]);
    // No epoch was seen with two rings, on any replica, before or after the kill; the newest is
    // the survivors'; and every join the dead claimant acknowledged is in the ring.
    expect(recorder.epochs().at(-1)).toBe(after.epoch);
    const members = JSON.parse(rings[0] ?? '[]') as [string, string][];
    for (const o of outcomes) if (o.epoch !== undefined) expect(members.map((m) => m[0])).toContain(o.id);
  });
});
