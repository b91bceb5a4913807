/**
 * Generated protobuf code for quorumkv's APIs, one namespace per proto package.
 * Regenerate with `npm run proto:gen`; never edit files under `generated/`.
 */
export * as kv from './generated/quorumkv/kv/v1/kv.js';
export * as storage from './generated/quorumkv/storage/v1/storage.js';
export * as admin from './generated/quorumkv/admin/v1/admin.js';
/** Merkle trees of a storage node's ranges, read by anti-entropy (quorumkv.storage.v1.TreeService). */
export * as storageTrees from './generated/quorumkv/storage/v1/trees.js';
/** The anti-entropy worker's operator API (quorumkv.antientropy.v1.AntiEntropyService). */
export * as antiEntropy from './generated/quorumkv/antientropy/v1/anti_entropy.js';
/** The membership service: ring epochs, members, and the cluster commands (quorumkv.membership.v1). */
export * as membership from './generated/quorumkv/membership/v1/membership.js';
/** Paxos between membership replicas (quorumkv.membership.v1.MembershipPeerService). */
export * as membershipConsensus from './generated/quorumkv/membership/v1/consensus.js';
/** Hinted handoff messages kept in NATS JetStream (quorumkv.hints.v1). */
export * as hints from './generated/quorumkv/hints/v1/hints.js';
/** Envoy's rate limit service (envoy.service.ratelimit.v3), wire-identical to Envoy's rls.proto. */
export * as rls from './generated/envoy/service/ratelimit/v3/rls.js';
/** Envoy's rate limit descriptor (envoy.extensions.common.ratelimit.v3). */
export * as rlsCommon from './generated/envoy/extensions/common/ratelimit/v3/ratelimit.js';
/** Envoy's HeaderValue (envoy.config.core.v3, subset). */
export * as envoyCore from './generated/envoy/config/core/v3/base.js';
/** Envoy's RateLimitUnit (envoy.type.v3). */
export * as envoyType from './generated/envoy/type/v3/ratelimit_unit.js';
/** The rate limiter's operator API (quorumkv.ratelimit.v1.RateLimitAdminService). */
export * as ratelimitAdmin from './generated/quorumkv/ratelimit/v1/admin.js';
/** The rate limiter's replica forwarding API (quorumkv.ratelimit.v1.RateLimitReplicaService). */
export * as ratelimitReplica from './generated/quorumkv/ratelimit/v1/replica.js';
/** Batched rate-limit checks over one stream (quorumkv.ratelimit.v1.RateLimitCheckService). */
export * as ratelimitCheck from './generated/quorumkv/ratelimit/v1/check.js';
/** Membership gossip between members (quorumkv.gossip.v1.GossipService). */
export * as gossip from './generated/quorumkv/gossip/v1/gossip.js';

import { fileURLToPath } from 'node:url';

/**
 * Path of the binary FileDescriptorSet of every proto in this package (imports included), for
 * gRPC server reflection. Generated beside the code by `npm run proto:gen`.
 */
export const descriptorSetPath: string = fileURLToPath(
  new URL('../src/generated/descriptors.binpb', import.meta.url),
);
