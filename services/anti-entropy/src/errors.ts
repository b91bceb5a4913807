/**
 * Conditions of the anti-entropy worker, and how it reads a storage node's refusals. Decisions
 * branch on gRPC codes and classes, never on message text.
 */
import { status } from '@grpc/grpc-js';
import { ServiceError } from '@quorumkv/service-kit';

/** What a failed call to a storage node means for the exchange. */
export type FailureKind =
  /** The node is on another ring epoch, or does not hold the arc: plan again on the current ring. */
  | 'stale-ring'
  /**
   * The node is down, slow or failing: back off from it. (A tree still being built shows in the
   * summaries, `building`, and its arc is skipped before any walk.)
   */
  | 'node';

/** The gRPC status code of an error, if it carries one. */
export function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** See {@link FailureKind}. */
export function classifyFailure(err: unknown): FailureKind {
  switch (codeOf(err)) {
    case status.FAILED_PRECONDITION:
      return 'stale-ring';
    default:
      return 'node';
  }
}

/** A short cause for logs and the status API. */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** The worker has no ring yet (membership not reached). */
export class NoRingYetError extends ServiceError {
  override readonly name = 'NoRingYetError';
  constructor() {
    super(status.UNAVAILABLE, 'the anti-entropy worker has not received the ring from membership yet; try again shortly');
  }
}

/** A repair asked for a node the ring does not have. */
export class UnknownNodeError extends ServiceError {
  override readonly name = 'UnknownNodeError';
  constructor(readonly node: string, known: readonly string[]) {
    super(status.INVALID_ARGUMENT, `node_id: "${node}" is not a storage node of the ring (nodes: ${known.join(', ') || 'none'})`);
  }
}
