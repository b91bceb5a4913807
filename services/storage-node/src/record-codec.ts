/**
 * The on-disk layout. Every LevelDB key starts with one byte naming the record kind, so other
 * kinds (hints, Merkle summaries, range markers) can live in the same database later:
 *
 * - `d` + user key → `storage.v1.VersionSet` bytes: every version (siblings and tombstones) and
 *   the request ids applied to the key recently (`applied`).
 * - `m` + name     → node metadata: `node-id` (UTF-8), `epoch` (8-byte big-endian: the current
 *   incarnation), and, only in folders written before epochs, `dot-counter` (8-byte big-endian,
 *   the old node-wide counter; read once at open, then deleted), `position-index` (present once
 *   the ring-position index covers every record), `transfer/…` (range-transfer checkpoints), `release/…` (arcs to drop after a commit),
 *   `tree/<start>-<end>` (a Merkle tree saved at a clean shutdown) and `trees-epoch` (the
 *   incarnation that saved them: the trees are trusted only by the next one).
 * - `a` + position (4-byte big-endian) + user key → the key's version-set digest: the ring-position
 *   index (see `position-index.ts`), written in the same batch as the record.
 */
import { storage } from '@quorumkv/proto';
import { InvalidArgumentError, pooledSerializer } from '@quorumkv/service-kit';
import { versionFromProto, versionToProto, type Version } from '@quorumkv/vclock';

const DATA_PREFIX = 0x64; // 'd'
const META_PREFIX = 0x6d; // 'm'

/** Lower bound (inclusive) of the data records. */
export const DATA_START: Buffer = Buffer.from([DATA_PREFIX]);
/** Upper bound (exclusive) of the data records. */
export const DATA_END: Buffer = Buffer.from([DATA_PREFIX + 1]);

/** The LevelDB key of a user key's version set. */
export function dataKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = DATA_PREFIX;
  out.set(key, 1);
  return out;
}

/** Names of the metadata records. */
export type MetaName =
  | 'node-id'
  | 'epoch'
  | 'dot-counter'
  | 'position-index'
  | `transfer/${string}`
  | `release/${string}`
  | 'trees-epoch'
  | `tree/${string}`;

/** The LevelDB key of a metadata record. */
export function metaKey(name: MetaName): Buffer {
  return Buffer.concat([Buffer.from([META_PREFIX]), Buffer.from(name, 'utf8')]);
}

/** One key's record, decoded. */
export interface StoredRecord {
  readonly versions: Version[];
  /** Request ids applied recently, as stored (see `applied-writes.ts`). */
  readonly applied: storage.AppliedWrite[];
}

/** The record of a key that was never written (a fresh object: callers may build on its arrays). */
export function emptyRecord(): StoredRecord {
  return { versions: [], applied: [] };
}

/** Encodes records with one reused writer: a record is encoded on every replica write. */
const encodeSet = pooledSerializer(storage.VersionSet, { versions: [], applied: [] });

/** A record whose versions are already protobuf messages, as stored bytes. */
export function encodeStoredSet(versions: storage.Version[], applied: storage.AppliedWrite[] = []): Buffer {
  return encodeSet({ versions, applied });
}

/** A record as stored bytes. */
export function encodeRecord(record: StoredRecord): Buffer {
  return encodeStoredSet(record.versions.map(versionToProto), record.applied);
}

/** Stored bytes as a record. Throws (MalformedVersionError or a decode error) on corruption. */
export function decodeRecord(bytes: Uint8Array): StoredRecord {
  const set = storage.VersionSet.decode(bytes);
  return { versions: set.versions.map(versionFromProto), applied: set.applied };
}

/** A stored record's versions only. */
export function decodeVersionSet(bytes: Uint8Array): Version[] {
  return decodeRecord(bytes).versions;
}

/** A counter or epoch as its 8-byte record. */
export function encodeUint64(n: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(n);
  return out;
}

/** An 8-byte record as a bigint, or undefined when absent or malformed. */
export function decodeUint64(record: Uint8Array | undefined): bigint | undefined {
  if (record === undefined || record.length !== 8) return undefined;
  return Buffer.from(record.buffer, record.byteOffset, record.byteLength).readBigUInt64BE();
}

/** The bytes as a Buffer over the same memory (LevelDB takes Buffers; no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A received record decoded, or bad input when it is not a valid version set. */
export function decodeIncoming(bytes: Uint8Array): StoredRecord {
  try {
    return decodeRecord(bytes);
  } catch (err) {
    throw new InvalidArgumentError('versions_record', `not a valid version set: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** How many different values the versions hold (a sibling-limit message names it: a Get shows each once). */
export function distinctValues(versions: readonly Version[]): number {
  return new Set(versions.map((v) => Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64'))).size;
}
