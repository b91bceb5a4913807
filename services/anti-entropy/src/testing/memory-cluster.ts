/**
 * Storage nodes in memory for tests of the worker's logic: each holds version sets by key and one
 * tree per arc it replicates (positions as a storage node places them), and answers as a
 * {@link StorageLink}. The proof with real storage nodes is in test/e2e.
 */
import { status } from '@grpc/grpc-js';
import { MemoryReplica, rangePosition, versionSetDigest, type KeyDigest } from '@quorumkv/merkle';
import { RingView, sha1Position, type RingSnapshot } from '@quorumkv/ring';
import { mergeVersions, sameVersions, type KeyVersions, type Version } from '@quorumkv/vclock';
import { RingPlan, type ClusterNode, type ClusterSnapshot } from '../ring-plan.js';
import type { Arc, ArcSummaryInfo, ByteMeter, StorageLink, TombstonePage } from '../storage-link.js';

/** An error with a gRPC code, as a failed call gives. */
export function grpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}

function id(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

function inArc(p: number, a: Arc): boolean {
  if (a.start < a.end) return p > a.start && p <= a.end;
  if (a.start > a.end) return p > a.start || p <= a.end;
  return true;
}

/** One storage node in memory. */
export class MemoryNode implements StorageLink {
  readonly data = new Map<string, { key: Uint8Array; versions: Version[] }>();
  private trees = new Map<string, { arc: Arc; replica: MemoryReplica }>();
  epoch = 0;
  /** Calls fail UNAVAILABLE while set. */
  down = false;
  /** Arcs (`start:end`) whose trees this node reports as still building. */
  readonly building = new Set<string>();
  /** Awaited at the start of every call (tests make calls take time). */
  delay: () => Promise<void> = () => Promise.resolve();
  /** Called at the start of every call (tests count concurrency or inject writes). */
  onCall: (what: string) => void = () => undefined;
  /** Sessions' calls in progress right now. */
  inFlight = 0;
  maxInFlight = 0;

  constructor(readonly node: string) {}

  /** The arcs this node replicates on `plan`: trees rebuilt from the data. */
  adopt(plan: RingPlan): void {
    this.epoch = plan.epoch;
    this.trees = new Map();
    for (const arc of plan.arcs) {
      if (!arc.replicas.includes(this.node)) continue;
      this.trees.set(`${arc.start}:${arc.end}`, { arc, replica: new MemoryReplica(8, (k) => rangePosition(sha1Position(k), arc.start, arc.end)) });
    }
    for (const { key, versions } of this.data.values()) this.index(key, versions);
  }

  /** Stores `versions` as the key's set (no merge): a write, or divergence injected. */
  put(key: Uint8Array | string, versions: Version[]): void {
    const k = typeof key === 'string' ? Buffer.from(key) : key;
    if (versions.length === 0) this.data.delete(id(k));
    else this.data.set(id(k), { key: k, versions });
    this.index(k, versions);
  }

  get(key: string): Version[] {
    return this.data.get(id(Buffer.from(key)))?.versions ?? [];
  }

  private index(key: Uint8Array, versions: readonly Version[]): void {
    const p = sha1Position(key);
    for (const { arc, replica } of this.trees.values()) if (inArc(p, arc)) replica.set(key, versionSetDigest(versions));
  }

  private async enter<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.onCall(what);
    if (this.down) throw grpcError(status.UNAVAILABLE, `${this.node} is down`);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.delay();
      return await fn();
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Refuses an older epoch, as a storage node's fence does. */
  private checkEpoch(epoch: number): void {
    if (epoch < this.epoch) throw grpcError(status.UNAVAILABLE, `stale epoch ${epoch} < ${this.epoch}`);
  }

  private tree(epoch: number, arc: Arc): MemoryReplica {
    if (epoch !== this.epoch) throw grpcError(status.FAILED_PRECONDITION, `ring epoch ${epoch} is not ${this.epoch}`);
    const t = this.trees.get(`${arc.start}:${arc.end}`);
    if (t === undefined) throw grpcError(status.FAILED_PRECONDITION, 'arc not held');
    return t.replica;
  }

  summaries(epoch: number, arcs: readonly Arc[], meter: ByteMeter): Promise<ArcSummaryInfo[]> {
    return this.enter('summaries', () => {
      // No list: every arc the node holds, as a storage node answers.
      const asked = arcs.length > 0 ? arcs : [...this.trees.values()].map((t) => t.arc);
      meter.add('tree', 10 + 30 * asked.length);
      return asked.map((arc) => {
        const s = this.tree(epoch, arc).tree.summary();
        if (this.building.has(`${arc.start}:${arc.end}`)) return { start: arc.start, end: arc.end, depth: 0, keyCount: 0, root: new Uint8Array(0), building: true };
        return { start: arc.start, end: arc.end, ...s, building: false };
      });
    });
  }

  branches(epoch: number, arc: Arc, parentDepth: number, parents: readonly number[], bits: number, meter: ByteMeter): Promise<Uint8Array> {
    return this.enter('branches', () => {
      const hashes = this.tree(epoch, arc).tree.branchHashes(parentDepth, parents, bits);
      meter.add('tree', hashes.length);
      return hashes;
    });
  }

  segmentEntries(epoch: number, arc: Arc, depth: number, segments: readonly number[], meter: ByteMeter): Promise<KeyDigest[]> {
    return this.enter('segmentEntries', async () => {
      const entries = [...(await this.tree(epoch, arc).segmentEntries(depth, segments))];
      meter.add('tree', 40 * entries.length);
      return entries;
    });
  }

  read(epoch: number, key: Uint8Array, meter: ByteMeter): Promise<KeyVersions> {
    return this.enter('read', () => {
      this.checkEpoch(epoch);
      meter.add('repair', 50);
      // No request ids here: duplicate mints are the storage node's and vclock's tests' concern.
      return { versions: [...(this.data.get(id(key))?.versions ?? [])], applied: [] };
    });
  }

  merge(epoch: number, key: Uint8Array, versions: readonly Version[], meter: ByteMeter): Promise<void> {
    return this.enter('merge', () => {
      this.checkEpoch(epoch);
      meter.add('repair', 50);
      const held = this.data.get(id(key))?.versions ?? [];
      const merged = mergeVersions(held, versions);
      if (!sameVersions(held, merged)) this.put(key, merged);
    });
  }

  listTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, afterKey: Uint8Array, limit: number, meter: ByteMeter): Promise<TombstonePage> {
    return this.enter('listTombstones', () => {
      this.tree(epoch, arc);
      const keys = [...this.data.values()]
        .filter((e) => inArc(sha1Position(e.key), arc))
        .sort((x, y) => Buffer.compare(Buffer.from(x.key), Buffer.from(y.key)))
        .filter((e) => afterKey.length === 0 || Buffer.compare(Buffer.from(e.key), Buffer.from(afterKey)) > 0);
      const page = keys.slice(0, limit);
      meter.add('repair', 40 * page.length);
      const out = page
        .filter((e) => e.versions.every((v) => v.tombstone && v.writtenAtMs < writtenBeforeMs))
        .map((e) => ({ key: e.key, digest: versionSetDigest(e.versions) as Uint8Array }));
      return { keys: out, next: page.length < limit ? new Uint8Array(0) : (page[page.length - 1]?.key ?? new Uint8Array(0)), scanned: page.length };
    });
  }

  purgeTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, keys: readonly KeyDigest[]): Promise<{ purged: number; changed: number }> {
    return this.enter('purgeTombstones', () => {
      this.tree(epoch, arc);
      let purged = 0;
      let changed = 0;
      for (const k of keys) {
        const held = this.data.get(id(k.key))?.versions ?? [];
        const digest = versionSetDigest(held);
        const same = digest !== undefined && Buffer.compare(Buffer.from(digest), Buffer.from(k.digest)) === 0;
        if (!same || !held.every((v) => v.tombstone && v.writtenAtMs < writtenBeforeMs)) {
          changed += 1;
          continue;
        }
        this.put(k.key, []);
        purged += 1;
      }
      return { purged, changed };
    });
  }
}

/** A cluster of {@link MemoryNode}s on one ring. */
export class MemoryCluster {
  readonly nodes = new Map<string, MemoryNode>();
  private alive = new Set<string>();
  snapshot!: ClusterSnapshot;

  constructor(ids: readonly string[], options: { vnodes?: number; replicationFactor?: number } = {}) {
    this.setRing(1, ids, options);
  }

  /** A new ring epoch with these members (all NORMAL); every node adopts it. */
  setRing(epoch: number, ids: readonly string[], options: { vnodes?: number; replicationFactor?: number } = {}): ClusterSnapshot {
    const snapshot: RingSnapshot = {
      epoch,
      replicationFactor: options.replicationFactor ?? 3,
      vnodes: options.vnodes ?? 8,
      members: ids.map((n) => ({ id: n, address: `${n}:1`, state: 'normal' as const })),
    };
    const view = new RingView(snapshot);
    const plan = new RingPlan(view);
    for (const n of ids) {
      let node = this.nodes.get(n);
      if (node === undefined) {
        this.nodes.set(n, (node = new MemoryNode(n)));
        this.alive.add(n);
      }
      node.adopt(plan);
    }
    this.snapshot = { view, nodes: this.nodeMap(ids) };
    return this.snapshot;
  }

  /** Marks a node up or down in failure detection (and its calls fail while down). */
  setAlive(n: string, alive: boolean): ClusterSnapshot {
    if (alive) this.alive.add(n);
    else this.alive.delete(n);
    const node = this.nodes.get(n);
    if (node) node.down = !alive;
    this.snapshot = { view: this.snapshot.view, nodes: this.nodeMap(this.snapshot.view.current.nodes()) };
    return this.snapshot;
  }

  private nodeMap(ids: readonly string[]): Map<string, ClusterNode> {
    return new Map(ids.map((n) => [n, { id: n, address: `${n}:1`, alive: this.alive.has(n) }]));
  }

  /** The node (throws for an unknown id). */
  node(n: string): MemoryNode {
    const node = this.nodes.get(n);
    if (node === undefined) throw new Error(`no node ${n}`);
    return node;
  }

  /** The replicas of `key` on the current ring. */
  replicasOf(key: string): string[] {
    return this.snapshot.view.readReplicas(key);
  }
}
