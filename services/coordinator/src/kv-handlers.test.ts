import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { DeadlineExceededError, InvalidArgumentError, createLogger } from '@quorumkv/service-kit';
import { clockFromProto, decodeContext, mergeVersions, mintVersion, versionFromProto, versionToProto, type Version } from '@quorumkv/vclock';
import { QuorumNotReachedError, ReplicaOpError, ReplicaUnavailableError, SiblingLimitError } from './errors.js';
import { KvOperations } from './kv-handlers.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import { systemTimers } from './timers.js';

/** What the handlers sent to which replica. */
interface Sent {
  readonly node: string;
  readonly kind: 'read' | 'coordinate' | 'merge';
  readonly timeoutMs: number;
}

/**
 * Storage nodes in memory: each keeps its versions per key and applies the same version algebra
 * as a real node (mintVersion / mergeVersions from @quorumkv/vclock). A node can be made down
 * (fails at once), hung (never answers) or refusing (answers a ReplicaError).
 */
class MemoryReplicas implements ReplicaTransport {
  readonly sent: Sent[] = [];
  readonly down = new Set<string>();
  readonly hung = new Set<string>();
  readonly refuse = new Map<string, storage.ReplicaError_Code>();
  private readonly data = new Map<string, Map<string, Version[]>>();

  versions(node: string, key: string): Version[] {
    return this.data.get(node)?.get(key) ?? [];
  }

  private answer<T>(node: string, kind: Sent['kind'], timeoutMs: number, fn: () => T): Promise<T> {
    this.sent.push({ node, kind, timeoutMs });
    if (this.down.has(node)) return Promise.reject(new ReplicaUnavailableError(node, 'connection refused'));
    if (this.hung.has(node)) return new Promise<T>(() => undefined);
    const code = this.refuse.get(node);
    if (code !== undefined) return Promise.reject(new ReplicaOpError(node, code, storage.replicaError_CodeToJSON(code), 'refused'));
    return Promise.resolve().then(fn);
  }

  private store(node: string): Map<string, Version[]> {
    let m = this.data.get(node);
    if (m === undefined) this.data.set(node, (m = new Map<string, Version[]>()));
    return m;
  }

  read(node: string, key: Buffer, timeoutMs: number): Promise<storage.Version[]> {
    return this.answer(node, 'read', timeoutMs, () => this.versions(node, key.toString()).map(versionToProto));
  }

  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number): Promise<storage.CoordinateResult> {
    return this.answer(node, 'coordinate', timeoutMs, () => {
      const k = op.key.toString();
      const { versions, minted } = mintVersion(this.versions(node, k), {
        context: clockFromProto(op.context),
        node,
        value: op.value,
        tombstone: op.tombstone,
        nowMs: 1,
        maxClockEntries: 10,
      });
      this.store(node).set(k, versions);
      // Like a real node: the whole set travels as the record bytes it stored.
      const versionsRecord = Buffer.from(storage.VersionSet.encode({ versions: versions.map(versionToProto) }).finish());
      return { version: versionToProto(minted), siblingCount: versions.length, versions: [], versionsRecord };
    });
  }

  merge(node: string, key: Buffer, versions: storage.Version[] | Buffer, timeoutMs: number): Promise<void> {
    return this.answer(node, 'merge', timeoutMs, () => {
      const k = key.toString();
      const incoming = Array.isArray(versions) ? versions : storage.VersionSet.decode(versions).versions;
      this.store(node).set(k, mergeVersions(this.versions(node, k), incoming.map(versionFromProto)));
    });
  }

  isUp(node: string): boolean {
    return !this.down.has(node);
  }
}

const T0 = 5_000_000;
const NODES = ['node-1', 'node-2', 'node-3'];

function setup(): { replicas: MemoryReplicas; ops: KvOperations; repair: ReadRepair } {
  const replicas = new MemoryReplicas();
  const logger = createLogger({ service: 'test', level: 'silent' });
  const repair = new ReadRepair({ transport: replicas, logger, timeoutMs: 1000 });
  const ops = new KvOperations({
    transport: replicas,
    placement: { preferenceList: () => [...NODES] },
    limits: { maxKeyBytes: 16, maxValueBytes: 16, replicationFactor: 3 },
    replicaTimeoutMs: 1000,
    timers: systemTimers,
    readRepair: repair,
  });
  return { replicas, ops, repair };
}

const put = (key: string, value: string, extra: { w?: number; context?: Buffer } = {}) => ({
  key: Buffer.from(key),
  value: Buffer.from(value),
  context: extra.context ?? Buffer.alloc(0),
  consistency: 0,
  w: extra.w ?? 0,
});
const get = (key: string, r = 0) => ({ key: Buffer.from(key), consistency: 0, r });

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
    expect(decodeContext(res.context).map((e) => [e.node, e.counter])).toEqual([['node-1', 1]]);
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

  it('fails a write with the counts and causes when no replica can mint', async () => {
    const { replicas, ops } = setup();
    for (const n of NODES) replicas.down.add(n);
    const err = await failure(ops.put(put('k', 'v'), Number.POSITIVE_INFINITY));
    expect(err).toBeInstanceOf(QuorumNotReachedError);
    expect((err as Error).message).toBe(
      'quorum not reached: 0 of 3 replicas answered, 2 needed (node-1: connection refused, node-2: connection refused, node-3: connection refused)',
    );
    expect(ops.counts.quorumFailures.put).toBe(1);
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

  it('counts a replica silent past the replica timeout as a miss', async () => {
    const { replicas, ops } = setup();
    replicas.hung.add('node-3');
    const pending = failure(ops.put(put('k', 'v', { w: 3 }), Number.POSITIVE_INFINITY));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await pending as Error).message).toBe('quorum not reached: 2 of 3 replicas answered, 3 needed (node-3: deadline)');
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
    expect(decodeContext(res.context).map((e) => `${e.node}:${e.counter}`)).toEqual(['node-1:1', 'node-2:1']);
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
