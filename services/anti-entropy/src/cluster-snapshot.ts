/**
 * The cluster as the worker plans with it, from the membership service's view: the committed ring
 * and, for each storage node of the current ring, its address and whether failure detection holds
 * it down.
 */
import type { ClusterView } from '@quorumkv/cluster-view';
import type { ClusterNode, ClusterSnapshot } from './ring-plan.js';

/**
 * A member failure detection does not know of yet (just joined, or a view without gossip) counts
 * as alive: a call to it will tell. Only `down` and `left` keep a node out of exchanges.
 */
export function snapshotOf(view: ClusterView): ClusterSnapshot {
  const liveness = new Map(view.members.map((m) => [m.id, m.liveness]));
  const nodes = new Map<string, ClusterNode>();
  for (const id of view.ring.current.nodes()) {
    const member = view.ring.member(id);
    if (member === undefined) continue;
    const state = liveness.get(id);
    nodes.set(id, { id, address: member.address, alive: state !== 'down' && state !== 'left' });
  }
  return { view: view.ring, nodes };
}
