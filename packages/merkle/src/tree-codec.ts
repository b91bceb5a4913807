/**
 * The persisted form of a tree:
 *
 * | bytes | field |
 * |---|---|
 * | 4 | magic `QKVM` |
 * | 1 | format (1) |
 * | 1 | depth |
 * | 2 | zero |
 * | 8 | key count, big-endian |
 * | 8 × 2^depth | segment hashes, each high then low word, big-endian |
 * | 8 | checksum of everything before it (MurmurHash3, its own seed) |
 *
 * The root is not stored: it is recomputed from the segments on load.
 */
import { checksum } from './hashing.js';
import { TreeFormatError } from './errors.js';

const MAGIC = [0x51, 0x4b, 0x56, 0x4d] as const; // 'QKVM'
const FORMAT = 1;
const HEADER_BYTES = 16;
const CHECKSUM_BYTES = 8;

/** Serializes a tree's fields (see the file comment). */
export function encodeTreeBytes(depth: number, keyCount: number, segments: Uint32Array): Uint8Array {
  const body = HEADER_BYTES + segments.length * 4;
  const out = new Uint8Array(body + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, FORMAT);
  view.setUint8(5, depth);
  view.setBigUint64(8, BigInt(keyCount));
  for (let i = 0; i < segments.length; i++) view.setUint32(HEADER_BYTES + 4 * i, segments[i] as number);
  const [hi, lo] = checksum(out, body);
  view.setUint32(body, hi);
  view.setUint32(body + 4, lo);
  return out;
}

/** The fields of a serialized tree. @throws TreeFormatError naming the first check that failed. */
export function decodeTreeBytes(bytes: Uint8Array, maxDepth: number): { depth: number; keyCount: number; segments: Uint32Array } {
  if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) throw new TreeFormatError('truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw new TreeFormatError('bad-magic');
  if (view.getUint8(4) !== FORMAT) throw new TreeFormatError('unsupported-format');
  const depth = view.getUint8(5);
  if (depth > maxDepth) throw new TreeFormatError('bad-depth');
  const words = 2 * 2 ** depth;
  const body = HEADER_BYTES + 4 * words;
  if (bytes.length !== body + CHECKSUM_BYTES) throw new TreeFormatError(bytes.length < body + CHECKSUM_BYTES ? 'truncated' : 'bad-length');
  const [hi, lo] = checksum(bytes, body);
  if (view.getUint32(body) !== hi || view.getUint32(body + 4) !== lo) throw new TreeFormatError('bad-checksum');
  const keyCount = view.getBigUint64(8);
  // A count past 2^53, or non-zero padding, cannot come from this encoder.
  if (keyCount > BigInt(Number.MAX_SAFE_INTEGER) || view.getUint16(6) !== 0) throw new TreeFormatError('bad-header');
  const segments = new Uint32Array(words);
  for (let i = 0; i < words; i++) segments[i] = view.getUint32(HEADER_BYTES + 4 * i);
  return { depth, keyCount: Number(keyCount), segments };
}
