import { gossipAccessRules } from '@quorumkv/cluster-view';
import { ANYONE, INTERNAL_CALLERS, SERVICE_IDENTITIES, type AccessPolicy } from '@quorumkv/service-kit';

/** The membership service's public API (cluster commands, Watch, transfer reports). */
export const MEMBERSHIP_SERVICE = 'quorumkv.membership.v1.MembershipService';
/** Paxos between the membership replicas. */
export const MEMBERSHIP_PEER_SERVICE = 'quorumkv.membership.v1.MembershipPeerService';

/**
 * Who may call a membership replica (with TLS, by the SPIFFE ID of the client certificate, which
 * this port always requires):
 * - Paxos (`MembershipPeerService`): only other membership replicas — a promise or an accepted
 *   value from anyone else could commit a ring no majority chose.
 * - `Watch`: quorumkv's services (coordinators, storage nodes, rate limiters, the anti-entropy
 *   worker, replicas): the ring names every node's address.
 * - `ReportTransfers`: storage nodes (and replicas forwarding one to the claimant): a report
 *   completes a range transfer, which commits the node's next ring state.
 * - gossip: quorumkv's services (see `gossipAccessRules`).
 * - the cluster commands (`qkv cluster status | join | leave | remove | transfers | throttle`):
 *   any certificate the CA bundle verified — operators use a client certificate, storage nodes
 *   join with theirs, replicas forward to the claimant with theirs.
 */
export const membershipAccessPolicy: AccessPolicy = {
  rules: {
    ...gossipAccessRules,
    [MEMBERSHIP_PEER_SERVICE]: [SERVICE_IDENTITIES.membership],
    [`${MEMBERSHIP_SERVICE}/Watch`]: INTERNAL_CALLERS,
    [`${MEMBERSHIP_SERVICE}/ReportTransfers`]: [SERVICE_IDENTITIES.storageNode, SERVICE_IDENTITIES.membership],
    // ANYONE on a port that requires a verified client certificate: any identity the CA signed.
    [MEMBERSHIP_SERVICE]: ANYONE,
  },
  otherwise: INTERNAL_CALLERS,
};
