import { ClassicLevel } from 'classic-level';
import { DeadlineExceededError, InvalidArgumentError, type Logger } from '@quorumkv/service-kit';
import type { storage } from '@quorumkv/proto';
import { contextOf, liveVersions, mergeVersions, mintVersion, sameVersions, versionToProto, type VectorClock, type Version } from '@quorumkv/vclock';
import { directorySize } from './dir-size.js';
import { DataDirLockedError, EngineClosedError, SiblingLimitError } from './errors.js';
import { KeyedMutex } from './key-lock.js';
import { loadNodeMeta } from './node-meta.js';
import { dataKey, decodeVersionSet, encodeCounter, encodeStoredSet, encodeVersionSet, metaKey } from './record-codec.js';
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
  /** Stored contexts keep at most this many entries. @default 10 */
  readonly maxClockEntries?: number;
  /** @default 1024 */
  readonly maxKeyBytes?: number;
  /** @default 10240 */
  readonly maxValueBytes?: number;
  /** Wall clock (ms) for version timestamps and deadlines. @default Date.now */
  readonly now?: () => number;
}

/** What a coordinate did: the version it minted and the key's whole set afterwards. */
export interface CoordinateOutcome {
  readonly minted: Version;
  readonly versions: readonly Version[];
  /** `versions` as the protobuf messages the record was encoded from (answers reuse them). */
  readonly stored: storage.Version[];
  /** `minted` as a protobuf message (one of `stored`). */
  readonly storedMinted: storage.Version;
  /** The exact `VersionSet` bytes stored for the key (other replicas may store them as they are). */
  readonly record: Buffer;
}

/** Approximate engine statistics. */
export interface EngineStats {
  readonly keyCount: number;
  readonly approximateBytes: number;
}

/**
 * A storage node's versioned key-value store on LevelDB. Each user key holds its sibling set as
 * one record; every change is one read-modify-write under the key's lock, and writes of
 * concurrent operations are grouped into one LevelDB batch.
 *
 * Durability: LevelDB appends each batch to its log with write(2) before the promise resolves,
 * so everything acknowledged survives the process being killed (the OS has the bytes). Only with
 * `sync` does it also fsync, which survives power loss at the cost of one disk flush per batch.
 */
export class StorageEngine {
  private readonly locks = new KeyedMutex();
  private readonly batcher: WriteBatcher;
  private readonly now: () => number;
  /** Operations started and not yet settled, and who waits for there to be none. */
  private running = 0;
  private runningWaiters: (() => void)[] = [];
  private closing = false;
  /** Highest dot counter this node has minted (persisted with every batch that raises it). */
  private dotCounter: number;
  private persistedCounter: number;

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly options: StorageEngineOptions,
    private keys: number,
    dotCounter: number,
  ) {
    this.now = options.now ?? Date.now;
    this.dotCounter = dotCounter;
    this.persistedCounter = dotCounter;
    this.batcher = new WriteBatcher((puts) => this.writeBatch(puts));
  }

  /**
   * Opens (or creates) the database and counts its keys.
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
      const meta = await loadNodeMeta(db, options.dataDir, options.nodeId);
      return new StorageEngine(db, options, meta.keyCount, meta.dotCounter);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Every version (siblings and tombstones) of `key`; empty when the key was never written. */
  read(key: Uint8Array, deadline = Number.POSITIVE_INFINITY): Promise<Version[]> {
    try {
      if (this.closing) throw new EngineClosedError();
      this.checkKey(key);
      this.checkDeadline(deadline, 'reading');
      return Promise.resolve(this.load(dataKey(key)));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Mints a version of `key` here — the only place this node's dots are made — in one
   * read-modify-write: drops the versions `context` covers, adds the new one, stores the set.
   * @throws SiblingLimitError (nothing stored) when the key would exceed `maxSiblings` live versions.
   */
  coordinate(
    key: Uint8Array,
    context: VectorClock,
    value: Uint8Array,
    tombstone: boolean,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<CoordinateOutcome> {
    return this.track(() => {
      this.checkKey(key);
      if (!tombstone && value.length > this.maxValueBytes) {
        throw new InvalidArgumentError('value', `${value.length} bytes is over the limit of ${this.maxValueBytes}`);
      }
      const record = dataKey(key);
      // The body runs synchronously up to the write; the key stays locked until the write is on
      // disk (see KeyedMutex), so the next read-modify-write of the key sees this one's result.
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        const local = this.load(record);
        // Why: a delete followed by a blind put must give a clean key, not a value beside the
        // tombstones. When every local version is a tombstone the writer cannot have meant to
        // keep any of them, so an empty context is read as "I saw those deletes".
        const allTombstones = local.length > 0 && local.every((v) => v.tombstone);
        const effective = context.length === 0 && allTombstones ? contextOf(local) : context;
        const { versions, minted } = mintVersion(local, {
          context: effective,
          node: this.options.nodeId,
          value: tombstone ? new Uint8Array(0) : value,
          tombstone,
          nowMs: this.now(),
          maxClockEntries: this.options.maxClockEntries ?? 10,
          // Why a node-wide floor: pruned contexts (or a purged key) can forget this node's
          // earlier dots of a key; reusing one would give two different values one identity.
          minCounter: this.dotCounter + 1,
        });
        const live = liveVersions(versions).length;
        const limit = this.options.maxSiblings ?? 64;
        if (live > limit) throw new SiblingLimitError(live, limit);
        this.warnSiblings(key, live);
        this.dotCounter = Math.max(this.dotCounter, minted.dot.counter);
        const stored = versions.map(versionToProto);
        const bytes = encodeStoredSet(stored);
        const outcome: CoordinateOutcome = { minted, versions, stored, storedMinted: stored[versions.indexOf(minted)] ?? versionToProto(minted), record: bytes };
        return this.batcher.put({ key: record, value: bytes }).then(() => {
          if (local.length === 0) this.keys += 1;
          return outcome;
        });
      });
    });
  }

  /**
   * Merges versions minted elsewhere (replication, read repair, hints) into the key's set and
   * returns the stored set. Idempotent: merging what is already here writes nothing.
   */
  merge(key: Uint8Array, incoming: readonly Version[], deadline = Number.POSITIVE_INFINITY): Promise<Version[]> {
    return this.track(() => {
      this.checkKey(key);
      const record = dataKey(key);
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        return this.mergeLocked(key, record, this.load(record), incoming, undefined);
      });
    });
  }

  /**
   * Merges a whole version set given as its stored record bytes (a minting node's
   * `CoordinateOutcome.record`). Same result as {@link merge} of the decoded set, cheaper on the
   * replication path: when the key is absent here the bytes are stored as they are (decoded once,
   * so nothing malformed is stored, but not merged or re-encoded); when the stored bytes are the
   * same bytes nothing is decoded or written.
   * @throws InvalidArgumentError (nothing stored) when the bytes are not a valid version set.
   */
  mergeRecord(key: Uint8Array, incomingRecord: Uint8Array, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    return this.track(() => {
      this.checkKey(key);
      const record = dataKey(key);
      return this.locks.run(record.toString('latin1'), () => {
        this.checkDeadline(deadline, 'waiting for the key');
        const localBytes = this.db.getSync(record);
        if (localBytes !== undefined && Buffer.compare(localBytes, incomingRecord) === 0) return Promise.resolve();
        const incoming = decodeRecord(incomingRecord);
        const local = localBytes === undefined ? [] : decodeVersionSet(localBytes);
        return this.mergeLocked(key, record, local, incoming, incomingRecord).then(() => undefined);
      });
    });
  }

  /**
   * The read-modify-write of a merge, under the key's lock. `incomingRecord` (the encoding of
   * `incoming`, when the caller has it) is stored as it is whenever the merge result is exactly
   * the incoming set — always so for an absent key — instead of encoding the result again.
   */
  private mergeLocked(key: Uint8Array, record: Buffer, local: Version[], incoming: readonly Version[], incomingRecord: Uint8Array | undefined): Promise<Version[]> {
    let merged: Version[];
    let value: Buffer | undefined;
    if (incomingRecord !== undefined && local.length === 0) {
      if (incoming.length === 0) return Promise.resolve(local);
      // Why no merge: the record is a set another node stored, itself the output of a mint or a
      // merge there, so it is already free of duplicate and covered versions.
      merged = [...incoming];
      value = asBuffer(incomingRecord);
    } else {
      merged = mergeVersions(local, incoming);
      if (sameVersions(local, merged)) return Promise.resolve(local);
      // Why byte reuse is safe: a record is a set (order carries no meaning), so when the merge
      // kept exactly the incoming dots, the incoming bytes encode the merged set.
      if (incomingRecord !== undefined && sameVersions(merged, incoming)) value = asBuffer(incomingRecord);
    }
    // Replicated data is never refused (that would leave replicas diverged), only reported.
    this.warnSiblings(key, liveVersions(merged).length);
    for (const v of incoming) {
      if (v.dot.node === this.options.nodeId) this.dotCounter = Math.max(this.dotCounter, v.dot.counter);
    }
    return this.batcher.put({ key: record, value: value ?? encodeVersionSet(merged) }).then(() => {
      if (local.length === 0) this.keys += 1;
      return merged;
    });
  }

  /** Keys held (counted at open, kept since) and the size of the data directory. */
  async stats(): Promise<EngineStats> {
    return { keyCount: this.keys, approximateBytes: await directorySize(this.options.dataDir) };
  }

  /** Batches written and records in them, for the average group-commit size. */
  get batchCounters(): { readonly batches: number; readonly records: number } {
    return this.batcher.counters;
  }

  /** Refuses new operations, lets running ones finish and closes the database. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.running > 0) await new Promise<void>((resolve) => this.runningWaiters.push(resolve));
    await this.batcher.idle();
    await this.db.close();
    const { batches, records } = this.batcher.counters;
    this.options.logger.info({ batches, records, keys: this.keys }, 'engine closed');
  }

  private get maxValueBytes(): number {
    return this.options.maxValueBytes ?? 10 * 1024;
  }

  /** Runs an operation unless closing, counting it until it settles (a throw is a rejection). */
  private track<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new EngineClosedError());
    let p: Promise<T>;
    try {
      p = op();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.running += 1;
    p.then(this.settled, this.settled);
    return p;
  }

  private readonly settled = (): void => {
    this.running -= 1;
    if (this.running > 0) return;
    const waiters = this.runningWaiters;
    this.runningWaiters = [];
    for (const w of waiters) w();
  };

  /**
   * Why synchronous: a LevelDB get is a memtable or block-cache lookup (or one page-cache read)
   * costing a few microseconds, while the asynchronous get costs tens of microseconds of
   * thread-pool hand-off and promise plumbing on every operation.
   */
  private load(record: Buffer): Version[] {
    const bytes = this.db.getSync(record);
    return bytes === undefined ? [] : decodeVersionSet(bytes);
  }

  private writeBatch(puts: readonly RecordPut[]): Promise<void> {
    // A chained batch: each put goes straight into the native WriteBatch, without the per-op
    // object copies and checks of the array form (measured at about a third of the engine's
    // CPU per replica write).
    const batch = this.db.batch();
    for (const p of puts) batch.put(p.key, p.value);
    // The counter travels in the same atomic batch as the versions it minted, so after a crash
    // it is never below a dot that reached disk.
    const before = this.persistedCounter;
    if (this.dotCounter > before) {
      batch.put(metaKey('dot-counter'), encodeCounter(this.dotCounter));
      this.persistedCounter = this.dotCounter;
    }
    return batch.write({ sync: this.options.sync ?? false }).catch((err: unknown) => {
      this.persistedCounter = Math.min(this.persistedCounter, before);
      throw err;
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

/** The bytes as a Buffer over the same memory (LevelDB takes Buffers; no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A received record decoded, or bad input when it is not a valid version set. */
function decodeRecord(bytes: Uint8Array): Version[] {
  try {
    return decodeVersionSet(bytes);
  } catch (err) {
    throw new InvalidArgumentError('versions_record', `not a valid version set: ${err instanceof Error ? err.message : String(err)}`);
  }
}
