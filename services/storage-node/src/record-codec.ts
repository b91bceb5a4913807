/**
 * The on-disk layout. Every LevelDB key starts with one byte naming the record kind, so other
 * kinds (hints, Merkle summaries, range markers) can live in the same database later:
 *
 * - `d` + user key → `storage.v1.VersionSet` bytes: every version (siblings and tombstones).
 * - `m` + name     → node metadata (`node-id`: UTF-8; `dot-counter`: 8-byte big-endian uint).
 */
import { storage } from '@quorumkv/proto';
import { pooledSerializer } from '@quorumkv/service-kit';
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

/** The LevelDB key of a metadata record. */
export function metaKey(name: 'node-id' | 'dot-counter'): Buffer {
  return Buffer.concat([Buffer.from([META_PREFIX]), Buffer.from(name, 'utf8')]);
}

/** A version set as the stored record. */
export function encodeVersionSet(versions: readonly Version[]): Buffer {
  return encodeStoredSet(versions.map(versionToProto));
}

/** Encodes records with one reused writer: a record is encoded on every replica write. */
const encodeSet = pooledSerializer(storage.VersionSet, { versions: [] });

/** A version set already converted to protobuf messages as the stored record. */
export function encodeStoredSet(versions: storage.Version[]): Buffer {
  return encodeSet({ versions });
}

/** A stored record as versions. Throws (MalformedVersionError or a decode error) on corruption. */
export function decodeVersionSet(record: Uint8Array): Version[] {
  return storage.VersionSet.decode(record).versions.map(versionFromProto);
}

/** A counter as its 8-byte record. */
export function encodeCounter(n: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return out;
}

/** An 8-byte counter record as a number (0 when absent or malformed). */
export function decodeCounter(record: Uint8Array | undefined): number {
  if (record === undefined || record.length !== 8) return 0;
  return Number(Buffer.from(record.buffer, record.byteOffset, record.byteLength).readBigUInt64BE());
}
