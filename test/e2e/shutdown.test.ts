/**
 * SIGTERM under load: a storage node, then a coordinator, stop while puts keep coming. No call a
 * service had accepted fails, every acknowledged write stays readable, and each process exits 0
 * before its grace period ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import { devTlsArgs, ServiceProcess, serviceEntry } from '@quorumkv/local-cluster';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { clusterCredentials, eventually, KvCalls, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const GRACE_MS = 5_000;
const WORKERS = 16;

/** One put as the client saw it. */
interface PutRecord {
  readonly key: string;
  readonly via: 'a' | 'b';
  readonly startedAt: number;
  readonly endedAt: number;
  readonly code: status;
}

/**
 * Closed-loop puts of fresh keys from several workers, to coordinator A until A refuses a call,
 * then to coordinator B. A put A refused is not retried under the same key: its key must then be
 * absent, which is how the test tells "refused before it was accepted" from "accepted, then lost".
 */
class PutLoad {
  readonly records: PutRecord[] = [];
  private stopping = false;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly a: KvCalls,
    private readonly b: KvCalls,
  ) {}

  get acked(): number {
    return this.records.filter((r) => r.code === status.OK).length;
  }

  start(workers: number): void {
    for (let i = 0; i < workers; i++) this.workers.push(this.run(i));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  private async run(worker: number): Promise<void> {
    let via: 'a' | 'b' = 'a';
    for (let n = 0; !this.stopping; n++) {
      const key = `w${worker}-${n}`;
      const code = await this.put(via, key);
      if (code !== status.OK && via === 'a') via = 'b';
    }
  }

  private async put(via: 'a' | 'b', key: string): Promise<status> {
    const startedAt = Date.now();
    let code: status = status.OK;
    try {
      await (via === 'a' ? this.a : this.b).put({ key: Buffer.from(key), value: Buffer.from(`value of ${key}`) }, 10_000);
    } catch (err) {
      code = (err as ServiceError).code;
    }
    this.records.push({ key, via, startedAt, endedAt: Date.now(), code });
    return code;
  }
}

/** Sends SIGTERM and resolves with the exit code and how long the exit took. */
async function terminate(p: ServiceProcess): Promise<{ code: number | null; ms: number; at: number }> {
  const at = Date.now();
  p.kill('SIGTERM');
  const code = await p.exited();
  return { code, ms: Date.now() - at, at };
}

describe('SIGTERM under load (3 storage nodes, N=3, W=2, two coordinators)', () => {
  let t: TestCluster;
  let coordinatorB: ServiceProcess | undefined;
  let a: KvCalls;
  let b: KvCalls;

  beforeAll(async () => {
    t = await startTestCluster({
      nodes: 3,
      replicationFactor: 3,
      storageArgs: ['--grace-ms', String(GRACE_MS)],
      coordinatorArgs: ['--grace-ms', String(GRACE_MS)],
    });
    coordinatorB = await ServiceProcess.start({
      name: 'coordinator-b',
      entry: serviceEntry('coordinator'),
      args: [
        '--listen',
        '127.0.0.1:0',
        '--seeds',
        t.cluster.membershipAddress,
        '--context-keys-file',
        t.cluster.contextKeysFile,
        '--grace-ms',
        String(GRACE_MS),
        ...(t.cluster.tls === undefined ? [] : devTlsArgs(t.cluster.tls, 'coordinator')),
      ],
      env: { LOG_LEVEL: 'warn' },
    });
    a = t.kv;
    b = new KvCalls(coordinatorB.address, clusterCredentials(t.cluster));
    // B serves once its streams are up.
    await eventually(() => b.put({ key: Buffer.from('probe-b'), value: Buffer.from('x') }).then(() => undefined), 15_000);
  });

  afterAll(async () => {
    b?.close();
    await coordinatorB?.stop(5_000);
    await t?.stop();
  });

  it('fails no accepted call and loses no acknowledged write while a storage node, then a coordinator, drain and exit', async () => {
    const load = new PutLoad(a, b);
    load.start(WORKERS);
    try {
      await waitUntil(() => load.acked >= 200, 20_000, '200 puts acknowledged before the first SIGTERM');

      // 1. A storage node drains: its running requests are answered, new ones refused, and the
      //    coordinator writes to the other two replicas (W=2) without failing a call.
      const node = await terminate(t.cluster.node('node-3').process);
      expect(node.code).toBe(0);
      expect(node.ms).toBeLessThan(GRACE_MS);
      const ackedAfterNode = load.acked;
      await waitUntil(() => load.acked >= ackedAfterNode + 200, 20_000, '200 more puts acknowledged with node-3 gone');

      // 2. Coordinator A drains: calls it accepted finish, new ones are refused (the clients
      //    move to B).
      const coordinator = await terminate(t.cluster.coordinator);
      expect(coordinator.code).toBe(0);
      expect(coordinator.ms).toBeLessThan(GRACE_MS);
      const ackedAfterCoordinator = load.acked;
      await waitUntil(() => load.acked >= ackedAfterCoordinator + 100, 20_000, '100 puts acknowledged by coordinator B');

      const records = load.records;
      const inFlightAt = (at: number, via: 'a' | 'b'): PutRecord[] => records.filter((r) => r.via === via && r.startedAt <= at && r.endedAt >= at);
      // The signals did arrive under load: calls were in flight at each, and those finished OK.
      expect(inFlightAt(node.at, 'a').length).toBeGreaterThan(0);
      expect(inFlightAt(coordinator.at, 'a').filter((r) => r.code === status.OK).length).toBeGreaterThan(0);

      // No call failed before coordinator A was told to stop: the storage node's drain cost nothing.
      const failed = records.filter((r) => r.code !== status.OK);
      expect(failed.filter((r) => r.endedAt < coordinator.at)).toEqual([]);
      // Calls that failed were A's refusals (UNAVAILABLE), never B's.
      expect(failed.every((r) => r.via === 'a' && r.code === status.UNAVAILABLE)).toBe(true);
      expect(failed.length).toBeLessThanOrEqual(WORKERS);
    } finally {
      await load.stop();
    }

    // Every acknowledged write is readable (through B, with node-3 gone: R=2 of the two left),
    // and every put A refused left nothing behind: A had not accepted it.
    const records = load.records;
    const acked = records.filter((r) => r.code === status.OK);
    const refused = records.filter((r) => r.code !== status.OK);
    const missing: string[] = [];
    const leftBehind: string[] = [];
    const queue = [...acked.map((r) => ({ r, wanted: true })), ...refused.map((r) => ({ r, wanted: false }))];
    const readers = Array.from({ length: 16 }, async () => {
      for (let item = queue.pop(); item !== undefined; item = queue.pop()) {
        const res = await b.get({ key: Buffer.from(item.r.key) }, 10_000);
        const values = res.siblings.map((s) => Buffer.from(s.value).toString());
        if (item.wanted && !(res.found && values.includes(`value of ${item.r.key}`))) missing.push(item.r.key);
        if (!item.wanted && res.found) leftBehind.push(item.r.key);
      }
    });
    await Promise.all(readers);
    expect(acked.length).toBeGreaterThanOrEqual(500);
    expect(missing).toEqual([]);
    expect(leftBehind).toEqual([]);
  });
});
