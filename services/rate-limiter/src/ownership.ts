/**
 * Who owns a counter key: exactly one replica, the same answer on every replica that sees the
 * same replicas. Implemented by `ReplicaSet` (consistent hashing of the replica ids).
 */
export interface Ownership {
  /** This replica's id. */
  readonly selfId: string;
  /** The id of the replica that decides `counterKey` now. */
  owner(counterKey: string): string;
  /** Every replica id, sorted. */
  replicas(): string[];
}
