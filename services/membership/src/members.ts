/**
 * The members of the cluster as this replica's gossip member sees them, and the claimant among
 * the membership replicas.
 */
import { type ClusterMember, isRole } from '@quorumkv/cluster-view';
import type { MemberSnapshot } from '@quorumkv/gossip';

/** A gossip member as the cluster view lists it. */
export function toClusterMember(m: MemberSnapshot): ClusterMember {
  return {
    id: m.id,
    address: m.address,
    role: isRole(m.meta.role) ? m.meta.role : '',
    zone: m.meta.zone,
    liveness: m.state,
    incarnation: m.incarnation,
  };
}

/** Every member, sorted by id. */
export function clusterMembers(snapshots: readonly MemberSnapshot[]): ClusterMember[] {
  return snapshots.map(toClusterMember).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The claimant: the membership replica with the lowest id among those alive (or suspect) in this
 * replica's gossip view, itself included. Why this is safe although views can differ for a
 * moment: the claimant only proposes, and Paxos keeps two replicas that both believe they are the
 * claimant from choosing different states; a wrong belief costs a retried round, never a fork.
 */
export function claimantOf(snapshots: readonly MemberSnapshot[]): MemberSnapshot | undefined {
  let best: MemberSnapshot | undefined;
  for (const m of snapshots) {
    if (m.meta.role !== 'membership' || (m.state !== 'alive' && m.state !== 'suspect')) continue;
    if (best === undefined || m.id < best.id) best = m;
  }
  return best;
}
