/**
 * The coordinator follows the ring the membership service commits, with real processes: a node
 * started with --no-auto-join is added by `qkv cluster join`, and while its ranges stream (held
 * back by a tiny throttle) new writes already reach it as a pending target; and a coordinator
 * kept on an old ring epoch is refused by the storage nodes, then serves again once its view
 * catches up (epoch fencing).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import { TestWatchServer } from '@quorumkv/cluster-view/testing';
import { devTlsArgs, repoRoot, reservePorts, ServiceProcess, serviceEntry, type DevServiceRole, type PortReservation } from '@quorumkv/local-cluster';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterCredentials, KvCalls, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const b = (s: string): Buffer => Buffer.from(s);

let t: TestCluster;
/** `--tls-dir` for qkv when the cluster runs on TLS (QKV_E2E_TLS=1). */
let qkvTls: string[] = [];

/** The certificate flags of a service the test starts itself (none without TLS). */
function tlsArgs(role: DevServiceRole): string[] {
  return t.cluster.tls === undefined ? [] : devTlsArgs(t.cluster.tls, role);
}

/** A stand-in membership service's credentials: on TLS, the membership certificate. */
function membershipServerCredentials(): ServerCredentials {
  const tls = t.cluster.tls;
  if (tls === undefined) return ServerCredentials.createInsecure();
  const own = tls.services.membership;
  return ServerCredentials.createSsl(readFileSync(tls.ca), [{ private_key: readFileSync(own.key), cert_chain: readFileSync(own.cert) }], true);
}

/** `qkv …` as a user runs it; resolves with its exit code and output. */
function qkv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [join(repoRoot, 'packages/client/bin/qkv.js'), ...args, ...qkvTls], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('a ring that changes under a running coordinator (real processes)', () => {
  let ports: PortReservation;
  let view: ClusterViewClient;
  const extra: ServiceProcess[] = [];
  const fakes: TestWatchServer[] = [];
  const calls: KvCalls[] = [];

  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, replicationFactor: 3 });
    ports = await reservePorts(2);
    if (t.cluster.tls !== undefined) qkvTls = ['--tls-dir', t.cluster.tls.dir];
    view = new ClusterViewClient({ seeds: [t.cluster.membershipAddress], watcherId: 'test', role: 'anti-entropy', credentials: clusterCredentials(t.cluster, 'anti-entropy') });
    view.start();
    await view.waitForView(10_000);
  });
  afterAll(async () => {
    view?.close();
    for (const c of calls) c.close();
    for (const f of fakes) f.stop();
    await Promise.all(extra.map((p) => p.stop(3_000)));
    ports?.release();
    await t?.stop();
  });

  it('adds a node started --no-auto-join with `qkv cluster join`; while its ranges stream, writes reach it as a pending target', async () => {
    const membership = t.cluster.membershipAddress;
    for (let i = 0; i < 300; i++) await t.kv.put({ key: b(`before-${i}`), value: Buffer.alloc(100, i % 256) });
    // Hold the transfers back: 1 KiB/s for ~40 KB of ranges.
    expect((await qkv('cluster', 'throttle', '1KiB', '--membership', membership)).stdout).toMatch(/1024 bytes\/s/);

    const address = `127.0.0.1:${ports.ports[0]}`;
    const node4 = await ServiceProcess.start({
      name: 'node-4',
      entry: serviceEntry('storage-node'),
      args: ['--id', 'node-4', '--listen', address, '--data-dir', join(t.dataDir, 'node-4'), '--seeds', membership, '--no-auto-join', '--metrics-listen', '127.0.0.1:0', ...tlsArgs('storage-node')],
      env: { LOG_LEVEL: 'warn' },
      logFile: join(t.dataDir, 'logs', 'node-4.log'),
    });
    extra.push(node4);
    // It follows the ring but is not in it.
    const alive = async (): Promise<boolean> => {
      const doc = JSON.parse((await qkv('cluster', 'status', '--json', '--membership', membership)).stdout) as { members: { id: string; liveness: string }[] };
      return doc.members.some((m) => m.id === 'node-4' && m.liveness === 'alive');
    };
    await waitUntil(alive, 15_000, 'node-4 to be seen alive by gossip');
    expect(view.current?.ring.member('node-4')).toBeUndefined();

    const joined = await qkv('cluster', 'join', 'node-4', address, '--membership', membership);
    expect(joined, joined.stderr).toMatchObject({ code: 0 });
    expect(joined.stdout).toMatch(/node-4 is JOINING at ring epoch \d+/);
    const pendingEpoch = Number(/epoch (\d+)/.exec(joined.stdout)?.[1]);
    const ring = (await view.waitForEpoch(pendingEpoch, 10_000)).ring;
    // The coordinator learns the epoch from its own watch, maybe after this test's view: until it
    // does, a write routed by the old epoch goes to the old owners only (correctly: node-4 gets it
    // by the transfer), so wait for the coordinator before writing.
    const metricsUrl = t.cluster.coordinator.metricsUrl;
    if (metricsUrl === undefined) throw new Error('the coordinator logged no metrics URL');
    const coordinatorEpoch = async (): Promise<number> => Number(/^quorumkv_coordinator_ring_epoch(?:\{[^}]*\})? (\S+)$/m.exec(await (await fetch(metricsUrl)).text())?.[1] ?? 0);
    await waitUntil(async () => (await coordinatorEpoch()) >= pendingEpoch, 10_000, `the coordinator to route by ring epoch ${pendingEpoch}`);

    // New writes while node-4 is JOINING: every key it gains is written to it too.
    const gained: string[] = [];
    for (let i = 0; gained.length < 10 && i < 200; i++) {
      const key = `during-${i}`;
      await t.kv.put({ key: b(key), value: b(`v${i}`) });
      if (ring.writeTargets(key).pending.includes('node-4')) gained.push(key);
    }
    expect(gained.length).toBe(10);
    // The coordinator answers after W + P of the four targets, so node-4's copy may land just
    // after the answer: wait for it rather than read once.
    for (const key of gained) {
      const holds = async (): Promise<boolean> => {
        const versions = await readReplica(address, b(key), 5_000, clusterCredentials(t.cluster, 'coordinator'));
        return versions.length === 1 && Buffer.from(versions[0]!.value).toString() === `v${key.slice(7)}`;
      };
      await waitUntil(holds, 10_000, `node-4 to hold ${key} as a pending target`);
    }
    // Still moving: these were pending-target writes, not replication after the commit.
    expect(view.current?.ring.epoch).toBe(pendingEpoch);
    expect(view.current?.ring.member('node-4')?.state).toBe('joining');

    // Let the transfer finish: node-4 becomes NORMAL and every key reads with R=ALL.
    await qkv('cluster', 'throttle', '64MiB', '--membership', membership);
    await view.waitForEpoch(pendingEpoch + 1, 60_000);
    expect(view.current?.ring.member('node-4')?.state).toBe('normal');
    for (const key of [...gained, 'before-0', 'before-150', 'before-299']) {
      const res = await t.kv.get({ key: b(key), r: 3 });
      expect(res.found, key).toBe(true);
    }
  });

  it('refuses a coordinator held on an old ring epoch, and serves through it again once its view catches up', async () => {
    const membership = t.cluster.membershipAddress;
    const current = view.current;
    if (!current) throw new Error('no view');
    // A coordinator whose membership service (a stand-in the test controls) serves this epoch.
    const fake = new TestWatchServer({ ring: current.ring.snapshot });
    fakes.push(fake);
    const seeds = await fake.listen(0, membershipServerCredentials());
    const held = await ServiceProcess.start({
      name: 'held-coordinator',
      entry: serviceEntry('coordinator'),
      args: ['--listen', `127.0.0.1:${ports.ports[1]}`, '--seeds', seeds, '--context-keys-file', t.cluster.contextKeysFile, '--ring-wait-ms', '1500', '--metrics-listen', '127.0.0.1:0', ...tlsArgs('coordinator')],
      env: { LOG_LEVEL: 'warn' },
      logFile: join(t.dataDir, 'logs', 'held-coordinator.log'),
    });
    extra.push(held);
    const kv = new KvCalls(held.address, clusterCredentials(t.cluster));
    calls.push(kv);
    await waitUntil(() => kv.put({ key: b('held-0'), value: b('x') }).then(() => true, () => false), 15_000, 'the held coordinator to serve');

    // The ring moves on twice (a node that never runs joins, and is removed): every storage node
    // learns the new epoch; the held coordinator does not.
    expect((await qkv('cluster', 'join', 'node-9', '127.0.0.1:1', '--membership', membership)).code).toBe(0);
    expect((await qkv('cluster', 'remove', 'node-9', '--membership', membership)).code).toBe(0);
    const moved = current.ring.epoch + 2;
    await view.waitForEpoch(moved, 10_000);

    const refused = await kv.put({ key: b('held-1'), value: b('y') }).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    expect(refused?.code).toBe(status.UNAVAILABLE);
    expect(refused?.details).toMatch(new RegExp(`ring epoch ${moved} but this coordinator is at ${current.ring.epoch} and did not catch up within 1500 ms`));

    // Its view catches up: the same coordinator serves again, on the new ring.
    fake.publish({ ring: (await view.waitForEpoch(moved, 1_000)).ring.snapshot });
    await kv.put({ key: b('held-2'), value: b('z') }, 10_000);
    const back = await t.kv.get({ key: b('held-2'), r: 3 });
    expect(back.siblings.map((s) => Buffer.from(s.value).toString())).toEqual(['z']);
  });
});
