import { ClassicLevel } from 'classic-level';
import { DeadlineExceededError, InvalidArgumentError, type Logger } from '@quorumkv/service-kit';
import type { storage } from '@quorumkv/proto';
import {
  appliedFromProto,
  collapseDuplicateMints,
  contextOf,
  liveVersions,
  mergeVersions,
  mintVersion,
  sameVersions,
  versionToProto,
  type Actor,
  type VectorClock,
  type Version,
} from '@quorumkv/vclock';
import { pruneApplied, replayApplied, sameApplied, unionApplied, type DedupWindow } from './applied-writes.js';
import { directorySize } from './dir-size.js';
import { DataDirLockedError, EngineClosedError, SiblingLimitError } from './errors.js';
import { Incarnation } from './incarnation.js';
import { KeyedMutex } from './key-lock.js';
import { MetaStore } from './meta-store.js';
import { OperationGate } from './operation-gate.js';
import { StandInCopies } from './stand-in-copies.js';
import { loadNodeMeta } from './node-meta.js';
import { sha1Position } from '@quorumkv/ring';
import {
  countArc,
  dropArc,
  ensurePositionIndex,
  indexDigest,
  indexKey,
  scanIndex,
  snapshotIndexArcs,
  snapshotRecords,
  type IndexedKey,
  type PositionArc,
  type RangeCursor,
  type RangeEntry,
  type ScanOptions,
} from './position-index.js';
import { asBuffer, dataKey, decodeIncoming, distinctValues, emptyRecord, decodeRecord, encodeStoredSet, type StoredRecord } from './record-codec.js';
import { WriteBatcher, type RecordPut } from './write-batcher.js';

/** How a storage engine is opened. */
export interface StorageEngineOptions {
  readonly dataDir: string;
  /** This node's id: the node of every dot it mints. */
  readonly nodeId: string;
  readonly logger: Logger;
  /** fsync each batch before acknowledging (power-loss durability). @default false */
  readonly sync?: boolean;
  /** Refuse a coordinate that leaves more live siblings than this. @default 64 */
  readonly maxSiblings?: number;
  /** Warn when a key holds more live siblings than this. @default 16 */
  readonly siblingWarn?: number;
  /**
   * Refuse a merge that leaves more live siblings than this (replicated data past
   * `maxSiblings` is accepted up to here). @default 4 × maxSiblings
   */
  readonly maxMergedSiblings?: number;
  /** Stored contexts keep at most this many entries. @default 10 */
  readonly maxClockEntries?: number;
  /** @default 1024 */
  readonly maxKeyBytes?: number;
  /** @default 10240 */
  readonly maxValueBytes?: number;
  /** How long a key remembers the request id of a write (for retries). @default 600000 */
  readonly dedupWindowMs?: number;
  /** Most request ids one key remembers. @default 16 */
  readonly dedupPerKey?: number;
  /** Wall clock (ms) for version timestamps, deadlines and the de-duplication window. @default Date.now */
  readonly now?: () => number;
  /** The epoch source (a random non-zero 64-bit value per open). @default crypto random */
  readonly newEpoch?: () => bigint;
}

/** What a coordinate writes: the client's context, the value (or a tombstone), its request id. */
export interface WriteInput {
  /** The causal context the client passed (empty for a blind write). */
  readonly context: VectorClock;
  readonly value: Uint8Array;
  readonly tombstone: boolean;
  /** The client's id of this logical write; empty or absent: no de-duplication. */
  readonly requestId?: Uint8Array;
}

/** What a coordinate did: the version it minted and the key's whole set afterwards. */
export interface CoordinateOutcome {
  /** The version minted now — or, when `deduplicated`, the one the request minted before. */
  readonly minted: Version;
  readonly versions: readonly Version[];
  /** `versions` as the protobuf messages the record was encoded from (answers reuse them). */
  readonly stored: storage.Version[];
  /** `minted` as a protobuf message. */
  readonly storedMinted: storage.Version;
  /** The exact `VersionSet` bytes stored for the key (other replicas may store them as they are). */
  readonly record: Buffer;
  /**
   * The request id was applied before: nothing was minted or written. `minted` is the version it
   * minted then, or — when a later write superseded that one — its dot alone (no value).
   */
  readonly deduplicated: boolean;
}

/**
 * Told, once a write batch is in LevelDB, of each key whose version-set digest it changed: the
 * key, its ring position, the digest before and after (`undefined`: absent). The Merkle trees'
 * O(1) update.
 */
export type DigestListener = (key: Buffer, position: number, oldDigest: Buffer | undefined, newDigest: Buffer | undefined) => void;

/** Approximate engine statistics. */
export interface EngineStats {
  readonly keyCount: number;
  readonly approximateBytes: number;
  /** The current incarnation's epoch. */
  readonly epoch: bigint;
}

const NO_REQUEST_ID = new Uint8Array(0);

/**
 * A storage node's versioned key-value store on LevelDB. Each user key holds its sibling set as
 * one record; every change is one read-modify-write under the key's lock, and writes of
 * concurrent operations are grouped into one LevelDB batch.
 *
 * Durability: LevelDB appends each batch to its log with write(2) before the promise resolves,
 * so everything acknowledged survives the process being killed (the OS has the bytes). Only with
 * `sync` does it also fsync, which survives power loss at the cost of one disk flush per batch.
 * Without it a power loss can lose the last batches — and with them nothing else: dots are
 * counted per incarnation (see `loadNodeMeta`), so the node that comes back never mints a dot
 * the lost writes had, even if other replicas hold them.
 */
export class StorageEngine {
  private readonly locks = new KeyedMutex();
  private readonly batcher: WriteBatcher;
  private readonly now: () => number;
  private readonly window: DedupWindow;
  private readonly ops = new OperationGate();
  /** This incarnation: its actor (node id, epoch drawn at open) and the counter it minted up to. */
  private readonly incarnation: Incarnation;
  /** Durable small records beside the data: transfer checkpoints, pending releases. */
  readonly meta: MetaStore;
  /** Writes kept as a stand-in for a replica that missed them (hinted handoff), apart from the data. */
  readonly standIns: StandInCopies;
  private digestListener: DigestListener | undefined;

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly options: StorageEngineOptions,
    private keys: number,
    epoch: bigint,
    counter: number,
    /** The epoch of the incarnation that opened the folder before this one, if any. */
    readonly previousEpoch: bigint | undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.incarnation = new Incarnation({ node: options.nodeId, epoch }, counter);
    this.window = { windowMs: options.dedupWindowMs ?? 600_000, perKey: options.dedupPerKey ?? 16 };
    this.batcher = new WriteBatcher((puts) => this.writeBatch(puts));
    this.meta = new MetaStore(db, options.sync ?? false);
    this.standIns = new StandInCopies(db, {
      sync: options.sync ?? false,
      now: this.now,
      checkIncoming: (versions, field) => this.checkIncoming(versions, field),
      checkKey: (key) => this.checkKey(key),
    });
  }

  /**
   * Opens (or creates) the database, starts a new incarnation (a new epoch, written with fsync)
   * and counts its keys.
   * @throws DataDirLockedError when another process holds the directory.
   * @throws NodeIdMismatchError when the directory belongs to another node id.
   */
  static async open(options: StorageEngineOptions): Promise<StorageEngine> {
    const db = new ClassicLevel<Buffer, Buffer>(options.dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new DataDirLockedError(options.dataDir, { cause: err });
      throw err;
    }
    try {
      const meta = await loadNodeMeta(db, options);
      await ensurePositionIndex(db, options.logger);
      options.logger.info(
        { epoch: meta.epoch.toString(16), previousEpoch: meta.previousEpoch?.toString(16), keys: meta.keyCount },
        'incarnation started: every dot minted from now on carries this epoch',
      );
      const engine = new StorageEngine(db, options, meta.keyCount, meta.epoch, meta.counter, meta.previousEpoch);
      await engine.standIns.load();
      return engine;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** The actor of this incarnation: the node and epoch of every dot it mints. */
  get actor(): Actor {
    return this.incarnation.actor;
  }

  /** The epoch of this incarnation. */
  get epoch(): bigint {
    return this.incarnation.actor.epoch;
  }

  /** Every version (siblings and tombstones) of `key`; empty when the key was never written. */
  read(key: Uint8Array, deadline = Number.POSITIVE_INFINITY): Promise<Version[]> {
    try {
      if (this.closing) throw new EngineClosedError();
      this.checkKey(key);
      this.checkDeadline(deadline, 'reading');
      return Promise.resolve(this.load(dataKey(key)).versions);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Every version of `key` and the request ids applied to it that are still inside the
   * de-duplication window: what a replica read answers, so a reader merging several replicas
   * can keep a write minted twice under one request id once (`collapseDuplicateMints`).
   */
  readSet(key: Uint8Array, deadline = Number.POSITIVE_INFINITY): Promise<{ versions: Version[]; applied: storage.AppliedWrite[] }> {
    try {
      if (this.closing) throw new EngineClosedError();
      this.checkKey(key);
      this.checkDeadline(deadline, 'reading');
      const { versions, applied } = this.load(dataKey(key));
      return Promise.resolve({ versions, applied: pruneApplied(applied, this.now(), this.window) });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Mints a version of `key` here — the only place this node's dots are made — in one
   * read-modify-write: drops the versions the context covers, adds the new one, stores the set.
   * With a request id the key already remembers, mints nothing and answers with what that
   * request minted before (`deduplicated`).
   * @throws InvalidArgumentError (nothing stored) for a value over the limit, or a context that
   *   claims more of this incarnation's writes than it minted.
   * @throws SiblingLimitError (nothing stored) when the key would exceed `maxSiblings` live versions.
   */
  coordinate(key: Uint8Array, write: WriteInput, deadline = Number.POSITIVE_INFINITY): Promise<CoordinateOutcome> {
    return this.track(() => {
      this.checkKey(key);
      if (!write.tombstone && write.value.length > this.maxValueBytes) {
        throw new InvalidArgumentError('value', `${write.value.length} bytes is over the limit of ${this.maxValueBytes}`);
      }
      this.incarnation.checkContext(write.context, 'context');
      const requestId = write.requestId ?? NO_REQUEST_ID;
      const record = dataKey(key);
      // The body runs synchronously up to the write; the key stays locked until the write is on
      // disk (see KeyedMutex), so the next read-modify-write of the key sees this one's result.
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        const bytes = this.db.getSync(record);
        const local = bytes === undefined ? emptyRecord() : decodeRecord(bytes);
        const nowMs = this.now();
        if (requestId.length > 0 && bytes !== undefined) {
          const replay = replayApplied(local, requestId, nowMs, this.window);
          if (replay !== undefined) return Promise.resolve({ ...replay, versions: local.versions, record: bytes, deduplicated: true });
        }
        // Why: a delete followed by a blind put must give a clean key, not a value beside the
        // tombstones. When every local version is a tombstone the writer cannot have meant to
        // keep any of them, so an empty context is read as "I saw those deletes".
        const allTombstones = local.versions.length > 0 && local.versions.every((v) => v.tombstone);
        const context = write.context.length === 0 && allTombstones ? contextOf(local.versions) : write.context;
        const fresh = mintVersion(local.versions, {
          context,
          actor: this.incarnation.actor,
          value: write.tombstone ? new Uint8Array(0) : write.value,
          tombstone: write.tombstone,
          nowMs,
          maxClockEntries: this.options.maxClockEntries ?? 10,
          // Why an incarnation-wide floor: pruned contexts (or a purged key) can forget this
          // actor's earlier dots of a key; reusing one would give two different values one identity.
          minCounter: this.incarnation.minted + 1,
        });
        const { minted } = fresh;
        const applied =
          requestId.length > 0
            ? pruneApplied([...local.applied, { requestId: Buffer.from(requestId), dot: versionToProto(minted).dot, appliedAtMs: BigInt(nowMs) }], nowMs, this.window)
            : pruneApplied(local.applied, nowMs, this.window);
        // Why collapse after a mint: the new context may cover the late copy of a write minted
        // twice (the client was answered with that copy) while the other copy is still here.
        const versions = collapseDuplicateMints(fresh.versions, appliedFromProto(applied));
        const live = liveVersions(versions);
        const limit = this.options.maxSiblings ?? 64;
        if (live.length > limit) throw new SiblingLimitError(live.length, limit, distinctValues(live));
        this.warnSiblings(key, live.length);
        this.incarnation.advanceTo(minted.dot.counter);
        const stored = versions.map(versionToProto);
        const storedMinted = stored[versions.indexOf(minted)] ?? versionToProto(minted);
        const recordBytes = encodeStoredSet(stored, applied);
        const outcome: CoordinateOutcome = { minted, versions, stored, storedMinted, record: recordBytes, deduplicated: false };
        const put = { key: record, value: recordBytes, digest: indexDigest(versions), ...this.previousDigest(bytes === undefined ? undefined : local.versions) };
        return this.batcher.put(put).then(() => {
          if (bytes === undefined) this.keys += 1;
          return outcome;
        });
      });
    });
  }

  /**
   * Merges versions minted elsewhere (replication, read repair, hints) into the key's set and
   * returns the stored set. Idempotent: merging what is already here writes nothing.
   * @throws InvalidArgumentError (nothing stored) for a value over the limit or a version that
   *   claims writes of this incarnation it never minted.
   * @throws SiblingLimitError (nothing stored) past `maxMergedSiblings` live versions.
   */
  merge(key: Uint8Array, incoming: readonly Version[], deadline = Number.POSITIVE_INFINITY, applied: readonly storage.AppliedWrite[] = []): Promise<Version[]> {
    return this.track(() => {
      this.checkKey(key);
      this.checkIncoming(incoming, 'versions');
      const record = dataKey(key);
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        const bytes = this.db.getSync(record);
        return this.mergeLocked(key, record, bytes === undefined ? undefined : decodeRecord(bytes), { versions: [...incoming], applied: [...applied] }, undefined);
      });
    });
  }

  /**
   * Merges a whole version set given as its stored record bytes (a minting node's
   * `CoordinateOutcome.record`). Same result as {@link merge} of the decoded set, cheaper on the
   * replication path: when the key is absent here the bytes are stored as they are (decoded once,
   * so nothing malformed is stored, but not merged or re-encoded); when the stored bytes are the
   * same bytes nothing is decoded or written. The record's applied request ids join the key's.
   * @throws InvalidArgumentError (nothing stored) when the bytes are not a valid version set, or
   *   break a limit as in {@link merge}.
   */
  mergeRecord(key: Uint8Array, incomingRecord: Uint8Array, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    return this.track(() => {
      this.checkKey(key);
      const record = dataKey(key);
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        const localBytes = this.db.getSync(record);
        if (localBytes !== undefined && Buffer.compare(localBytes, incomingRecord) === 0) return Promise.resolve();
        const incoming = decodeIncoming(incomingRecord);
        this.checkIncoming(incoming.versions, 'versions_record');
        const local = localBytes === undefined ? undefined : decodeRecord(localBytes);
        return this.mergeLocked(key, record, local, incoming, incomingRecord).then(() => undefined);
      });
    });
  }

  /**
   * The read-modify-write of a merge, under the key's lock. `local` is undefined when the key is
   * absent here. `incomingRecord` (the encoding of `incoming`, when the caller has it) is stored
   * as it is whenever the merge result is exactly the incoming record — always so for an absent
   * key — instead of encoding the result again.
   */
  private mergeLocked(
    key: Uint8Array,
    record: Buffer,
    local: StoredRecord | undefined,
    incoming: StoredRecord,
    incomingRecord: Uint8Array | undefined,
  ): Promise<Version[]> {
    let merged: Version[];
    let value: Buffer | undefined;
    if (incomingRecord !== undefined && local === undefined) {
      if (incoming.versions.length === 0) return Promise.resolve([]);
      // Why no merge: the record is a set another node stored, itself the output of a mint or a
      // merge there, so it is already free of duplicate and covered versions.
      merged = [...incoming.versions];
      this.checkMergedSiblings(merged);
      value = asBuffer(incomingRecord);
    } else {
      const base = local ?? emptyRecord();
      const nowMs = this.now();
      const { applied, gained } = unionApplied(base.applied, incoming.applied, nowMs, this.window);
      // Why collapse here: this is where a late minter's record meets the set the next replica
      // minted for the same request id (or the reverse); see `collapseDuplicateMints`.
      merged = collapseDuplicateMints(mergeVersions(base.versions, incoming.versions), appliedFromProto(applied));
      const changed = !sameVersions(base.versions, merged);
      if (!changed && !gained) return Promise.resolve(base.versions);
      if (changed) this.checkMergedSiblings(merged);
      // Why byte reuse is safe: a record is a set (order carries no meaning), so when the merge
      // kept exactly the incoming dots and request ids, the incoming bytes encode the result.
      if (incomingRecord !== undefined && sameVersions(merged, incoming.versions) && sameApplied(applied, incoming.applied)) value = asBuffer(incomingRecord);
      else value = encodeStoredSet(merged.map(versionToProto), applied);
    }
    this.warnSiblings(key, liveVersions(merged).length);
    return this.batcher.put({ key: record, value, digest: indexDigest(merged), ...this.previousDigest(local?.versions) }).then(() => {
      if (local === undefined) this.keys += 1;
      return merged;
    });
  }

  /**
   * Replicated data past the sibling bound is accepted (refusing it would leave this replica
   * behind the others for good: anti-entropy would retry it forever) up to a hard ceiling, so
   * the bound cannot be bypassed without limit through merges.
   *
   * Why that ceiling is reachable only by a fault: a node mints only while its own set stays
   * within `maxSiblings`, and a key has at most N minting replicas, so replicas that minted apart
   * (a partition) merge into at most N × maxSiblings live versions; the default ceiling (4 ×)
   * covers N up to 4. Over the bound, blind writes stay refused and the key is logged until a
   * write with a read's context resolves it.
   */
  private checkMergedSiblings(merged: readonly Version[]): void {
    const live = liveVersions(merged);
    const ceiling = this.options.maxMergedSiblings ?? 4 * (this.options.maxSiblings ?? 64);
    if (live.length > ceiling) throw new SiblingLimitError(live.length, ceiling, distinctValues(live));
  }

  /**
   * Refuses what a merge must never store: values over the size limit (the limit protects every
   * replica, not only minters) and versions claiming writes of this incarnation it never minted.
   */
  private checkIncoming(versions: readonly Version[], field: string): void {
    for (const v of versions) {
      if (!v.tombstone && v.value.length > this.maxValueBytes) {
        throw new InvalidArgumentError(field, `holds a value of ${v.value.length} bytes, over the limit of ${this.maxValueBytes} bytes (--max-value-bytes); nothing stored`);
      }
    }
    this.incarnation.checkVersions(versions, field);
  }

  /**
   * The keys whose ring position lies in the arc (start, end], in (position, key) order, with
   * their digests and record bytes, a page at a time (see `scanIndex`).
   */
  scanRange(start: number, end: number, options: ScanOptions): Promise<RangeEntry[]> {
    return this.track(() => scanIndex(this.db, start, end, options));
  }

  /** How many keys lie in the arc (start, end] after the cursor (a keys-only walk of the index). */
  countRange(start: number, end: number, after?: RangeCursor): Promise<number> {
    return this.track(() => countArc(this.db, start, end, after));
  }

  /**
   * Deletes every key of the arc (start, end] — records and index entries — in bounded batches,
   * each key under its lock, in one pass over the arc. Returns the keys deleted.
   */
  dropRange(start: number, end: number): Promise<number> {
    return this.track(() =>
      dropArc(this.db, start, end, (key) => {
        const record = dataKey(key);
        return this.locks.run(record.toString('latin1'), () => {
          if (this.db.getSync(record) === undefined) return Promise.resolve(false);
          return this.batcher.put({ key: record, value: undefined }).then(() => {
            this.keys -= 1;
            return true;
          });
        });
      }),
    );
  }

  /**
   * Deletes `key` (record and index entry) if `purgeable` says so of its versions, read under the
   * key's lock — so nothing written since the caller looked can be lost. Resolves whether it was
   * deleted. The tombstone purge.
   */
  purgeIf(key: Uint8Array, purgeable: (versions: readonly Version[]) => boolean): Promise<boolean> {
    return this.track(() => {
      this.checkKey(key);
      const record = dataKey(key);
      return this.locks.run(record.toString('latin1'), () => {
        const bytes = this.db.getSync(record);
        if (bytes === undefined) return Promise.resolve(false);
        const versions = decodeRecord(bytes).versions;
        if (!purgeable(versions)) return Promise.resolve(false);
        return this.batcher.put({ key: record, value: undefined, ...this.previousDigest(versions) }).then(() => {
          this.keys -= 1;
          return true;
        });
      });
    });
  }

  /** Sets the one listener told of every digest change (see {@link DigestListener}). */
  onDigestChange(listener: DigestListener | undefined): void {
    this.digestListener = listener;
  }

  /**
   * Runs `fn` (synchronous) between two write batches: no batch is in LevelDB without its digest
   * changes told, and none starts until `fn` returns (see `WriteBatcher.between`). A snapshot taken
   * in `fn` holds exactly the writes the listener has been told of.
   */
  betweenBatches<T>(fn: () => T): Promise<T> {
    return this.batcher.between(fn);
  }

  /** The index entries of `arcs`, as of the call (the snapshot is taken before it returns). */
  snapshotIndex(arcs: readonly PositionArc[]): AsyncIterable<IndexedKey> {
    if (this.closing) throw new EngineClosedError();
    return snapshotIndexArcs(this.db, arcs);
  }

  /** Every record with its position and digest computed from it, as of the call. */
  snapshotRecords(): AsyncIterable<IndexedKey> {
    if (this.closing) throw new EngineClosedError();
    return snapshotRecords(this.db);
  }

  /** Keys held now (counted at open, kept since). */
  get keyCount(): number {
    return this.keys;
  }

  /** Keys held (counted at open, kept since) and the size of the data directory. */
  async stats(): Promise<EngineStats> {
    return { keyCount: this.keys, approximateBytes: await directorySize(this.options.dataDir), epoch: this.epoch };
  }

  /** Batches written and records in them, for the average group-commit size. */
  get batchCounters(): { readonly batches: number; readonly records: number } {
    return this.batcher.counters;
  }

  /**
   * Refuses new operations, lets running ones finish and closes the database. `beforeClose` runs
   * once the last write is in LevelDB and before the database closes (the trees are saved there).
   */
  async close(beforeClose?: () => Promise<void>): Promise<void> {
    if (!(await this.ops.close())) return;
    await this.batcher.idle();
    if (beforeClose !== undefined) {
      try {
        await beforeClose();
      } catch (err) {
        this.options.logger.error({ err }, 'work before closing the engine failed');
      }
    }
    await this.db.close();
    const { batches, records } = this.batcher.counters;
    this.options.logger.info({ batches, records, keys: this.keys }, 'engine closed');
  }

  /** Runs an operation unless closing, counting it until it settles (see `OperationGate`). */
  private track<T>(op: () => Promise<T>): Promise<T> {
    return this.ops.track(op);
  }

  /** Whether closing has started: new operations are refused. */
  private get closing(): boolean {
    return this.ops.closed;
  }

  private get maxValueBytes(): number {
    return this.options.maxValueBytes ?? 10 * 1024;
  }

  /**
   * Why synchronous: a LevelDB get is a memtable or block-cache lookup (or one page-cache read)
   * costing a few microseconds, while the asynchronous get costs tens of microseconds of
   * thread-pool hand-off and promise plumbing on every operation.
   */
  private load(record: Buffer): StoredRecord {
    const bytes = this.db.getSync(record);
    return bytes === undefined ? emptyRecord() : decodeRecord(bytes);
  }

  /**
   * The digest a put replaces, for the listener: `null` for a key that was absent. Computed only
   * when a listener wants it (a digest costs a hash of the set's dots).
   */
  private previousDigest(versions: readonly Version[] | undefined): { oldDigest?: Buffer | null } {
    if (this.digestListener === undefined) return {};
    return { oldDigest: versions === undefined ? null : (indexDigest(versions) ?? null) };
  }

  private writeBatch(puts: readonly RecordPut[]): Promise<void> {
    // A chained batch: each put goes straight into the native WriteBatch, without the per-op
    // object copies and checks of the array form (measured at about a third of the engine's
    // CPU per replica write).
    const batch = this.db.batch();
    const listener = this.digestListener;
    const changes: { key: Buffer; position: number; old: Buffer | undefined; next: Buffer | undefined }[] = [];
    for (const p of puts) {
      const key = p.key.subarray(1);
      const position = sha1Position(key);
      const entry = indexKey(position, key);
      if (listener !== undefined) {
        // Unknown (a drop): the index entry says. The key's lock is held until this batch is
        // written, so the entry read here is the one this put replaces.
        const old = p.oldDigest === undefined ? this.db.getSync(entry) : (p.oldDigest ?? undefined);
        const next = p.value === undefined ? undefined : p.digest;
        if (old === undefined ? next !== undefined : next === undefined || Buffer.compare(old, next) !== 0) changes.push({ key, position, old, next });
      }
      // Why the index entry rides in the record's batch: LevelDB applies a batch whole or not at
      // all, so no crash can leave a record without its entry or an entry without its record.
      if (p.value === undefined) {
        batch.del(p.key);
        batch.del(entry);
        continue;
      }
      batch.put(p.key, p.value);
      if (p.digest !== undefined) batch.put(entry, p.digest);
    }
    const written = batch.write({ sync: this.options.sync ?? false });
    if (listener === undefined || changes.length === 0) return written;
    // Why here, inside the batch's own promise: the batcher counts the batch as in flight until
    // this has run, so `betweenBatches` never sees a batch in LevelDB whose changes are untold.
    return written.then(() => {
      try {
        for (const c of changes) listener(c.key, c.position, c.old, c.next);
      } catch (err) {
        this.options.logger.error({ err }, 'digest listener failed; the Merkle trees are rebuilt at the next verification');
      }
    });
  }

  private checkKey(key: Uint8Array): void {
    if (key.length === 0) throw new InvalidArgumentError('key', 'must not be empty');
    const max = this.options.maxKeyBytes ?? 1024;
    if (key.length > max) throw new InvalidArgumentError('key', `${key.length} bytes is over the limit of ${max}`);
  }

  private checkDeadline(deadline: number, what: string): void {
    if (this.now() >= deadline) throw new DeadlineExceededError(what);
  }

  private warnSiblings(key: Uint8Array, live: number): void {
    const warn = this.options.siblingWarn ?? 16;
    if (live > warn) {
      this.options.logger.warn({ key: Buffer.from(key).subarray(0, 64).toString('hex'), siblings: live, warnAbove: warn }, 'key holds many siblings');
    }
  }
}
