/**
 * Why a tree call is refused, as ServiceErrors with the gRPC status each maps to. The
 * anti-entropy worker branches on the code: FAILED_PRECONDITION means "plan again on the current
 * ring", UNAVAILABLE "try this arc later".
 */
import { status } from '@grpc/grpc-js';
import { ServiceError } from '@quorumkv/service-kit';

/** An arc as the errors name it. */
function arcText(start: number, end: number): string {
  return `(${start}, ${end}]`;
}

/** The node has not learned the ring yet, so it keeps no trees. */
export class NoRingError extends ServiceError {
  override readonly name = 'NoRingError';
  constructor() {
    super(status.FAILED_PRECONDITION, 'this storage node has not received the ring yet: it keeps no trees until it knows its ranges');
  }
}

/** The caller planned on another ring epoch than the node's. */
export class RingEpochMismatchError extends ServiceError {
  override readonly name = 'RingEpochMismatchError';
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(
      status.FAILED_PRECONDITION,
      `ring_epoch ${requested} is not this node's ring epoch ${current}: arcs differ between epochs; plan the exchange again`,
      { 'x-quorumkv-ring-epoch': String(current) },
    );
  }
}

/** The node holds no tree for that arc on its ring. */
export class ArcNotHeldError extends ServiceError {
  override readonly name = 'ArcNotHeldError';
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super(status.FAILED_PRECONDITION, `arc ${arcText(start, end)} is not an arc this node replicates on its ring`);
  }
}

/** The arc's tree is being built (start-up, a ring change, a deeper tree): try again later. */
export class ArcBuildingError extends ServiceError {
  override readonly name = 'ArcBuildingError';
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super(status.UNAVAILABLE, `the tree of arc ${arcText(start, end)} is being built; try again later`);
  }
}
