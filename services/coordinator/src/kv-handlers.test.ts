import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { DeadlineExceededError, InvalidArgumentError, createLogger } from '@quorumkv/service-kit';
import { clockFromProto, mergeVersions, mintVersion, versionFromProto, versionToProto, type Version } from '@quorumkv/vclock';
import { REPLICAS_STORED_TRAILER, ReplicaOpError, ReplicaUnavailableError, SiblingLimitError, StaleRingEpochError, WriteNotAcknowledgedError } from './errors.js';
import { KvOperations } from './kv-handlers.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import { testContexts } from './testing/context-keys.js';
import { TestRouting } from './testing/test-routing.js';
import { systemTimers } from './timers.js';

const contexts = testContexts();

/** What the handlers sent to which replica. */
interface Sent {
  readonly node: string;
  readonly kind: 'read' | 'coordinate' | 'merge';
  readonly timeoutMs: number;
  readonly ringEpoch: number;
}

/**
 * Storage nodes in memory: each keeps its versions per key and applies the same version algebra
 * as a real node (mintVersion / mergeVersions from @quorumkv/vclock), and remembers request ids
 * in the record it replicates, as a real node does. A node can be made down (fails at once),
 * hung (never answers) or refusing (answers a ReplicaError).
 */
class MemoryReplicas implements ReplicaTransport {
  readonly sent: Sent[] = [];
  readonly coordinateOps: storage.CoordinateOp[] = [];
  readonly down = new Set<string>();
  readonly hung = new Set<string>();
  readonly refuse = new Map<string, storage.ReplicaError_Code>();
  /** The ring epoch each node knows: it refuses requests routed by an older one (epoch fencing). */
  readonly knownEpoch = new Map<string, number>();
  private readonly data = new Map<string, Map<string, Version[]>>();
  private readonly applied = new Map<string, storage.AppliedWrite[]>();

  versions(node: string, key: string): Version[] {
    return this.data.get(node)?.get(key) ?? [];
  }

  private answer<T>(node: string, kind: Sent['kind'], timeoutMs: number, ringEpoch: number, fn: () => T): Promise<T> {
    this.sent.push({ node, kind, timeoutMs, ringEpoch });
    if (this.down.has(node)) return Promise.reject(new ReplicaUnavailableError(node, 'connection refused'));
    if (this.hung.has(node)) return new Promise<T>(() => undefined);
    const known = this.knownEpoch.get(node) ?? 0;
    if (ringEpoch < known) return Promise.reject(new StaleRingEpochError(node, known, `routed by ${ringEpoch}, knows ${known}`));
    const code = this.refuse.get(node);
    if (code !== undefined) return Promise.reject(new ReplicaOpError(node, code, storage.replicaError_CodeToJSON(code), 'refused'));
    return Promise.resolve().then(fn);
  }

  private store(node: string): Map<string, Version[]> {
    let m = this.data.get(node);
    if (m === undefined) this.data.set(node, (m = new Map<string, Version[]>()));
    return m;
  }

  read(node: string, key: Buffer, timeoutMs: number, ringEpoch: number): Promise<storage.ReadResult> {
    return this.answer(node, 'read', timeoutMs, ringEpoch, () => ({
      versions: this.versions(node, key.toString()).map(versionToProto),
      applied: this.applied.get(`${node}/${key.toString()}`) ?? [],
    }));
  }

  private record(node: string, k: string): Buffer {
    const applied = this.applied.get(`${node}/${k}`) ?? [];
    return Buffer.from(storage.VersionSet.encode({ versions: this.versions(node, k).map(versionToProto), applied }).finish());
  }

  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number, ringEpoch: number): Promise<storage.CoordinateResult> {
    this.coordinateOps.push(op);
    return this.answer(node, 'coordinate', timeoutMs, ringEpoch, () => {
      const k = op.key.toString();
      const applied = this.applied.get(`${node}/${k}`) ?? [];
      const seen = op.requestId.length > 0 ? applied.find((a) => a.requestId.equals(op.requestId)) : undefined;
      if (seen !== undefined) {
        const version = this.versions(node, k).find((v) => v.dot.node === seen.dot?.node && BigInt(v.dot.counter) === seen.dot.counter);
        const stored = version === undefined ? { dot: seen.dot, context: [], value: Buffer.alloc(0), tombstone: false, writtenAtMs: 1n } : versionToProto(version);
        return { version: stored, siblingCount: this.versions(node, k).length, versions: [], versionsRecord: this.record(node, k), deduplicated: true };
      }
      const { versions, minted } = mintVersion(this.versions(node, k), {
        context: clockFromProto(op.context),
        actor: { node, epoch: 1n },
        value: op.value,
        tombstone: op.tombstone,
        nowMs: 1,
        maxClockEntries: 10,
      });
      this.store(node).set(k, versions);
      const version = versionToProto(minted);
      if (op.requestId.length > 0) this.applied.set(`${node}/${k}`, [...applied, { requestId: op.requestId, dot: version.dot, appliedAtMs: 1n }]);
      // Like a real node: the whole set travels as the record bytes it stored.
      return { version, siblingCount: versions.length, versions: [], versionsRecord: this.record(node, k), deduplicated: false };
    });
  }

  merge(node: string, key: Buffer, versions: storage.Version[] | Buffer, timeoutMs: number, ringEpoch: number): Promise<void> {
    return this.answer(node, 'merge', timeoutMs, ringEpoch, () => {
      const k = key.toString();
      const set = Array.isArray(versions) ? { versions, applied: [] } : storage.VersionSet.decode(versions);
      this.store(node).set(k, mergeVersions(this.versions(node, k), set.versions.map(versionFromProto)));
      const mine = this.applied.get(`${node}/${k}`) ?? [];
      this.applied.set(`${node}/${k}`, [...mine, ...set.applied.filter((a) => !mine.some((m) => m.requestId.equals(a.requestId)))]);
    });
  }

  isUp(node: string): boolean {
    return !this.down.has(node);
  }
}

const T0 = 5_000_000;
const NODES = ['node-1', 'node-2', 'node-3'];

function setup(routing = new TestRouting(NODES)): { replicas: MemoryReplicas; ops: KvOperations; repair: ReadRepair; routing: TestRouting } {
  const replicas = new MemoryReplicas();
  const logger = createLogger({ service: 'test', level: 'silent' });
  const repair = new ReadRepair({ transport: replicas, logger, timeoutMs: 1000 });
  const ops = new KvOperations({
    transport: replicas,
    ring: routing,
    limits: { maxKeyBytes: 16, maxValueBytes: 16 },
    replicaTimeoutMs: 1000,
    ringWaitMs: 500,
    timers: systemTimers,
    readRepair: repair,
    contexts,
  });
  return { replicas, ops, repair, routing };
}

const RID = Buffer.from('request-0001');

const put = (key: string, value: string, extra: { w?: number; context?: Buffer; requestId?: Buffer } = {}) => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  context: extra.context ?? Buffer.alloc(0),
  consistency: 0,
  w: extra.w ?? 0,
  requestId: extra.requestId ?? Buffer.alloc(0),
  pw: 0,
});
const get = (key: string, r = 0) => ({ key: Buffer.from(key), consistency: 0, r, pr: 0 });

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('KvOperations', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('mints at the first replica of the preference list and merges its version set into the other two', async () => {
    const { replicas, ops } = setup();
    const res = await ops.put(put('k', 'v', { w: 3 }), Number.POSITIVE_INFINITY);
    expect(replicas.sent.map((s) => `${s.kind}@${s.node}`)).toEqual(['coordinate@node-1', 'merge@node-2', 'merge@node-3']);
    const dots = NODES.map((n) => replicas.versions(n, 'k').map((v) => `${v.dot.node}:${v.dot.counter}`).join());
    expect(dots).toEqual(['node-1:1', 'node-1:1', 'node-1:1']);
    expect(contexts.decode(res.context, Buffer.from('k')).map((e) => [e.node, e.counter])).toEqual([['node-1', 1]]);
  });

  it("replicates the minting node's whole set, so no replica holds a node's later dot without its earlier sibling", async () => {
    const { replicas, ops } = setup();
    // (node-1,1) reaches node-1 only; then a second blind write mints (node-1,2) beside it.
    replicas.down.add('node-2');
    replicas.down.add('node-3');
    await ops.put(put('k', 'a', { w: 1 }), Number.POSITIVE_INFINITY);
    replicas.down.clear();
    await ops.put(put('k', 'b', { w: 3 }), Number.POSITIVE_INFINITY);
    const dots = (n: string) => replicas.versions(n, 'k').map((v) => `${v.dot.node}:${v.dot.counter}`).sort();
    expect(dots('node-2')).toEqual(['node-1:1', 'node-1:2']);
    expect(dots('node-3')).toEqual(['node-1:1', 'node-1:2']);
  });

  it('sends nothing to any replica for an invalid request', async () => {
    const { replicas, ops } = setup();
    expect(await failure(ops.put(put('', 'v'), Number.POSITIVE_INFINITY))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(ops.put(put('k', 'x'.repeat(17)), Number.POSITIVE_INFINITY))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(ops.put(put('k', 'v', { context: Buffer.from('junk') }), Number.POSITIVE_INFINITY))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(ops.get(get('k', 4), Number.POSITIVE_INFINITY))).toBeInstanceOf(InvalidArgumentError);
    expect(replicas.sent).toEqual([]);
  });

  it('tells every replica the time left on the call, capped by the replica timeout', async () => {
    const { replicas, ops } = setup();
    await ops.put(put('k', 'v', { w: 3 }), T0 + 300);
    await ops.get(get('k', 3), Number.POSITIVE_INFINITY);
    expect(replicas.sent.map((s) => s.timeoutMs)).toEqual([300, 300, 300, 1000, 1000, 1000]);
  });

  it('lets the next replica mint when the first is down, and still reaches W=2', async () => {
    const { replicas, ops } = setup();
    replicas.down.add('node-1');
    await ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    expect(replicas.versions('node-2', 'k')[0]?.dot.node).toBe('node-2');
    expect(replicas.versions('node-3', 'k')[0]?.dot.node).toBe('node-2');
  });

  it('fails a write no replica could mint saying nothing was stored and a retry is safe', async () => {
    const { replicas, ops } = setup();
    for (const n of NODES) replicas.down.add(n);
    const err = await failure(ops.put(put('k', 'v'), Number.POSITIVE_INFINITY));
    expect(err).toBeInstanceOf(WriteNotAcknowledgedError);
    expect((err as WriteNotAcknowledgedError).code).toBe(status.UNAVAILABLE);
    expect((err as Error).message).toBe(
      'write not acknowledged by enough replicas: stored on 0 of 3 replicas, 2 needed; not stored on node-1 (connection refused), ' +
        'node-2 (connection refused), node-3 (connection refused). Nothing was stored; retrying is safe.',
    );
    expect(ops.counts.quorumFailures.put).toBe(1);
  });

  it('fails a write that missed W saying on how many replicas it is stored, that it may be visible, and that a retry with its request id is safe', async () => {
    const { replicas, ops } = setup();
    replicas.down.add('node-3');
    const err = await failure(ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY));
    expect(err).toBeInstanceOf(WriteNotAcknowledgedError);
    expect((err as Error).message).toBe(
      'write not acknowledged by enough replicas: stored on 2 of 3 replicas (node-1, node-2), 3 needed; not stored on node-3 (connection refused). ' +
        'The write may be visible to reads; retrying with the same request_id is safe: it is stored at most once.',
    );
    expect((err as WriteNotAcknowledgedError).trailers).toEqual({ [REPLICAS_STORED_TRAILER]: '2' });
    expect(replicas.coordinateOps[0]?.requestId).toEqual(RID);
    // It is visible: a read at R=2 returns it.
    expect((await ops.get(get('k', 2), Number.POSITIVE_INFINITY)).siblings.map((s) => s.value.toString())).toEqual(['v']);
  });

  it('warns that a retry may store it again when the failed write carried no request id', async () => {
    const { replicas, ops } = setup();
    replicas.down.add('node-3');
    const err = await failure(ops.put(put('k', 'v', { w: 3 }), Number.POSITIVE_INFINITY));
    expect((err as Error).message).toMatch(/stored on 2 of 3 replicas .*carried no request_id, so a retry may store it again/);
  });

  it('answers a retry with the same request id from what the replicas remember: one version, on every replica that took the first attempt', async () => {
    const { replicas, ops } = setup();
    replicas.down.add('node-3');
    await failure(ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY));
    // The retry finds the minter down too: node-2 answers it from the record it merged.
    replicas.down.add('node-1');
    const retry = await failure(ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY));
    expect((retry as Error).message).toMatch(/stored on 1 of 3 replicas \(node-2\)/);
    expect(ops.counts.deduplicated).toBe(1);
    replicas.down.clear();
    const ok = await ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY);
    expect(NODES.map((n) => replicas.versions(n, 'k').length)).toEqual([1, 1, 1]);
    expect(contexts.decode(ok.context, Buffer.from('k')).map((e) => `${e.node}:${e.counter}`)).toEqual(['node-1:1']);
    expect(ops.counts.siblingsCreated).toBe(0);
  });

  it('counts the replicas that answered a read with one node down (R=3): 2 of 3, not 0', async () => {
    const { replicas, ops } = setup();
    await ops.put(put('k', 'v', { w: 3 }), Number.POSITIVE_INFINITY);
    replicas.down.add('node-1');
    const err = await failure(ops.get(get('k', 3), Number.POSITIVE_INFINITY));
    expect((err as Error).message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-1: connection refused)');
    expect(ops.counts.quorumFailures.get).toBe(1);
  });

  it('turns a sibling-limit refusal into FAILED_PRECONDITION without trying another replica', async () => {
    const { replicas, ops } = setup();
    replicas.refuse.set('node-1', storage.ReplicaError_Code.CODE_SIBLING_LIMIT);
    const err = await failure(ops.put(put('k', 'v'), Number.POSITIVE_INFINITY));
    expect(err).toBeInstanceOf(SiblingLimitError);
    expect((err as SiblingLimitError).code).toBe(status.FAILED_PRECONDITION);
    expect(replicas.sent.map((s) => s.node)).toEqual(['node-1']);
  });

  it("fails with DEADLINE_EXCEEDED at the client's deadline when replicas hang", async () => {
    const { replicas, ops } = setup();
    for (const n of NODES) replicas.hung.add(n);
    const pending = failure(ops.get(get('k'), T0 + 250));
    await vi.advanceTimersByTimeAsync(250);
    expect(await pending).toBeInstanceOf(DeadlineExceededError);
  });

  it('counts a replica silent past the replica timeout as one that may have stored the write', async () => {
    const { replicas, ops } = setup();
    replicas.hung.add('node-3');
    const pending = failure(ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await pending as Error).message).toBe(
      'write not acknowledged by enough replicas: stored on 2 of 3 replicas (node-1, node-2), 3 needed; unknown on node-3 (deadline), ' +
        'which may have stored it. The write may be visible to reads; retrying with the same request_id is safe: it is stored at most once.',
    );
  });

  it('waits for merges still on their way before saying where a failed write is stored', async () => {
    const { replicas, ops } = setup();
    replicas.down.add('node-3');
    // node-2 answers only after node-3 failed: the quorum is already out of reach by then.
    const slow = replicas.merge.bind(replicas);
    const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    replicas.merge = (node, key, versions, timeoutMs, ringEpoch) =>
      node === 'node-2' ? later(50).then(() => slow(node, key, versions, timeoutMs, ringEpoch)) : slow(node, key, versions, timeoutMs, ringEpoch);
    const pending = failure(ops.put(put('k', 'v', { w: 3, requestId: RID }), Number.POSITIVE_INFINITY));
    await vi.advanceTimersByTimeAsync(50);
    expect((await pending as Error).message).toMatch(/^write not acknowledged by enough replicas: stored on 2 of 3 replicas \(node-1, node-2\)/);
  });

  it('merges the answers of R replicas: concurrent writes come back as siblings with one context', async () => {
    const { replicas, ops } = setup();
    await ops.put(put('k', 'a', { w: 1 }), Number.POSITIVE_INFINITY);
    replicas.down.add('node-1');
    await ops.put(put('k', 'b', { w: 1 }), Number.POSITIVE_INFINITY);
    replicas.down.delete('node-1');
    await vi.advanceTimersByTimeAsync(0);
    const res = await ops.get(get('k', 3), Number.POSITIVE_INFINITY);
    expect(res.siblings.map((s) => s.value.toString()).sort()).toEqual(['a', 'b']);
    expect(contexts.decode(res.context, Buffer.from('k')).map((e) => `${e.node}:${e.counter}`)).toEqual(['node-1:1', 'node-2:1']);
  });

  it('repairs the replicas whose answer lacked a version, after replying', async () => {
    const { replicas, ops, repair } = setup();
    replicas.down.add('node-2');
    replicas.down.add('node-3');
    await ops.put(put('k', 'v', { w: 1 }), Number.POSITIVE_INFINITY);
    replicas.down.clear();
    await ops.get(get('k', 1), Number.POSITIVE_INFINITY);
    await vi.waitFor(() => expect(repair.counts.acknowledged).toBe(2));
    expect(NODES.map((n) => replicas.versions(n, 'k').length)).toEqual([1, 1, 1]);
  });
});

describe('KvOperations while ranges move (pending targets)', () => {
  const MOVING = () => new TestRouting(NODES, { epoch: 4, pending: ['node-4'] });
  const where = (r: MemoryReplicas): string[] => r.sent.map((s) => `${s.kind}@${s.node}`);

  it('writes to the current replicas and the pending one, and needs W + P acknowledgements', async () => {
    const { replicas, ops } = setup(MOVING());
    await ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    expect(where(replicas).sort()).toEqual(['coordinate@node-1', 'merge@node-2', 'merge@node-3', 'merge@node-4']);
    expect(replicas.versions('node-4', 'k')).toHaveLength(1);
    expect(replicas.sent.every((s) => s.ringEpoch === 4)).toBe(true);
  });

  it('W acknowledgements among the replicas being replaced are not enough: W=2 + P=1 needs a third', async () => {
    const { replicas, ops } = setup(MOVING());
    // Only the minter and node-2 would answer: 2 = W, but not W + P.
    replicas.down.add('node-3');
    replicas.down.add('node-4');
    const err = await failure(ops.put(put('k', 'v'), Number.POSITIVE_INFINITY));
    expect(err).toBeInstanceOf(WriteNotAcknowledgedError);
    expect((err as Error).message).toMatch(/stored on 2 of 4 replicas \(node-1, node-2\), 3 needed/);
    // The pending node answering makes it W + P.
    replicas.down.delete('node-4');
    await ops.put(put('k2', 'v'), Number.POSITIVE_INFINITY);
  });

  it('mints at a current replica, never at a pending one, even with the first current replica down', async () => {
    const { replicas, ops } = setup(MOVING());
    replicas.down.add('node-1');
    await ops.put(put('k', 'v', { w: 1 }), Number.POSITIVE_INFINITY);
    expect(replicas.sent.filter((s) => s.kind === 'coordinate').map((s) => s.node)).toEqual(['node-1', 'node-2']);
  });

  it('reads only the current replicas: a pending node is not asked before the move commits', async () => {
    const { replicas, ops } = setup(MOVING());
    await ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    replicas.sent.length = 0;
    await ops.get(get('k', 3), Number.POSITIVE_INFINITY);
    expect(where(replicas).filter((w) => w.startsWith('read')).sort()).toEqual(['read@node-1', 'read@node-2', 'read@node-3']);
  });
});

describe('KvOperations with epoch fencing', () => {
  const fail = failure;
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a write refused by nodes on a newer epoch waits for the ring to reach it, then continues there without minting twice', async () => {
    const { replicas, ops, routing } = setup(new TestRouting(NODES, { epoch: 5 }));
    // node-2 and node-3 already know epoch 6, where node-4 replaced node-3.
    replicas.knownEpoch.set('node-2', 6);
    replicas.knownEpoch.set('node-3', 6);
    const pending = ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    await vi.waitFor(() => expect(replicas.sent.some((s) => s.node === 'node-3')).toBe(true));
    routing.advance(6, ['node-1', 'node-2', 'node-4']);
    await pending;
    expect(replicas.sent.filter((s) => s.kind === 'coordinate')).toHaveLength(1);
    expect(replicas.sent.filter((s) => s.ringEpoch === 6).map((s) => `${s.kind}@${s.node}`).sort()).toEqual(['merge@node-2', 'merge@node-4']);
    expect(['node-1', 'node-2', 'node-4'].map((n) => replicas.versions(n, 'k').length)).toEqual([1, 1, 1]);
    expect(ops.counts.reroutes).toBe(1);
  });

  it('a minter that refuses an old epoch stops the write on that ring: it is minted once, on the new one', async () => {
    const { replicas, ops, routing } = setup(new TestRouting(NODES, { epoch: 5 }));
    replicas.knownEpoch.set('node-1', 6);
    const pending = ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    await vi.waitFor(() => expect(replicas.sent).toHaveLength(1));
    routing.advance(6, NODES);
    await pending;
    expect(replicas.sent.map((s) => `${s.kind}@${s.node}/${s.ringEpoch}`)).toEqual(['coordinate@node-1/5', 'coordinate@node-1/6', 'merge@node-2/6', 'merge@node-3/6']);
  });

  it('a read refused for an old epoch is answered from the newer ring once the view caught up', async () => {
    const { replicas, ops, routing } = setup(new TestRouting(NODES, { epoch: 2 }));
    await ops.put(put('k', 'v', { w: 3 }), Number.POSITIVE_INFINITY);
    for (const n of NODES) replicas.knownEpoch.set(n, 3);
    const pending = ops.get(get('k'), Number.POSITIVE_INFINITY);
    await vi.waitFor(() => expect(replicas.sent.filter((s) => s.kind === 'read')).toHaveLength(3));
    routing.advance(3, NODES);
    expect((await pending).found).toBe(true);
  });

  it('fails UNAVAILABLE naming both epochs when the view does not catch up within ringWaitMs', async () => {
    const { replicas, ops } = setup(new TestRouting(NODES, { epoch: 5 }));
    for (const n of NODES) replicas.knownEpoch.set(n, 7);
    const pending = fail(ops.get(get('k'), Number.POSITIVE_INFINITY));
    await vi.advanceTimersByTimeAsync(500);
    const err = (await pending) as { code: number; message: string };
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.message).toMatch(/ring epoch 7 but this coordinator is at 5 and did not catch up within 500 ms/);
  });

  it('a write whose quorum is met despite one refusal is acknowledged at once (the refusing node gets it through the move)', async () => {
    const { replicas, ops } = setup(new TestRouting(NODES, { epoch: 5 }));
    replicas.knownEpoch.set('node-3', 6);
    await ops.put(put('k', 'v'), Number.POSITIVE_INFINITY);
    expect(ops.counts.reroutes).toBe(0);
  });
});
