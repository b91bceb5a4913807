/**
 * How a quorumkv process follows the cluster: `ClusterViewClient` (watches the membership
 * service: committed ring epochs as `RingView`s, settings, members with liveness; reconnects
 * across seeds; `waitForEpoch`), the ring's wire codec, and `ClusterGossip` (the SWIM member
 * every process runs on its gRPC port).
 */
export { ClusterViewClient, WATCH_CHANNEL_OPTIONS } from './watch-client.js';
export type { ClusterViewClientOptions, ViewChange } from './watch-client.js';
export { emptyRing, emptyView, liveMembersOf, memberOf, viewFromWire, viewToWire } from './cluster-view.js';
export type { ClusterMember, ClusterView } from './cluster-view.js';
export {
  DEFAULT_CLUSTER_SETTINGS,
  DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S,
  ringFromWire,
  ringStateFromWire,
  ringStateToWire,
  ringToWire,
  settingsFromWire,
  settingsToWire,
} from './ring-codec.js';
export type { ClusterSettings } from './ring-codec.js';
export { isRole, livenessFromWire, livenessToWire, ROLES, roleFromWire, roleToWire } from './roles.js';
export type { Liveness, Role } from './roles.js';
export { advertisedAddress, ClusterGossip, GOSSIP_SYNC_MEMBERS, gossipReceiveLimit } from './cluster-member.js';
export type { ClusterMemberOptions } from './cluster-member.js';
export { advertiseSetting, parseSeeds, seedsSetting, zoneSetting } from './settings.js';
export { retryDelay } from './backoff.js';
export type { BackoffBounds } from './backoff.js';
export { EpochWaitTimeoutError, MalformedViewError, ViewClosedError } from './errors.js';
export { sameMembers, sameSettings } from './view-diff.js';
export { GOSSIP_SERVICE, gossipAccessPolicy, gossipAccessRules, gossipChannelCredentials, membershipChannelCredentials } from './cluster-security.js';
