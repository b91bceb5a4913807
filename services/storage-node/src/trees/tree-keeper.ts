/**
 * A storage node's Merkle trees: one per arc of the ring it replicates, kept up to date by every
 * write in O(1), built from a paced scan of the engine's ring-position index when they cannot be
 * trusted, verified against the data records periodically, and read by the anti-entropy worker.
 *
 * Why one tree per elementary arc (between consecutive vnode positions of the current ring): the
 * keys of such an arc share one preference list, so every replica of the arc holds exactly the
 * keys in it and two replicas' trees cover the same key set. Grouping arcs with the same replicas
 * into one tree would give fewer roots to compare, but a ring change would then reshuffle the
 * positions of every key of the group; per arc, a ring change rebuilds only the arcs whose
 * bounds changed, and a segment stays one contiguous scan of the index.
 */
import { depthForKeys, MerkleTree, Pacer, rangePosition, segmentArc, type KeyDigest, type TreeSummary } from '@quorumkv/merkle';
import { InvalidArgumentError, type Logger } from '@quorumkv/service-kit';
import { ArcSlots, emptySlot, MAX_TREE_DEPTH, type ArcSlot } from './arc-slots.js';
import { ArcBuildingError, ArcNotHeldError, NoRingError, RingEpochMismatchError } from './tree-errors.js';
import type { IndexEntry, TreeIndex } from './tree-index.js';

/** An arc (start, end] of the ring. */
export interface Arc {
  readonly start: number;
  readonly end: number;
}

/** One arc's summary, as TreeSummaries answers it. */
export interface ArcTreeSummary extends Arc, TreeSummary {
  /** No tree yet: the root is empty and must not be compared. */
  readonly building: boolean;
}

/** A tree to persist or restored from disk. */
export interface StoredTree extends Arc {
  readonly tree: MerkleTree;
}

/** What the keeper has done, for metrics and logs. */
export interface TreeKeeperCounters {
  /** Arcs built from the index (start-up, ring changes, outgrown trees). */
  arcsBuilt: number;
  /** Verifications against the data records finished. */
  verifications: number;
  /** Arcs whose tree differed from a rebuild from the data records (a bug or a lost update). */
  drift: number;
  /** Entries read by builds and verifications. */
  keysScanned: number;
  /** When the last verification finished (ms), 0 before the first. */
  lastVerifiedAtMs: number;
}

/** Options of a {@link TreeKeeper}. */
export interface TreeKeeperOptions {
  readonly index: TreeIndex;
  readonly logger: Logger;
  /** Keys per second a build or a verification reads, so foreground traffic keeps the CPU. @default 50000 */
  readonly rebuildKeysPerSecond?: number;
  /** Time between verifications against the data records; 0: never. @default one week */
  readonly verifyIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Waits `ms` (the pacer's waits). @default a timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Schedules `fn` after `ms`, for the verification interval. @default an unref'd timer */
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

/** Most segments one SegmentEntries call may name. */
export const MAX_SEGMENTS_PER_CALL = 65_536;
/** Entries read from the index per scan call while listing a segment. */
const LIST_PAGE = 1_024;
/** Keys between two checks of the pacer during a scan. */
const CHUNK = 256;

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });

const defaultTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/** See the file comment. */
export class TreeKeeper {
  readonly counters: TreeKeeperCounters = { arcsBuilt: 0, verifications: 0, drift: 0, keysScanned: 0, lastVerifiedAtMs: 0 };
  private readonly slots = new ArcSlots(() => void this.kick());
  private readonly options: TreeKeeperOptions;
  private readonly pacer: Pacer;
  private epoch: number | undefined;
  private running: Promise<void> | undefined;
  private verifyDue = false;
  private verifyTimer: { cancel(): void } | undefined;
  private readonly stop = new AbortController();

  constructor(options: TreeKeeperOptions) {
    this.options = options;
    this.pacer = new Pacer({
      ratePerSecond: options.rebuildKeysPerSecond ?? 50_000,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? defaultSleep,
    });
    this.scheduleVerify();
  }

  /** The ring epoch the trees are for; undefined until the ring is known. */
  get ringEpoch(): number | undefined {
    return this.epoch;
  }

  /** Arcs held, built and not. */
  get arcCount(): number {
    return this.slots.size;
  }

  /** Arcs whose first build has not finished. */
  get arcsBuilding(): number {
    return this.slots.all().filter((s) => s.live === undefined).length;
  }

  /** Heap bytes of every tree. */
  memoryBytes(): number {
    return this.slots.memoryBytes();
  }

  /**
   * Trees persisted at the last clean shutdown, before the ring is known: they take writes from
   * now on, and the arcs of the ring that match one exactly keep it instead of a build.
   */
  restore(trees: readonly StoredTree[]): void {
    this.slots.replace(trees.map((t) => ({ start: t.start, end: t.end, live: t.tree, fresh: undefined, stale: false })));
  }

  /**
   * The arcs this node replicates on ring `epoch`. Arcs held before with the same bounds keep
   * their trees (a tree covers exactly the keys of its arc, whatever the epoch); the others are
   * built in the background.
   */
  setArcs(epoch: number, arcs: readonly Arc[]): void {
    const next = arcs.map((a) => this.slots.get(a.start, a.end) ?? emptySlot(a.start, a.end));
    this.slots.replace(next);
    this.epoch = epoch;
    void this.kick();
  }

  /** A key's digest changed (its batch is in LevelDB): the O(1) update of its arc's trees. */
  update(key: Uint8Array, position: number, oldDigest: Uint8Array | undefined, newDigest: Uint8Array | undefined): void {
    this.slots.update(key, position, oldDigest, newDigest);
  }

  /** Summaries of `arcs` (every arc held when empty); arcs not held are left out. */
  summaries(epoch: number, arcs: readonly Arc[]): ArcTreeSummary[] {
    this.checkEpoch(epoch);
    const slots = arcs.length === 0 ? this.slots.all() : arcs.map((a) => this.slots.get(a.start, a.end)).filter((s) => s !== undefined);
    return slots.map((s) => {
      const tree = s.live;
      if (tree === undefined) return { start: s.start, end: s.end, depth: 0, keyCount: 0, root: new Uint8Array(0), building: true };
      return { start: s.start, end: s.end, ...tree.summary(), building: false };
    });
  }

  /** Branch hashes of an arc's tree (see `MerkleTree.branchHashes`). */
  branches(epoch: number, arc: Arc, parentDepth: number, parents: readonly number[], bits: number): Uint8Array {
    const tree = this.liveTree(epoch, arc);
    try {
      return tree.branchHashes(parentDepth, parents, bits);
    } catch (err) {
      throw new InvalidArgumentError('parents', err instanceof Error ? err.message : String(err));
    }
  }

  /** The keys (with digests) of some segments of an arc's tree at `depth`, from the index. */
  async segmentEntries(epoch: number, arc: Arc, depth: number, segments: readonly number[]): Promise<KeyDigest[]> {
    const tree = this.liveTree(epoch, arc);
    if (depth > tree.depth) throw new InvalidArgumentError('depth', `${depth} is deeper than the tree (${tree.depth})`);
    if (segments.length > MAX_SEGMENTS_PER_CALL) throw new InvalidArgumentError('segments', `${segments.length} is over the limit of ${MAX_SEGMENTS_PER_CALL}`);
    const out: KeyDigest[] = [];
    for (const s of segments) {
      if (!Number.isInteger(s) || s < 0 || s >= 2 ** depth) throw new InvalidArgumentError('segments', `${s} is not a segment at depth ${depth}`);
      const range = segmentArc(arc.start, arc.end, depth, s);
      if (range.empty) continue;
      let from: IndexEntry | undefined;
      for (;;) {
        const page = await this.options.index.scan({ after: range.after, through: range.through }, { ...(from ? { from } : {}), limit: LIST_PAGE });
        for (const e of page) out.push({ key: e.key, digest: e.digest });
        if (page.length < LIST_PAGE) break;
        from = page[page.length - 1];
      }
    }
    return out;
  }

  /** Every built tree, to persist at a clean shutdown. */
  persistable(): StoredTree[] {
    return this.slots.all().flatMap((s) => (s.live === undefined ? [] : [{ start: s.start, end: s.end, tree: s.live }]));
  }

  /** Asks for a verification against the data records now (it runs after any build). */
  verifyNow(): Promise<void> {
    this.verifyDue = true;
    return this.kick();
  }

  /** Resolves once no build or verification is running or due. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops the background work (a scan in progress is abandoned) and waits for it. */
  async close(): Promise<void> {
    this.verifyTimer?.cancel();
    this.stop.abort(new Error('tree keeper closed'));
    await this.running?.catch(() => undefined);
  }

  /** Refuses a call on another epoch, or for an arc this node does not hold (built or not). */
  checkHeld(epoch: number, arc: Arc): void {
    this.checkEpoch(epoch);
    if (this.slots.get(arc.start, arc.end) === undefined) throw new ArcNotHeldError(arc.start, arc.end);
  }

  private checkEpoch(epoch: number): void {
    if (this.epoch === undefined) throw new NoRingError();
    if (epoch !== this.epoch) throw new RingEpochMismatchError(epoch, this.epoch);
  }

  private liveTree(epoch: number, arc: Arc): MerkleTree {
    this.checkEpoch(epoch);
    const slot = this.slots.get(arc.start, arc.end);
    if (slot === undefined) throw new ArcNotHeldError(arc.start, arc.end);
    if (slot.live === undefined) throw new ArcBuildingError(arc.start, arc.end);
    return slot.live;
  }

  private scheduleVerify(): void {
    const interval = this.options.verifyIntervalMs ?? 7 * 24 * 3_600_000;
    if (interval <= 0 || this.stop.signal.aborted) return;
    this.verifyTimer = (this.options.setTimer ?? defaultTimer)(() => {
      this.verifyDue = true;
      void this.kick();
    }, interval);
  }

  /** Starts the background loop unless it runs; resolves when it has nothing left to do. */
  private kick(): Promise<void> {
    if (this.running !== undefined || this.stop.signal.aborted) return this.running ?? Promise.resolve();
    const run = this.loop().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.epoch !== undefined && this.slots.all().some((s) => s.stale)) await this.build();
        else if (this.verifyDue && this.epoch !== undefined) {
          this.verifyDue = false;
          await this.verify();
          this.scheduleVerify();
        } else return;
      }
    } catch (err) {
      if (this.stop.signal.aborted) return;
      // A failed scan leaves the arcs stale; the next write or ring change tries again.
      this.options.logger.error({ err }, 'building Merkle trees failed');
    }
  }

  /** Builds every stale arc from one snapshot of the index, in ring order. */
  private async build(): Promise<void> {
    const targets = this.slots.all().filter((s) => s.stale);
    const started = (this.options.now ?? Date.now)();
    const entries = await this.options.index.quiesce(() => {
      for (const s of targets) s.fresh = new MerkleTree(this.buildDepth(s));
      return this.options.index.snapshotIndex(targets.map((s) => ({ after: s.start, through: s.end })));
    });
    const keys = await this.fill(entries, targets);
    for (const s of targets) {
      const fresh = s.fresh;
      s.fresh = undefined;
      // A slot replaced by a ring change while it was filled is dropped with its tree.
      if (fresh === undefined || !this.slots.has(s)) continue;
      s.live = fresh.fold(Math.min(fresh.depth, depthForKeys(fresh.keyCount, { maxDepth: MAX_TREE_DEPTH })));
      s.stale = false;
      this.counters.arcsBuilt += 1;
    }
    this.options.logger.info({ arcs: targets.length, keys, ms: (this.options.now ?? Date.now)() - started }, 'Merkle trees built from the index');
  }

  /**
   * Rebuilds every tree from the data records and swaps the result in; a tree that differed
   * counts as drift (the index or a tree update went wrong somewhere).
   */
  private async verify(): Promise<void> {
    const targets = this.slots.all().filter((s) => s.live !== undefined && !s.stale);
    const entries = await this.options.index.quiesce(() => {
      for (const s of targets) s.fresh = new MerkleTree((s.live as MerkleTree).depth);
      return this.options.index.snapshotRecords();
    });
    await this.fill(entries, targets);
    for (const s of targets) {
      const fresh = s.fresh;
      s.fresh = undefined;
      if (fresh === undefined || !this.slots.has(s) || s.live === undefined) continue;
      if (!fresh.equals(s.live)) {
        this.counters.drift += 1;
        this.options.logger.warn({ start: s.start, end: s.end, treeKeys: s.live.keyCount, recordKeys: fresh.keyCount }, 'Merkle tree differed from the data records: replaced by the rebuilt one');
      }
      s.live = fresh.fold(Math.min(fresh.depth, depthForKeys(fresh.keyCount, { maxDepth: MAX_TREE_DEPTH })));
    }
    this.counters.verifications += 1;
    this.counters.lastVerifiedAtMs = (this.options.now ?? Date.now)();
  }

  /** Adds each entry to the fresh tree of the target arc holding it, paced. */
  private async fill(entries: AsyncIterable<IndexEntry>, targets: readonly ArcSlot[]): Promise<number> {
    const route = new ArcSlots();
    route.replace(targets);
    let n = 0;
    for await (const e of entries) {
      if (n % CHUNK === 0) await this.pacer.take(CHUNK, this.stop.signal);
      n += 1;
      const slot = route.find(e.position);
      if (slot?.fresh === undefined) continue;
      // Through a private router holding only the targets, so the live trees are not touched.
      slot.fresh.update(e.key, undefined, e.digest, rangePosition(e.position, slot.start, slot.end));
    }
    this.counters.keysScanned += n;
    return n;
  }

  /**
   * The depth to build an arc at: about four times the keys expected (the node's keys spread by
   * arc length, or the live tree's count), folded down to fit once the real count is known.
   */
  private buildDepth(slot: ArcSlot): number {
    const expected = slot.live?.keyCount ?? this.expectedKeys(slot);
    return depthForKeys(4 * expected, { maxDepth: MAX_TREE_DEPTH });
  }

  private expectedKeys(slot: ArcSlot): number {
    let held = 0;
    for (const s of this.slots.all()) held += arcLength(s.start, s.end);
    return held === 0 ? 0 : (this.options.index.keyCount() * arcLength(slot.start, slot.end)) / held;
  }
}

function arcLength(start: number, end: number): number {
  return end > start ? end - start : end + 2 ** 32 - start;
}
