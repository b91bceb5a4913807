import { kv } from '@quorumkv/proto';
import { InvalidArgumentError } from './errors.js';

/**
 * A named consistency level. With N replicas: `one` waits for 1, `quorum` for floor(N/2)+1,
 * `all` for N. When W + R > N a read sees the latest acknowledged write.
 */
export type ConsistencyName = 'one' | 'quorum' | 'all';

/** Every {@link ConsistencyName}, in order of strength. */
export const CONSISTENCY_NAMES: readonly ConsistencyName[] = ['one', 'quorum', 'all'];

/** Options every call takes. */
export interface CallOptions {
  /**
   * Overall deadline of this call in ms, retries and backoff included.
   * @default the client's `deadlineMs`
   */
  deadlineMs?: number;
}

/** Options of {@link QuorumKvClient.get}. */
export interface GetOptions extends CallOptions {
  /** @default 'quorum' */
  consistency?: ConsistencyName;
  /** Replicas that must answer; overrides `consistency`. At most N (the server checks). */
  r?: number;
  /**
   * Answers that must come from the key's own replicas (primaries), not stand-ins (Riak's PR);
   * fails UNAVAILABLE when too few primaries answer. At most N (the server checks).
   */
  pr?: number;
}

/** Options of {@link QuorumKvClient.put} and {@link QuorumKvClient.delete}. */
export interface WriteOptions extends CallOptions {
  /**
   * The causal context of the Get (or Put) this write follows. With it, the write supersedes
   * exactly the versions that context saw; without it, a write to an existing key adds a
   * sibling rather than overwriting.
   */
  context?: Uint8Array;
  /** @default 'quorum' */
  consistency?: ConsistencyName;
  /** Replicas that must acknowledge; overrides `consistency`. At most N (the server checks). */
  w?: number;
  /**
   * Acknowledgements that must come from the key's own replicas (primaries), not stand-ins
   * (Riak's PW); the write fails UNAVAILABLE rather than count a stand-in. At most N.
   */
  pw?: number;
  /**
   * The idempotency key of this logical write, 1 to 64 bytes. By default the client draws 16
   * random bytes per call and sends them with every retry of that call, so a retry never stores
   * the write twice. Pass your own (e.g. from {@link newRequestId}, kept with the job) when you
   * retry a write yourself across calls, so those retries are recognised too. The storage nodes
   * remember a key's request ids for 10 minutes (their setting) and its 16 newest.
   */
  requestId?: Uint8Array;
}

const LEVELS: Readonly<Record<ConsistencyName, kv.ConsistencyLevel>> = {
  one: kv.ConsistencyLevel.CONSISTENCY_LEVEL_ONE,
  quorum: kv.ConsistencyLevel.CONSISTENCY_LEVEL_QUORUM,
  all: kv.ConsistencyLevel.CONSISTENCY_LEVEL_ALL,
};

/** The wire level of a consistency name; unset means the server default (QUORUM). */
export function consistencyLevel(name: ConsistencyName | undefined): kv.ConsistencyLevel {
  if (name === undefined) return kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED;
  const level = LEVELS[name] as kv.ConsistencyLevel | undefined;
  if (level === undefined) {
    throw new InvalidArgumentError(`consistency: must be one of ${CONSISTENCY_NAMES.join(', ')}, got ${String(name)}`);
  }
  return level;
}

/**
 * A replica count (r or w) as the wire carries it: 0 when unset, which lets `consistency` decide.
 * A count the caller did set must be a positive 32-bit integer, since 0 would silently mean
 * "use the consistency level" instead of what was asked.
 */
export function replicaCount(field: 'r' | 'w' | 'pr' | 'pw', value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`${field}: must be a positive integer, got ${value}`);
  }
  return value;
}

/** Longest request id the coordinator accepts. */
export const MAX_REQUEST_ID_BYTES = 64;

/** A caller's request id, checked; a fresh one from `draw` when unset. */
export function requestIdOf(value: Uint8Array | undefined, draw: () => Uint8Array): Buffer {
  if (value === undefined) return Buffer.from(draw());
  if (!(value instanceof Uint8Array) || value.length < 1 || value.length > MAX_REQUEST_ID_BYTES) {
    throw new InvalidArgumentError(`requestId: must be 1 to ${MAX_REQUEST_ID_BYTES} bytes, got ${value instanceof Uint8Array ? `${value.length} bytes` : String(value)}`);
  }
  return Buffer.from(value);
}

/** A per-call deadline, checked; the client default when unset. */
export function callDeadlineMs(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`deadlineMs: must be a positive number, got ${value}`);
  }
  return value;
}
