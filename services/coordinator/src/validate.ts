import { kv } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { MalformedContextError, decodeContext, type VectorClock } from '@quorumkv/vclock';
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
 * Decodes the opaque causal context a client passed back (empty means "none").
 * @throws InvalidArgumentError naming `context` when the bytes are not a context we issued.
 */
export function parseContext(bytes: Uint8Array): VectorClock {
  try {
    return decodeContext(bytes);
  } catch (err) {
    if (err instanceof MalformedContextError) {
      throw new InvalidArgumentError('context', `malformed causal context (${err.reason}); pass the context bytes from a Get or Put unchanged`);
    }
    throw err;
  }
}

/** A checked Get: the key and R. */
export interface ValidGet {
  readonly key: Buffer;
  readonly r: number;
}

/** A checked Put or Delete: key, value (empty for a delete), decoded context and W. */
export interface ValidWrite {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly context: VectorClock;
  readonly w: number;
  readonly tombstone: boolean;
}

/** Checks a Get. Throws before any replica is contacted. */
export function validateGet(req: kv.GetRequest, limits: RequestLimits): ValidGet {
  checkKey(req.key, limits);
  return { key: req.key, r: replicasNeeded(req.consistency, req.r, 'r', limits) };
}

/** Checks a Put. Throws before any replica is contacted. */
export function validatePut(req: kv.PutRequest, limits: RequestLimits): ValidWrite {
  checkKey(req.key, limits);
  checkValue(req.value, limits);
  const w = replicasNeeded(req.consistency, req.w, 'w', limits);
  return { key: req.key, value: req.value, context: parseContext(req.context), w, tombstone: false };
}

const EMPTY = Buffer.alloc(0);

/** Checks a Delete (a tombstone write). Throws before any replica is contacted. */
export function validateDelete(req: kv.DeleteRequest, limits: RequestLimits): ValidWrite {
  checkKey(req.key, limits);
  const w = replicasNeeded(req.consistency, req.w, 'w', limits);
  return { key: req.key, value: EMPTY, context: parseContext(req.context), w, tombstone: true };
}
