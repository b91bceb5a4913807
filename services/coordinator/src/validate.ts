import { kv } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { MalformedContextError, type ContextCodec, type VectorClock } from '@quorumkv/vclock';
import { quorumSize } from './quorum.js';

/** Size limits a request is checked against before anything is sent to a replica. */
export interface RequestLimits {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  /** N, the replication factor. */
  readonly replicationFactor: number;
}

/** @throws InvalidArgumentError when the key is empty or longer than the limit. */
export function checkKey(key: Uint8Array, limits: RequestLimits): void {
  if (key.length === 0) throw new InvalidArgumentError('key', 'must not be empty');
  if (key.length > limits.maxKeyBytes) {
    throw new InvalidArgumentError('key', `is ${key.length} bytes; the limit is ${limits.maxKeyBytes} bytes (--max-key-bytes)`);
  }
}

/** @throws InvalidArgumentError when the value is longer than the limit. */
export function checkValue(value: Uint8Array, limits: RequestLimits): void {
  if (value.length > limits.maxValueBytes) {
    throw new InvalidArgumentError('value', `is ${value.length} bytes; the limit is ${limits.maxValueBytes} bytes (--max-value-bytes)`);
  }
}

/**
 * How many replicas must answer: an explicit count (`r`/`w` > 0) overrides the level; an
 * unspecified level means QUORUM.
 * @param field `r` or `w`, named in the error.
 * @throws InvalidArgumentError when the count exceeds N or the level is unknown.
 */
export function replicasNeeded(level: kv.ConsistencyLevel, explicit: number, field: 'r' | 'w', limits: RequestLimits): number {
  const n = limits.replicationFactor;
  if (explicit > 0) {
    if (explicit > n) {
      throw new InvalidArgumentError(field, `is ${explicit} but the replication factor N is ${n}; ${field} must be at most N`);
    }
    return explicit;
  }
  switch (level) {
    case kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED:
    case kv.ConsistencyLevel.CONSISTENCY_LEVEL_QUORUM:
      return quorumSize(n);
    case kv.ConsistencyLevel.CONSISTENCY_LEVEL_ONE:
      return 1;
    case kv.ConsistencyLevel.CONSISTENCY_LEVEL_ALL:
      return n;
    default:
      throw new InvalidArgumentError('consistency', `unknown consistency level ${level as number}; use ONE, QUORUM or ALL`);
  }
}

/**
 * `pw`/`pr`: how many of the acknowledgements (answers) must come from the key's own replicas,
 * not stand-ins. 0 = no such demand.
 * @throws InvalidArgumentError when it exceeds N.
 */
export function primariesNeeded(explicit: number, field: 'pr' | 'pw', limits: RequestLimits): number {
  const n = limits.replicationFactor;
  if (explicit > n) throw new InvalidArgumentError(field, `is ${explicit} but the replication factor N is ${n}; ${field} must be at most N`);
  return explicit;
}

/** Longest request id accepted (the SDK sends 16 random bytes). */
export const MAX_REQUEST_ID_BYTES = 64;

/** @throws InvalidArgumentError naming `request_id` when it is longer than the limit. */
export function checkRequestId(requestId: Uint8Array): void {
  if (requestId.length > MAX_REQUEST_ID_BYTES) {
    throw new InvalidArgumentError('request_id', `is ${requestId.length} bytes; the limit is ${MAX_REQUEST_ID_BYTES} bytes (send 16 random bytes, the same on every retry of one write)`);
  }
}

/** What the client should do about each refused context, in the words of the error message. */
const CONTEXT_ADVICE: Readonly<Record<MalformedContextError['reason'], string>> = {
  truncated: 'it is not a context this cluster issued (truncated); pass the context bytes from a Get or Put unchanged',
  'bad-header': 'it is not a context this cluster issued; pass the context bytes from a Get or Put unchanged',
  unsigned:
    'it is in the unsigned format of an older quorumkv, which is no longer accepted because anyone could forge it; read the key again (Get) and pass the new context',
  'unknown-key':
    'it is signed with a key this coordinator no longer accepts (rotated out) or another cluster\'s key; read the key again (Get) and pass the new context',
  'bad-signature':
    'its signature does not match: it was altered, or it was issued for another key; pass the context from a Get or Put of this same key, unchanged',
  'bad-payload': 'it could not be decoded; read the key again (Get) and pass the new context',
  'counter-out-of-range': 'it names a counter out of range; read the key again (Get) and pass the new context',
};

/**
 * Checks and decodes the opaque causal context a client passed back for `key` (empty means
 * "none"). Only contexts a coordinator of this cluster signed for this very key pass.
 * @throws InvalidArgumentError naming `context` and what to do, when they do not.
 */
export function parseContext(bytes: Uint8Array, key: Uint8Array, contexts: ContextCodec): VectorClock {
  try {
    return contexts.decode(bytes, key);
  } catch (err) {
    if (err instanceof MalformedContextError) {
      const keyId = err.keyId === undefined ? '' : ` (key id "${err.keyId}")`;
      throw new InvalidArgumentError('context', `refused${keyId}: ${CONTEXT_ADVICE[err.reason]}`);
    }
    throw err;
  }
}

/** A checked Get: the key and R. */
export interface ValidGet {
  readonly key: Buffer;
  readonly r: number;
  /** Answers that must come from primaries (0: any). */
  readonly pr: number;
}

/** A checked Put or Delete: key, value (empty for a delete), decoded context, W and request id. */
export interface ValidWrite {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly context: VectorClock;
  readonly w: number;
  /** Acknowledgements that must come from primaries (0: stand-ins count too). */
  readonly pw: number;
  readonly tombstone: boolean;
  /** The client's id of this logical write; empty when it sent none. */
  readonly requestId: Buffer;
}

/** Checks a Get. Throws before any replica is contacted. */
export function validateGet(req: kv.GetRequest, limits: RequestLimits): ValidGet {
  checkKey(req.key, limits);
  return { key: req.key, r: replicasNeeded(req.consistency, req.r, 'r', limits), pr: primariesNeeded(req.pr, 'pr', limits) };
}

/** Checks a Put. Throws before any replica is contacted. */
export function validatePut(req: kv.PutRequest, limits: RequestLimits, contexts: ContextCodec): ValidWrite {
  checkKey(req.key, limits);
  checkValue(req.value, limits);
  checkRequestId(req.requestId);
  const w = replicasNeeded(req.consistency, req.w, 'w', limits);
  const pw = primariesNeeded(req.pw, 'pw', limits);
  return { key: req.key, value: req.value, context: parseContext(req.context, req.key, contexts), w, pw, tombstone: false, requestId: req.requestId };
}

const EMPTY = Buffer.alloc(0);

/** Checks a Delete (a tombstone write). Throws before any replica is contacted. */
export function validateDelete(req: kv.DeleteRequest, limits: RequestLimits, contexts: ContextCodec): ValidWrite {
  checkKey(req.key, limits);
  checkRequestId(req.requestId);
  const w = replicasNeeded(req.consistency, req.w, 'w', limits);
  const pw = primariesNeeded(req.pw, 'pw', limits);
  return { key: req.key, value: EMPTY, context: parseContext(req.context, req.key, contexts), w, pw, tombstone: true, requestId: req.requestId };
}
