/**
 * The ring the coordinator routes by. In production it is the committed ring the membership
 * service serves (`ClusterViewClient`), followed as it changes; tests pass a fixed one.
 */
import { type ClusterViewClient, emptyRing } from '@quorumkv/cluster-view';
import type { RingView } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import type { NodeAddress, ReplicaPool } from './replica-pool.js';

/** What routing a request needs of a ring epoch. */
export type RoutingRing = Pick<RingView, 'epoch' | 'replicationFactor' | 'readReplicas' | 'writeTargets' | 'standInCandidates'>;

/** What the key-value operations need of the ring: the epoch to route by now, and a way to catch up. */
export interface RoutingSource {
  current(): RoutingRing;
  /** Resolves once the ring reached `epoch`. @throws when it does not within `timeoutMs`. */
  waitForEpoch(epoch: number, timeoutMs: number): Promise<unknown>;
}

/** Where the current ring comes from. */
export interface RingSource extends RoutingSource {
  /** The committed ring epoch to route by now (epoch 0 and no members before any view). */
  current(): RingView;
  /**
   * Resolves with the ring once it reached `epoch` (at once if it has).
   * @throws when it does not within `timeoutMs`.
   */
  waitForEpoch(epoch: number, timeoutMs: number): Promise<RingView>;
  /** Calls `listener` with each new ring epoch; returns the unsubscribe function. */
  onRing(listener: (ring: RingView) => void): () => void;
}

/** The ring of the cluster view the membership service serves. */
export function clusterRing(cluster: ClusterViewClient): RingSource {
  const empty = emptyRing();
  return {
    current: () => cluster.current?.ring ?? empty,
    waitForEpoch: async (epoch, timeoutMs) => (await cluster.waitForEpoch(epoch, timeoutMs)).ring,
    onRing: (listener) =>
      cluster.onChange((change) => {
        if (change.ringChanged) listener(change.view.ring);
      }),
  };
}

/** A ring that never changes (tests, tools). */
export function fixedRing(ring: RingView): RingSource {
  return {
    current: () => ring,
    waitForEpoch: (epoch) => (epoch <= ring.epoch ? Promise.resolve(ring) : Promise.reject(new Error(`a fixed ring stays at epoch ${ring.epoch}`))),
    onRing: () => () => undefined,
  };
}

/**
 * The storage nodes a coordinator keeps streams to: every member of the ring that is not LEFT —
 * the current replicas and the pending ones (JOINING), which take writes before they serve reads.
 */
export function streamTargets(ring: RingView): NodeAddress[] {
  return ring
    .allMembers()
    .filter((m) => m.state !== 'left')
    .map((m) => ({ id: m.id, address: m.address }));
}

/** Keeps the pool's streams in step with the ring: now, and at every new epoch. */
export function followRing(source: RingSource, pool: ReplicaPool, logger: Logger): () => void {
  const apply = (ring: RingView): void => {
    const { added, removed } = pool.setNodes(streamTargets(ring));
    const states = Object.fromEntries(ring.allMembers().map((m) => [m.id, m.state]));
    logger.info({ epoch: ring.epoch, nodes: states, added, removed }, 'following ring epoch');
  };
  apply(source.current());
  return source.onRing(apply);
}
