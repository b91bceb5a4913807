/**
 * The writes a node keeps as a *stand-in*: when one of a key's replicas was down (or did not
 * answer), the coordinator sent its copy here, with a hint for the replica in JetStream.
 *
 * Why a key space of their own (`h` + key length + key + intended node → stored time + record),
 * not the node's data records (`d`): a stand-in copy is not a replica. It must not answer reads
 * as if this node replicated the key, must not enter the ring-position index (range streaming,
 * cleanup) nor the Merkle trees anti-entropy compares (a node's trees hold its replicas' keys
 * only), and must be removable after delivery without touching a record this node does own —
 * the same key may be one this node replicates on another ring epoch. Writes here go around the
 * engine's batcher for the same reason: nothing of the data path (index, tree updates) sees them.
 *
 * One copy per (key, intended node): a node standing in for two replicas of one key drops each
 * copy when that replica's hint is delivered, never the other's.
 */
import type { ClassicLevel } from 'classic-level';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { mergeVersions, sameVersions, versionToProto, type Version } from '@quorumkv/vclock';
import { KeyedMutex } from './key-lock.js';
import { decodeIncoming, decodeRecord, encodeStoredSet } from './record-codec.js';

const PREFIX = 0x68; // 'h'
const START = Buffer.from([PREFIX]);
const END = Buffer.from([PREFIX + 1]);

/** How the copies are kept. */
export interface StandInCopiesOptions {
  /** fsync each write (the engine's `sync`). */
  readonly sync: boolean;
  /** @default Date.now */
  readonly now?: () => number;
  /** Refuses versions a merge must never store (value size, dots this node never minted): the engine's own check. */
  readonly checkIncoming: (versions: readonly Version[], field: string) => void;
  /** Refuses an empty or oversized key: the engine's own check. */
  readonly checkKey: (key: Uint8Array) => void;
}

/** The LevelDB key of the copy of `key` kept for `intended`. */
function copyKey(key: Uint8Array, intended: string): Buffer {
  const node = Buffer.from(intended, 'utf8');
  const out = Buffer.allocUnsafe(3 + key.length + node.length);
  out[0] = PREFIX;
  out.writeUInt16BE(key.length, 1);
  out.set(key, 3);
  out.set(node, 3 + key.length);
  return out;
}

/** The LevelDB key range holding every copy of `key` (whoever it was kept for). */
function keyRange(key: Uint8Array): { gte: Buffer; lt: Buffer } {
  const head = Buffer.allocUnsafe(3 + key.length);
  head[0] = PREFIX;
  head.writeUInt16BE(key.length, 1);
  head.set(key, 3);
  return { gte: head, lt: Buffer.concat([head, Buffer.from([0xff])]) };
}

function encodeCopy(storedAtMs: number, record: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + record.length);
  out.writeBigUInt64BE(BigInt(storedAtMs), 0);
  out.set(record, 8);
  return out;
}

function copyRecord(value: Buffer): Buffer {
  return value.subarray(8);
}

function copyStoredAt(value: Buffer): number {
  return Number(value.readBigUInt64BE(0));
}

/** Stand-in copies in the engine's LevelDB, apart from the node's own data. */
export class StandInCopies {
  private readonly locks = new KeyedMutex();
  private readonly now: () => number;
  private held = 0;

  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly options: StandInCopiesOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Counts the copies kept (once, when the database opens). */
  async load(): Promise<void> {
    let n = 0;
    for await (const _ of this.db.keys({ gte: START, lt: END })) n++;
    this.held = n;
  }

  /** Copies kept now (one per key and intended node). */
  get count(): number {
    return this.held;
  }

  /**
   * Merges a version set (a `VersionSet` record) into the copy of `key` kept for `intended`.
   * Idempotent; the copy's time is that of its latest change (the sweep counts from it).
   * @throws InvalidArgumentError (nothing stored) for a malformed record or one the engine's
   *   checks refuse.
   */
  async merge(intended: string, key: Uint8Array, record: Uint8Array): Promise<void> {
    if (intended.length === 0) throw new InvalidArgumentError('hinted_for', 'must name the replica this node stands in for');
    this.options.checkKey(key);
    const incoming = decodeIncoming(record);
    this.options.checkIncoming(incoming.versions, 'versions_record');
    const at = copyKey(key, intended);
    return this.locks.run(at.toString('latin1'), async () => {
      const old = await this.db.get(at);
      const local = old === undefined ? [] : decodeRecord(copyRecord(old)).versions;
      const merged = mergeVersions(local, incoming.versions);
      if (old !== undefined && sameVersions(local, merged)) return;
      await this.db.put(at, encodeCopy(this.now(), encodeStoredSet(merged.map(versionToProto))), { sync: this.options.sync });
      if (old === undefined) this.held++;
    });
  }

  /** Every version this node keeps of `key` as a stand-in, for any replica (merged). */
  async read(key: Uint8Array): Promise<Version[]> {
    this.options.checkKey(key);
    let out: Version[] = [];
    for await (const value of this.db.values(keyRange(key))) out = mergeVersions(out, decodeRecord(copyRecord(value)).versions);
    return out;
  }

  /**
   * Drops the copy of `key` kept for `intended` if what was delivered to `intended` covers it
   * (merging the copy into the delivered set changes nothing); a copy that took a later write
   * stays until that write's hint is delivered too. Idempotent. Returns whether a copy was dropped.
   */
  async releaseIfCovered(intended: string, key: Uint8Array, deliveredRecord: Uint8Array): Promise<boolean> {
    const delivered = decodeIncoming(deliveredRecord).versions;
    const at = copyKey(key, intended);
    return this.locks.run(at.toString('latin1'), async () => {
      const old = await this.db.get(at);
      if (old === undefined) return false;
      const local = decodeRecord(copyRecord(old)).versions;
      if (!sameVersions(mergeVersions(delivered, local), mergeVersions(delivered, []))) return false;
      await this.db.del(at, { sync: this.options.sync });
      this.held--;
      return true;
    });
  }

  /**
   * Drops every copy not changed for `olderThanMs`. Why a sweep: a copy is normally released when
   * its hint is delivered, but the release can be lost (this node was down then) and a hint can
   * expire instead; past the hint window its hint is gone either way and the replicas are
   * anti-entropy's to reconcile, so the copy has no more use.
   */
  async sweep(olderThanMs: number): Promise<number> {
    const cutoff = this.now() - olderThanMs;
    let dropped = 0;
    for await (const [at, value] of this.db.iterator({ gte: START, lt: END })) {
      if (copyStoredAt(value) > cutoff) continue;
      const gone = await this.locks.run(at.toString('latin1'), async () => {
        const current = await this.db.get(at);
        if (current === undefined || copyStoredAt(current) > cutoff) return false;
        await this.db.del(at, { sync: this.options.sync });
        this.held--;
        return true;
      });
      if (gone) dropped++;
    }
    return dropped;
  }
}
