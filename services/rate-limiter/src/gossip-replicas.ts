/**
 * Membership from gossip: the rate-limiter replicas are the cluster members with role
 * `rate-limiter` that this replica's own gossip member sees alive (or suspect), itself included,
 * and counter-key ownership follows them as they come and go.
 *
 * Why this replica's own gossip view and not the membership service's Watch: the replicas must
 * keep deciding (and agree on owners) while the membership service is down or restarting, and
 * gossip converges every member's view within seconds without it.
 */
import type { GossipMember, MemberSnapshot } from '@quorumkv/gossip';
import type { Logger } from '@quorumkv/service-kit';
import type { ReplicaAddress } from './config.js';
import type { ReplicaSet } from './replica-set.js';

/** The live rate-limiter members of a gossip view. Why suspect counts: see `liveMembersOf` (cluster-view). */
export function liveRateLimiters(members: readonly MemberSnapshot[]): ReplicaAddress[] {
  return members
    .filter((m) => m.meta.role === 'rate-limiter' && (m.state === 'alive' || m.state === 'suspect'))
    .map((m) => ({ id: m.id, address: m.address }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Keeps `replicas` equal to the live rate-limiter members; returns the function that stops. */
export function followRateLimiters(member: GossipMember, replicas: ReplicaSet, logger: Logger): () => void {
  const apply = (): void => {
    if (replicas.setReplicas(liveRateLimiters(member.members()))) {
      logger.info({ replicas: replicas.replicas() }, 'rate-limiter replicas changed: counter keys re-spread');
    }
  };
  apply();
  return member.onMemberEvent((e) => {
    if (e.member.meta.role !== 'rate-limiter' || e.type === 'payload') return;
    // Back (refuted, or restarted with a new incarnation): no longer passed over.
    if (e.type === 'alive') replicas.restore(e.member.id);
    apply();
  });
}
