import { HashRing } from '@quorumkv/ring';
import type { ReplicaAddress } from './config.js';

/** Who owns a counter key: exactly one replica, the same answer on every replica. */
export interface Ownership {
  /** This replica's id. */
  readonly selfId: string;
  /** The id of the replica that owns `counterKey`. */
  owner(counterKey: string): string;
  /** Every replica id, sorted. */
  replicas(): string[];
}

/**
 * Consistent hashing of counter keys over the configured replicas. Every replica builds the
 * same ring from the same `--replicas` list, so they agree on each key's owner without talking;
 * adding or removing a replica moves only about 1/n of the keys.
 *
 * Why membership is static: if a replica dropped an unreachable owner from its ring it would
 * start counting that owner's keys itself while the owner (perhaps only cut off from it) keeps
 * counting too — two counters for one key and a limit no longer exact. An unreachable owner is
 * handled by the failure mode instead.
 */
export function createOwnership(selfId: string, replicas: readonly ReplicaAddress[], vnodes = 128): Ownership {
  if (replicas.length === 0) {
    return { selfId, owner: () => selfId, replicas: () => [selfId] };
  }
  const ring = new HashRing({ vnodes });
  for (const r of replicas) ring.addNode(r.id);
  return {
    selfId,
    // A non-empty ring always has an owner; the fallback only satisfies the type.
    owner: (counterKey) => ring.owner(counterKey) ?? selfId,
    replicas: () => ring.nodes(),
  };
}
