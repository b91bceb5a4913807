import { status } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { ServiceError } from '@quorumkv/service-kit';

/** Why one replica did not count towards a quorum, for the error message and the logs. */
export interface ReplicaFailure {
  readonly node: string;
  /** Short cause: `deadline`, `connection refused`, `stream broken`, `internal: …`. */
  readonly reason: string;
}

/**
 * Fewer replicas answered than the consistency level needs (UNAVAILABLE at the edge). The
 * message names the counts and each replica that failed, so an operator can tell a dead node
 * from a slow one without reading logs.
 */
export class QuorumNotReachedError extends ServiceError {
  override readonly name = 'QuorumNotReachedError';
  constructor(
    readonly needed: number,
    readonly answered: number,
    readonly asked: number,
    readonly failures: readonly ReplicaFailure[],
  ) {
    super(
      status.UNAVAILABLE,
      `quorum not reached: ${answered} of ${asked} replicas answered, ${needed} needed` +
        (failures.length > 0 ? ` (${failures.map((f) => `${f.node}: ${f.reason}`).join(', ')})` : ''),
    );
  }
}

/** Trailer of a write that missed W: on how many replicas it is stored (a decimal count). */
export const REPLICAS_STORED_TRAILER = 'x-quorumkv-replicas-stored';

/**
 * A Put or Delete that did not reach W acknowledgements (UNAVAILABLE at the edge). Unlike a read
 * that misses R, a write that fails may be stored: a replica minted it and others merged it
 * before the quorum was known to be out of reach, and nothing undoes that (there is no rollback
 * in a Dynamo-style store, and none is needed: the write is a version like any other). So the
 * message says precisely where it is stored, where it is not, and where it may be (a replica
 * that timed out or whose stream broke), that it may therefore be visible to reads, and whether
 * a retry is safe — which it is when the request carried a request id, since every replica
 * holding the write then answers the retry with it instead of storing it again.
 */
export class WriteNotAcknowledgedError extends ServiceError {
  override readonly name = 'WriteNotAcknowledgedError';
  constructor(
    /** W. */
    readonly needed: number,
    /** N: replicas the write was meant for. */
    readonly asked: number,
    /** Replicas that acknowledged storing it (the minting one first). */
    readonly storedOn: readonly string[],
    /** Replicas that answered without storing it, or were never sent it. */
    readonly notStored: readonly ReplicaFailure[],
    /** Replicas that may have stored it: no answer (timeout) or a stream that broke. */
    readonly unknown: readonly ReplicaFailure[],
    /** Whether the write carried a request id (retries of it are then de-duplicated). */
    readonly hasRequestId: boolean,
  ) {
    super(status.UNAVAILABLE, writeMessage(needed, asked, storedOn, notStored, unknown, hasRequestId), {
      [REPLICAS_STORED_TRAILER]: String(storedOn.length),
    });
  }
}

function writeMessage(
  needed: number,
  asked: number,
  storedOn: readonly string[],
  notStored: readonly ReplicaFailure[],
  unknown: readonly ReplicaFailure[],
  hasRequestId: boolean,
): string {
  const list = (fs: readonly ReplicaFailure[]): string => fs.map((f) => `${f.node} (${f.reason})`).join(', ');
  let m = `write not acknowledged by enough replicas: stored on ${storedOn.length} of ${asked} replicas`;
  if (storedOn.length > 0) m += ` (${storedOn.join(', ')})`;
  m += `, ${needed} needed`;
  if (notStored.length > 0) m += `; not stored on ${list(notStored)}`;
  if (unknown.length > 0) m += `; unknown on ${list(unknown)}, which may have stored it`;
  const maybeStored = storedOn.length > 0 || unknown.length > 0;
  if (!maybeStored) return `${m}. Nothing was stored; retrying is safe.`;
  m += '. The write may be visible to reads';
  return hasRequestId
    ? `${m}; retrying with the same request_id is safe: it is stored at most once.`
    : `${m}; it carried no request_id, so a retry may store it again (a sibling with the same value).`;
}

/**
 * A write or read that asked for primaries (`pw`/`pr`, Riak's PW/PR) got fewer of them than
 * asked, stand-ins not counted (UNAVAILABLE). The message names how many primaries answered.
 */
export class PrimariesNotReachedError extends ServiceError {
  override readonly name = 'PrimariesNotReachedError';
  constructor(
    /** pw or pr. */
    readonly needed: number,
    /** Primaries that acknowledged (answered). */
    readonly primaries: number,
    /** Where a write is stored (stand-ins marked); empty for a read. */
    readonly storedOn: readonly string[],
    readonly hasRequestId: boolean,
    field: 'pw' | 'pr' = 'pw',
  ) {
    super(
      status.UNAVAILABLE,
      `${field} not reached: ${primaries} of the key's primary replicas ${field === 'pw' ? 'acknowledged' : 'answered'}, ${field}=${needed} needed (stand-ins do not count toward ${field})` +
        (field === 'pw'
          ? `; the write is stored on ${storedOn.join(', ')} and may be visible to reads` +
            (hasRequestId ? '; retrying with the same request_id is safe' : '; it carried no request_id, so a retry may store it again')
          : ''),
      field === 'pw' ? { [REPLICAS_STORED_TRAILER]: String(storedOn.length) } : undefined,
    );
  }
}

/**
 * Whether a replica that failed a write request may have applied it: not when it was never sent
 * (no stream) or when the node answered with an error (it refuses before storing); possibly when
 * no answer came (a timeout) or the stream broke on the way.
 */
export function mayHaveStored(err: unknown): boolean {
  return !(err instanceof ReplicaUnavailableError || err instanceof ReplicaOpError);
}

/**
 * The minting replica refused a write because the key already holds too many siblings
 * (FAILED_PRECONDITION): writers keep racing without a context. Nothing was stored.
 */
export class SiblingLimitError extends ServiceError {
  override readonly name = 'SiblingLimitError';
  constructor(
    readonly node: string,
    readonly detail: string,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `too many siblings for this key (${detail}); read it, resolve the siblings and write back ` +
        'with the context from that read to supersede them',
    );
  }
}

/**
 * One replica request did not produce an answer. Internal to the coordinator: the quorum logic
 * turns these into {@link ReplicaFailure}s and, at most, one {@link QuorumNotReachedError}.
 */
export class ReplicaRequestError extends Error {
  override readonly name: string = 'ReplicaRequestError';
  constructor(
    readonly node: string,
    /** Short cause shown in quorum errors. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`replica ${node}: ${reason}`, options);
  }
}

/** No stream to the node is open (it is down or still connecting); the request was not sent. */
export class ReplicaUnavailableError extends ReplicaRequestError {
  override readonly name = 'ReplicaUnavailableError';
}

/** The stream broke while the request was in flight; the replica may or may not have applied it. */
export class ReplicaStreamBrokenError extends ReplicaRequestError {
  override readonly name = 'ReplicaStreamBrokenError';
}

/**
 * Too many requests are already waiting on the node's stream (it does not keep up): refused at
 * once, nothing sent. Retryable.
 */
export class ReplicaOverloadedError extends ReplicaRequestError {
  override readonly name = 'ReplicaOverloadedError';
}

/** No answer within the request's timeout. */
export class ReplicaTimeoutError extends ReplicaRequestError {
  override readonly name = 'ReplicaTimeoutError';
  constructor(node: string) {
    super(node, 'deadline');
  }
}

/** The node answered with a ReplicaError. `code` is the storage protocol's error code. */
export class ReplicaOpError extends ReplicaRequestError {
  override readonly name: string = 'ReplicaOpError';
  constructor(
    node: string,
    readonly code: storage.ReplicaError_Code,
    readonly codeName: string,
    readonly detail: string,
  ) {
    super(node, `${codeName}: ${detail}`);
  }
}

/**
 * The node refused a request routed by an older ring epoch than it knows (epoch fencing); it
 * did nothing. The coordinator catches up with the ring and routes the operation again.
 */
export class StaleRingEpochError extends ReplicaOpError {
  override readonly name = 'StaleRingEpochError';
  constructor(
    node: string,
    /** The ring epoch the node knows. */
    readonly knownEpoch: number,
    detail: string,
  ) {
    super(node, storage.ReplicaError_Code.CODE_STALE_EPOCH, 'CODE_STALE_EPOCH', detail);
  }
}

/** The error a node's `ReplicaError` answer becomes. */
export function replicaErrorFrom(node: string, e: storage.ReplicaError): ReplicaOpError {
  if (e.code === storage.ReplicaError_Code.CODE_STALE_EPOCH) return new StaleRingEpochError(node, e.ringEpoch, e.message);
  return new ReplicaOpError(node, e.code, storage.replicaError_CodeToJSON(e.code), e.message);
}

/**
 * Storage nodes know a newer ring epoch than this coordinator, and its view did not catch up in
 * time (UNAVAILABLE: retry; if it lasts, the coordinator cannot reach the membership service).
 */
export class RingBehindError extends ServiceError {
  override readonly name = 'RingBehindError';
  constructor(
    readonly known: number,
    readonly needed: number,
    readonly waitedMs: number,
  ) {
    super(
      status.UNAVAILABLE,
      `the storage nodes are at ring epoch ${needed} but this coordinator is at ${known} and did not catch up within ${waitedMs} ms ` +
        '(is the membership service reachable from it?); retry',
    );
  }
}

/** The ring has no storage node yet (UNAVAILABLE): nothing can be read or written. */
export class EmptyRingError extends ServiceError {
  override readonly name = 'EmptyRingError';
  constructor(readonly epoch: number) {
    super(
      status.UNAVAILABLE,
      epoch === 0
        ? 'no cluster view yet: this coordinator has not heard from the membership service (check --seeds)'
        : `the ring has no storage node (ring epoch ${epoch}): start storage nodes with --seeds pointing at the membership service`,
    );
  }
}

/** The node answered with a result of the wrong kind (a protocol bug on one side). */
export class ReplicaProtocolError extends ReplicaRequestError {
  override readonly name = 'ReplicaProtocolError';
}

/** The short cause of a replica failure, for quorum messages. */
export function failureReason(err: unknown): string {
  if (err instanceof ReplicaRequestError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
