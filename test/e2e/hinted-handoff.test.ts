/**
 * Issue 11, across real processes and a real nats-server: a storage node killed -9 under
 * continuous W=2 writes misses no acknowledged write — each one it missed is hinted in JetStream
 * before the write is acknowledged, the hints survive a kill -9 of nats-server, and when the node
 * is back it drains them, so that it alone (the other two stopped) holds every acknowledged key
 * without any read having healed it.
 *
 * Plain text even under QKV_E2E_TLS=1: the hint queue (NATS) has no TLS yet, and the test reads
 * replicas and JetStream directly.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata } from '@grpc/grpc-js';
import { MembershipClient } from '@quorumkv/client';
import { HintQueue, NatsServer } from '@quorumkv/hints';
import { membership, type kv } from '@quorumkv/proto';
import { eventually, readReplica, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const b = (s: string): Buffer => Buffer.from(s);

function hintsStatus(address: string): Promise<membership.StatusResponse> {
  const client = new membership.MembershipServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.status({}, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    }),
  );
}

/** Writers putting fresh keys at W=2 until paused; every answer kept. */
class Writers {
  readonly acked = new Map<string, kv.PutResponse>();
  readonly failed: string[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private n = 0;
  constructor(
    private readonly t: TestCluster,
    private readonly clients: number,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.clients }, async () => {
      while (this.running) {
        const key = `k-${this.n++}`;
        try {
          const res = await this.t.kv.put({ key: b(key), value: b(`v-${key}`), w: 2, requestId: randomBytes(16) }, 10_000);
          this.acked.set(key, res);
        } catch (err) {
          this.failed.push(`${key}: ${(err as Error).message}`);
        }
      }
    });
  }

  /** Stops and waits for the writes in flight. */
  async pause(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Resolves once `more` further writes were acknowledged. */
  async until(more: number): Promise<void> {
    const target = this.acked.size + more;
    await eventually(() => expect(this.acked.size).toBeGreaterThanOrEqual(target), 60_000, 20);
  }
}

describe('hinted handoff: one of three nodes killed -9 under W=2 writes', () => {
  let t: TestCluster;
  let queue: HintQueue;

  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3, replicationFactor: 3, hints: { natsPort: 0 }, tls: false });
    queue = await HintQueue.connect({ servers: t.cluster.nats?.url ?? '' });
  }, 90_000);
  afterAll(async () => {
    await queue?.close();
    await t?.stop();
  }, 60_000);

  it('fails no write, hints every write node-3 missed, keeps them across a nats-server kill -9, and node-3 alone then holds every acknowledged key', async () => {
    expect(t.cluster.nats).toBeDefined();
    const status = await hintsStatus(t.cluster.membershipAddress);
    expect(status.hintsEnabled).toBe(true);

    const writers = new Writers(t, 4);
    writers.start();
    await writers.until(100);
    const killedAt = writers.acked.size;
    t.cluster.node('node-3').process.kill('SIGKILL');
    await t.cluster.node('node-3').process.exited();
    await writers.until(300);
    await writers.pause();
    expect(writers.failed).toEqual([]);

    // Once the coordinator knows node-3 is gone (its stream broke), every answer names it as
    // hinted: there is no stand-in with N = 3 nodes, W=2 is met by the two primaries up, and the
    // hint is stored before the answer. Writes sent to node-3 before its stream broke fail there
    // after W was met: their hint is stored as soon as that failure is known, after their answer.
    const after = [...writers.acked.values()].slice(killedAt);
    const named = (r: kv.PutResponse): boolean => r.handoff?.hinted.includes('node-3') === true;
    const first = after.findIndex(named);
    expect(first).toBeGreaterThanOrEqual(0);
    // Completion order is not start order: up to one write per writer may straddle the moment.
    const settled = after.slice(first + 4);
    expect(settled.length).toBeGreaterThan(150);
    expect(settled.filter((r) => !named(r))).toEqual([]);
    for (const r of settled) expect(r.handoff).toEqual({ standIns: [], hinted: ['node-3'], unhinted: [] });
    const hintedInAnswers = after.filter(named).length;
    const unnamed = after.length - hintedInAnswers;
    const pending = (await queue.pendingByNode()).get('node-3') ?? 0;
    expect(pending).toBeGreaterThanOrEqual(hintedInAnswers);
    // At most: those named, those acknowledged before the coordinator knew, and those in flight at the kill.
    expect(pending).toBeLessThanOrEqual(hintedInAnswers + unnamed + 4);

    // qkv cluster handoff tells the same, from the membership service.
    const admin = new MembershipClient({ address: t.cluster.membershipAddress });
    const seen = (await admin.handoff()).nodes.find((n) => n.nodeId === 'node-3');
    expect(seen).toMatchObject({ pending, reported: false });
    expect(seen?.oldestAgeMs).toBeGreaterThan(0);

    // kill -9 nats-server mid-outage and start it again on its store: no hint lost.
    const nats = t.cluster.nats as NatsServer;
    nats.kill('SIGKILL');
    await nats.exited();
    t.cluster.nats = await NatsServer.start({ ...nats.options, port: nats.port });
    await queue.close();
    queue = await HintQueue.connect({ servers: t.cluster.nats.url });
    expect((await queue.pendingByNode()).get('node-3') ?? 0).toBe(pending);

    // node-3 back: it drains every hint (1 MiB/s throttle: a few hundred small hints take well
    // under a second of it), then alone, with the other two stopped, holds every acknowledged key.
    const startedAt = Date.now();
    await t.cluster.restartNode('node-3');
    await eventually(async () => expect((await queue.pendingByNode()).get('node-3') ?? 0).toBe(0), 60_000, 100);
    const deliveryMs = Date.now() - startedAt;
    await eventually(async () => {
      const back = (await admin.handoff()).nodes.find((n) => n.nodeId === 'node-3');
      expect(back).toMatchObject({ pending: 0, reported: true, draining: true, undeliverable: 0 });
      expect(back?.delivered).toBeGreaterThanOrEqual(pending);
    }, 20_000, 200);
    admin.close();
    await Promise.all([t.cluster.node('node-1').process.stop(5_000), t.cluster.node('node-2').process.stop(5_000)]);
    const address = t.cluster.node('node-3').process.address;
    const missing: string[] = [];
    for (const [key] of writers.acked) {
      const versions = await readReplica(address, b(key));
      if (!versions.some((v) => Buffer.from(v.value).toString() === `v-${key}`)) missing.push(key);
    }
    expect(missing).toEqual([]);
    console.info(`hinted handoff e2e: ${writers.acked.size} writes acknowledged, ${writers.failed.length} failed; ${after.length} acknowledged during the outage (${unnamed} before the coordinator saw node-3 gone), ${pending} hints pending for node-3 (${hintedInAnswers} named in answers); all delivered ${deliveryMs} ms after the restart began`);
  }, 180_000);
});

describe('hinted handoff: two of three primaries down in a ring of five', () => {
  let t: TestCluster;
  let queue: HintQueue;

  beforeAll(async () => {
    t = await startTestCluster({ nodes: 5, replicationFactor: 3, hints: { natsPort: 0 }, tls: false });
    queue = await HintQueue.connect({ servers: t.cluster.nats?.url ?? '' });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    await t?.stop();
  }, 60_000);

  it('acknowledges W=2 writes through stand-ins; once both are back every key is on exactly its N replicas and no stand-in keeps a copy', async () => {
    for (const id of ['node-2', 'node-4']) {
      t.cluster.node(id).process.kill('SIGKILL');
      await t.cluster.node(id).process.exited();
    }
    const writers = new Writers(t, 4);
    writers.start();
    await writers.until(300);
    await writers.pause();
    expect(writers.failed).toEqual([]);
    const throughStandIns = [...writers.acked.values()].filter((r) => (r.handoff?.standIns.length ?? 0) > 0);
    // Keys whose primaries include both down nodes exist in a 5-node ring with N=3 (about 3 in 10).
    expect(throughStandIns.length).toBeGreaterThan(20);
    for (const r of throughStandIns) for (const s of r.handoff?.standIns ?? []) expect(['node-2', 'node-4']).toContain(s.replica);
    const pendingBefore = await queue.pendingByNode();

    const startedAt = Date.now();
    await Promise.all([t.cluster.restartNode('node-2'), t.cluster.restartNode('node-4')]);
    await eventually(async () => {
      const p = await queue.pendingByNode();
      expect([p.get('node-2') ?? 0, p.get('node-4') ?? 0]).toEqual([0, 0]);
    }, 60_000, 100);
    const deliveryMs = Date.now() - startedAt;
    const nodes = t.cluster.storageNodes.map((n) => n.process.address);
    // Every acknowledged key in the data of exactly N = 3 nodes (its replicas), and, once the
    // releases after delivery are through, in no node's stand-in copies.
    const holders = async (key: string, standIn: boolean): Promise<number> =>
      (await Promise.all(nodes.map((a) => readReplica(a, b(key), 5_000, undefined, standIn)))).filter((v) => v.some((x) => Buffer.from(x.value).toString() === `v-${key}`)).length;
    const wrong: string[] = [];
    for (const key of writers.acked.keys()) {
      const n = await holders(key, false);
      if (n !== 3) wrong.push(`${key}: on ${n}`);
    }
    expect(wrong).toEqual([]);
    await eventually(async () => {
      const kept: string[] = [];
      for (const key of writers.acked.keys()) if ((await holders(key, true)) > 0) kept.push(key);
      expect(kept).toEqual([]);
    }, 30_000, 500);
    console.info(
      `hinted handoff e2e (5 nodes, 2 down): ${writers.acked.size} writes acknowledged, ${writers.failed.length} failed, ${throughStandIns.length} through stand-ins; ` +
        `hints pending node-2 ${pendingBefore.get('node-2') ?? 0}, node-4 ${pendingBefore.get('node-4') ?? 0}; all delivered ${deliveryMs} ms after the restarts began`,
    );
  }, 240_000);
});

describe('hinted handoff: a node down longer than the hint window', () => {
  let t: TestCluster;
  let queue: HintQueue;
  const window = ['--hint-window', '4s'];

  beforeAll(async () => {
    t = await startTestCluster({
      nodes: 3,
      replicationFactor: 3,
      hints: { natsPort: 0 },
      tls: false,
      membershipArgs: window,
      storageArgs: window,
      coordinatorArgs: window,
    });
    queue = await HintQueue.connect({ servers: t.cluster.nats?.url ?? '', hintWindowMs: 4_000 });
  }, 90_000);
  afterAll(async () => {
    await queue?.close();
    await t?.stop();
  }, 60_000);

  it('gets no new hints once past the window (the answer says why) and its ranges are flagged for anti-entropy', async () => {
    t.cluster.node('node-3').process.kill('SIGKILL');
    await t.cluster.node('node-3').process.exited();
    const early = await t.kv.put({ key: b('early'), value: b('v'), w: 2 });
    expect(early.handoff?.hinted).toEqual(['node-3']);
    // Past the window (4 s from when the coordinator saw it down; it looks every second).
    let late: kv.PutResponse | undefined;
    await eventually(async () => {
      late = await t.kv.put({ key: b(`late-${randomBytes(4).toString('hex')}`), value: b('v'), w: 2 });
      expect(late.handoff?.unhinted).toEqual([{ replica: 'node-3', reason: 'down longer than the hint window: left to anti-entropy' }]);
    }, 20_000, 250);
    expect(late?.handoff?.hinted).toEqual([]);
    const before = (await queue.pendingByNode()).get('node-3') ?? 0;
    for (let i = 0; i < 20; i++) {
      const r = await t.kv.put({ key: b(`after-${i}`), value: b('v'), w: 2 });
      expect(r.handoff?.hinted).toEqual([]);
    }
    expect((await queue.pendingByNode()).get('node-3') ?? 0).toBeLessThanOrEqual(before);
    const log = readFileSync(join(t.dataDir, 'logs', 'coordinator.log'), 'utf8');
    const flagged = log
      .split('\n')
      .filter((l) => l.includes('ranges flagged for anti-entropy'))
      .map((l) => JSON.parse(l) as { reason?: string; node?: string; ranges?: number });
    expect(flagged).toEqual([expect.objectContaining({ reason: 'hint-window-exceeded', node: 'node-3' })]);
    expect(flagged[0]?.ranges).toBeGreaterThan(0);
  }, 120_000);
});
