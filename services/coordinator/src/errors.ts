import { status } from '@grpc/grpc-js';
import type { storage } from '@quorumkv/proto';
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
  override readonly name = 'ReplicaOpError';
  constructor(
    node: string,
    readonly code: storage.ReplicaError_Code,
    readonly codeName: string,
    readonly detail: string,
  ) {
    super(node, `${codeName}: ${detail}`);
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
