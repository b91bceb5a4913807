/** Why a forwarded decision did not come back from the owner replica. */
export type UnreachableReason = 'timeout' | 'stream-failed' | 'overloaded' | 'owner-refused' | 'closed' | 'unknown-replica';

/**
 * The replica that owns a counter key did not answer (down, too slow, or refused the item). The
 * configured failure mode decides the descriptor instead, and the event is counted.
 */
export class OwnerUnreachableError extends Error {
  override readonly name = 'OwnerUnreachableError';
  constructor(
    readonly owner: string,
    readonly reason: UnreachableReason,
    readonly detail: string,
  ) {
    super(`owner replica ${owner} unreachable (${reason}): ${detail}`);
  }
}
