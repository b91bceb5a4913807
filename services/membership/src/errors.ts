/**
 * Conditions of the membership service, as classes with readonly context. Each extends
 * service-kit's `ServiceError` with the gRPC status an operator's command gets; the message says
 * what to do next.
 */
import { status } from '@grpc/grpc-js';
import { ServiceError } from '@quorumkv/service-kit';

/** No storage node with this id is in the ring (or it has LEFT). */
export class UnknownNodeError extends ServiceError {
  override readonly name = 'UnknownNodeError';
  constructor(
    readonly nodeId: string,
    known: readonly string[],
  ) {
    super(status.NOT_FOUND, `no storage node "${nodeId}" in the ring (nodes: ${known.length === 0 ? 'none' : known.join(', ')})`);
  }
}

/** The id is taken by a node at another address, or the address by another id. */
export class DuplicateNodeError extends ServiceError {
  override readonly name = 'DuplicateNodeError';
  constructor(
    readonly nodeId: string,
    readonly address: string,
    detail: string,
  ) {
    super(status.ALREADY_EXISTS, detail);
  }
}

/** Another change is still moving data; one change runs at a time (see the README). */
export class ChangePendingError extends ServiceError {
  override readonly name = 'ChangePendingError';
  constructor(
    readonly pending: readonly { id: string; state: string }[],
    what: string,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `cannot ${what} while ${pending.map((p) => `${p.id} is ${p.state}`).join(', ')}: one ring change at a time — ` +
        'watch `qkv cluster transfers` and retry when it is done (a dead node can still be taken out with `qkv cluster remove`)',
    );
  }
}

/** `remove` of a node failure detection still sees: it must be decommissioned with leave. */
export class LiveNodeRemoveError extends ServiceError {
  override readonly name = 'LiveNodeRemoveError';
  constructor(
    readonly nodeId: string,
    readonly liveness: string,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `${nodeId} is ${liveness}: \`qkv cluster remove\` is for a node that is dead for good (its data is rebuilt from the other replicas); ` +
        `to take a running node out, decommission it with \`qkv cluster leave ${nodeId}\` (its data streams to the new owners first)`,
    );
  }
}

/** `leave` of a node that is down: nothing could stream its data. */
export class DownNodeLeaveError extends ServiceError {
  override readonly name = 'DownNodeLeaveError';
  constructor(
    readonly nodeId: string,
    readonly liveness: string,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `${nodeId} is ${liveness}: a leave streams its data from it. Start it again and retry, or, if it is gone for good, ` +
        `\`qkv cluster remove ${nodeId}\` rebuilds its ranges from the other replicas`,
    );
  }
}

/** The change would leave fewer storage nodes than it may. */
export class TooFewNodesError extends ServiceError {
  override readonly name = 'TooFewNodesError';
  constructor(
    readonly nodeId: string,
    readonly remaining: number,
    readonly needed: number,
    why: string,
  ) {
    super(status.FAILED_PRECONDITION, `refusing to take ${nodeId} out: ${remaining} storage node(s) would remain, ${why}`);
  }
}

/** No majority of membership replicas answered: nothing was committed. */
export class NoQuorumError extends ServiceError {
  override readonly name = 'NoQuorumError';
  constructor(
    readonly replicas: number,
    readonly needed: number,
    detail: string,
  ) {
    super(status.UNAVAILABLE, `no majority of membership replicas (${needed} of ${replicas}) agreed: ${detail}; nothing was committed, retry`);
  }
}

/** This replica is not the claimant and could not reach the one that is. */
export class ClaimantUnreachableError extends ServiceError {
  override readonly name = 'ClaimantUnreachableError';
  constructor(
    readonly claimant: string,
    cause: string,
  ) {
    super(status.UNAVAILABLE, `the claimant membership replica ${claimant} did not answer (${cause}); retry`);
  }
}
