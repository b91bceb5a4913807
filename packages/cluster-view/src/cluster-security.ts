/**
 * Mutual TLS on the cluster's own channels, in one place for every process that follows the
 * cluster: gossip (every member's port, every member a peer), the Watch stream and the other
 * calls to the membership service. Each channel presents the process's own certificate and
 * accepts the server by its SPIFFE ID, not its host name: members are dialed at whatever address
 * gossip or the ring carries (a pod IP, a stable name), and must be the right service.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { ANYONE, INTERNAL_CALLERS, SERVICE_IDENTITIES, type AccessPolicy, type TransportSecurity } from '@quorumkv/service-kit';

/** The gossip service every member registers on its gRPC port. */
export const GOSSIP_SERVICE = 'quorumkv.gossip.v1.GossipService';

/**
 * Who may send gossip to a member: quorumkv's own services, each with its certificate. Why not
 * any certificate of the CA: a gossip packet can declare members alive, dead or left, and the
 * membership service commits ring changes on what gossip says — a client's certificate must not
 * be a ticket into that.
 */
export const gossipAccessRules: AccessPolicy['rules'] = { [GOSSIP_SERVICE]: INTERNAL_CALLERS };

/**
 * The access policy of a port whose only restricted service is gossip (the coordinator's and
 * the rate limiter's public ports: their own APIs are open to whoever the handshake admits).
 */
export const gossipAccessPolicy: AccessPolicy = { rules: gossipAccessRules, otherwise: ANYONE };

/** Channels to gossip peers: any quorumkv service may be one. */
export function gossipChannelCredentials(transport: TransportSecurity): ChannelCredentials {
  return transport.channelCredentials({ serverIdentities: INTERNAL_CALLERS });
}

/** Channels to the membership service (Watch, Join, ReportTransfers…): only it. */
export function membershipChannelCredentials(transport: TransportSecurity): ChannelCredentials {
  return transport.channelCredentials({ serverIdentities: [SERVICE_IDENTITIES.membership] });
}
