/**
 * Conversions between this package's types (numbers) and the generated protobuf types (bigint),
 * and the opaque causal context handed to clients.
 */
import { storage } from '@quorumkv/proto';
import { crc32 } from './crc32.js';
import type { Version } from './dotted-version.js';
import { type VectorClock, normalize } from './vector-clock.js';

/** Why a client-supplied context was refused. */
export type MalformedContextReason =
  | 'truncated'
  | 'bad-header'
  | 'bad-checksum'
  | 'bad-payload'
  | 'counter-out-of-range';

/** A causal context from a client that is not one this package encoded (or was corrupted). */
export class MalformedContextError extends Error {
  override readonly name = 'MalformedContextError';
  /** Which check failed. */
  readonly reason: MalformedContextReason;

  constructor(reason: MalformedContextReason, options?: { cause?: unknown }) {
    super(`malformed causal context: ${reason}`, options);
    this.reason = reason;
  }
}

/** A stored or replicated version that cannot be represented (missing dot, counter past 2^53). */
export class MalformedVersionError extends Error {
  override readonly name = 'MalformedVersionError';
  /** Which field is wrong. */
  readonly field: string;

  constructor(field: string) {
    super(`malformed version: ${field}`);
    this.field = field;
  }
}

/** First bytes of every encoded context: 'Q' and the format version. */
const HEADER = [0x51, 0x01] as const;
const CRC_BYTES = 4;

/** A uint64 from the wire as a safe integer, or undefined when it does not fit. */
function toSafeNumber(v: bigint): number | undefined {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

function mustBeSafe(v: bigint, field: string): number {
  const n = toSafeNumber(v);
  if (n === undefined) throw new MalformedVersionError(field);
  return n;
}

/** A vector clock as protobuf entries. */
export function clockToProto(c: VectorClock): storage.ClockEntry[] {
  return c.map((e) => ({
    node: e.node,
    counter: BigInt(e.counter),
    timestampMs: BigInt(Math.max(0, Math.trunc(e.timestampMs))),
  }));
}

/** Protobuf entries as a canonical vector clock. Throws MalformedVersionError past 2^53. */
export function clockFromProto(p: readonly storage.ClockEntry[]): VectorClock {
  return normalize(
    p.map((e) => ({
      node: e.node,
      counter: mustBeSafe(e.counter, 'clock.counter'),
      timestampMs: mustBeSafe(e.timestampMs, 'clock.timestampMs'),
    })),
  );
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A version as its protobuf message (the value bytes are shared, not copied). */
export function versionToProto(v: Version): storage.Version {
  return {
    dot: { node: v.dot.node, counter: BigInt(v.dot.counter) },
    context: clockToProto(v.context),
    value: asBuffer(v.value),
    tombstone: v.tombstone,
    writtenAtMs: BigInt(Math.max(0, Math.trunc(v.writtenAtMs))),
  };
}

/** A protobuf version as a Version. Throws MalformedVersionError on a missing dot or huge counter. */
export function versionFromProto(p: storage.Version): Version {
  if (p.dot === undefined || p.dot.node === '') throw new MalformedVersionError('dot');
  const counter = mustBeSafe(p.dot.counter, 'dot.counter');
  if (counter === 0) throw new MalformedVersionError('dot.counter');
  return {
    dot: { node: p.dot.node, counter },
    context: clockFromProto(p.context),
    value: p.value,
    tombstone: p.tombstone,
    writtenAtMs: mustBeSafe(p.writtenAtMs, 'writtenAtMs'),
  };
}

/**
 * The opaque context a client gets from a Get and passes back on Put/Delete:
 * 2-byte header (0x51, 0x01) + `storage.CausalContext` bytes + CRC-32 (big-endian) of the rest.
 * The empty clock encodes as empty bytes (a blind write sends nothing).
 */
export function encodeContext(c: VectorClock): Buffer {
  if (c.length === 0) return Buffer.alloc(0);
  const payload = storage.CausalContext.encode({ entries: clockToProto(normalize(c)) }).finish();
  const out = Buffer.allocUnsafe(HEADER.length + payload.length + CRC_BYTES);
  out[0] = HEADER[0];
  out[1] = HEADER[1];
  out.set(payload, HEADER.length);
  const body = out.subarray(0, HEADER.length + payload.length);
  out.writeUInt32BE(crc32(body), HEADER.length + payload.length);
  return out;
}

/**
 * Decodes a client context. Empty input is the empty clock; anything else must carry the header
 * and a matching checksum, so random or truncated bytes are refused rather than read as a
 * context that could supersede versions the client never saw.
 */
export function decodeContext(bytes: Uint8Array): VectorClock {
  if (bytes.length === 0) return [];
  if (bytes.length < HEADER.length + CRC_BYTES) throw new MalformedContextError('truncated');
  if (bytes[0] !== HEADER[0] || bytes[1] !== HEADER[1]) throw new MalformedContextError('bad-header');
  const buf = asBuffer(bytes);
  const end = buf.length - CRC_BYTES;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32BE(end)) {
    throw new MalformedContextError('bad-checksum');
  }
  let decoded: storage.CausalContext;
  try {
    decoded = storage.CausalContext.decode(buf.subarray(HEADER.length, end));
  } catch (cause) {
    throw new MalformedContextError('bad-payload', { cause });
  }
  try {
    return clockFromProto(decoded.entries);
  } catch (cause) {
    if (cause instanceof MalformedVersionError) {
      throw new MalformedContextError('counter-out-of-range', { cause });
    }
    throw cause;
  }
}
