/**
 * The opaque causal context handed to clients, signed so that a client can only pass back a
 * context a coordinator of this cluster issued, for the key it was issued for.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { storage } from '@quorumkv/proto';
import { MalformedVersionError, clockFromProto, clockToProto } from './codec.js';
import type { ContextKey, ContextKeySet } from './context-keys.js';
import { type VectorClock, normalize } from './vector-clock.js';

/** Why a client-supplied context was refused. */
export type MalformedContextReason =
  /** Shorter than any context we issue. */
  | 'truncated'
  /** Not a quorumkv context at all. */
  | 'bad-header'
  /** The unsigned (CRC-32) format of earlier versions: anyone could have forged it. */
  | 'unsigned'
  /** Signed with a key id this coordinator does not accept (rotated out, or another cluster). */
  | 'unknown-key'
  /** The signature does not match: the bytes were altered, or the context is another key's. */
  | 'bad-signature'
  /** Signed by us but not decodable (a bug on our side, never a client's doing). */
  | 'bad-payload'
  /** Signed by us but naming a counter past 2^53 - 1 (likewise). */
  | 'counter-out-of-range';

/** A causal context from a client that is not one this cluster issued for this key. */
export class MalformedContextError extends Error {
  override readonly name = 'MalformedContextError';
  constructor(
    /** Which check failed. */
    readonly reason: MalformedContextReason,
    /** The key id the context named, when it got that far. */
    readonly keyId?: string,
    options?: { cause?: unknown },
  ) {
    super(`malformed causal context: ${reason}${keyId === undefined ? '' : ` (key id "${keyId}")`}`, options);
  }
}

const MAGIC = 0x51; // 'Q'
const FORMAT_UNSIGNED = 0x01;
const FORMAT_SIGNED = 0x02;
/** Bytes of HMAC-SHA-256 kept: 128 bits, so a forgery needs ~2^128 attempts, each one a call. */
export const CONTEXT_TAG_BYTES = 16;

/**
 * Encodes and checks client contexts with a cluster secret.
 *
 * Format (version 2): `0x51 0x02`, the key id's length (1 byte) and ASCII bytes, the
 * `storage.CausalContext` protobuf, then the first 16 bytes of HMAC-SHA-256 under that key of
 * everything before the tag, preceded by the user key's length (4 bytes, big-endian) and bytes.
 * The empty clock encodes as empty bytes (a blind write sends nothing).
 *
 * Why a keyed MAC: a context decides which versions a write supersedes, and its counters feed the
 * minting node's; with only a checksum anyone could claim any counter and supersede versions they
 * never read. Why the user key is signed too: a node's counters are node-wide, so a context read
 * from one key covers dots of other keys minted before it; passed to another key's write it would
 * drop versions no client saw there. Why a key id: coordinators sign with the current key and
 * accept every key of the set, so a secret can be rotated without invalidating contexts that
 * clients hold (see `context-keys.ts`).
 */
export class ContextCodec {
  private readonly current: ContextKey;
  private readonly byId: ReadonlyMap<string, Uint8Array>;

  constructor(keys: ContextKeySet) {
    const current = keys.keys.find((k) => k.id === keys.currentId);
    if (current === undefined) throw new RangeError(`current context key "${keys.currentId}" is not in the key set`);
    this.current = current;
    this.byId = new Map(keys.keys.map((k) => [k.id, k.secret]));
  }

  /** The id of the key new contexts are signed with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  /** The context of `clock` for `key`, signed with the current key. */
  encode(clock: VectorClock, key: Uint8Array): Buffer {
    if (clock.length === 0) return Buffer.alloc(0);
    const payload = storage.CausalContext.encode({ entries: clockToProto(normalize(clock)) }).finish();
    const id = Buffer.from(this.current.id, 'ascii');
    const body = Buffer.allocUnsafe(3 + id.length + payload.length + CONTEXT_TAG_BYTES);
    body[0] = MAGIC;
    body[1] = FORMAT_SIGNED;
    body[2] = id.length;
    id.copy(body, 3);
    body.set(payload, 3 + id.length);
    const signedEnd = body.length - CONTEXT_TAG_BYTES;
    tag(this.current.secret, key, body.subarray(0, signedEnd)).copy(body, signedEnd);
    return body;
  }

  /**
   * The clock of a context a client passed back for `key`. Empty input is the empty clock;
   * anything else must be a context signed by a key of the set for this very key, so random,
   * altered, forged or misplaced bytes are refused rather than read as a context that could
   * supersede versions the client never saw.
   * @throws MalformedContextError naming the check that failed.
   */
  decode(bytes: Uint8Array, key: Uint8Array): VectorClock {
    if (bytes.length === 0) return [];
    if (bytes.length < 2) throw new MalformedContextError('truncated');
    if (bytes[0] !== MAGIC) throw new MalformedContextError('bad-header');
    if (bytes[1] === FORMAT_UNSIGNED) throw new MalformedContextError('unsigned');
    if (bytes[1] !== FORMAT_SIGNED) throw new MalformedContextError('bad-header');
    const idLength = bytes[2] ?? 0;
    const payloadStart = 3 + idLength;
    if (idLength === 0 || bytes.length < payloadStart + CONTEXT_TAG_BYTES) throw new MalformedContextError('truncated');
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const keyId = buf.toString('latin1', 3, payloadStart);
    const secret = this.byId.get(keyId);
    if (secret === undefined) throw new MalformedContextError('unknown-key', keyId);
    const signedEnd = buf.length - CONTEXT_TAG_BYTES;
    if (!timingSafeEqual(tag(secret, key, buf.subarray(0, signedEnd)), buf.subarray(signedEnd))) {
      throw new MalformedContextError('bad-signature', keyId);
    }
    let decoded: storage.CausalContext;
    try {
      decoded = storage.CausalContext.decode(buf.subarray(payloadStart, signedEnd));
    } catch (cause) {
      throw new MalformedContextError('bad-payload', keyId, { cause });
    }
    try {
      return clockFromProto(decoded.entries);
    } catch (cause) {
      if (cause instanceof MalformedVersionError) throw new MalformedContextError('counter-out-of-range', keyId, { cause });
      throw cause;
    }
  }
}

/** The truncated HMAC-SHA-256 of `signed`, bound to the user key (length-prefixed, so unambiguous). */
function tag(secret: Uint8Array, key: Uint8Array, signed: Uint8Array): Buffer {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(key.length);
  return createHmac('sha256', secret).update(length).update(key).update(signed).digest().subarray(0, CONTEXT_TAG_BYTES);
}
