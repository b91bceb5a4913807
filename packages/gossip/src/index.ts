/**
 * SWIM membership and failure detection with Lifeguard's refinements, for members of a quorumkv
 * cluster: `GossipMember` (the protocol), `GrpcGossipTransport` (packets over gRPC streams),
 * and a discrete-event simulation (`SimCluster`, `runMembershipSimulation`).
 */
export { GossipMember } from './gossip-member.js';
export type { GossipMemberOptions } from './gossip-member.js';
export type { JoinResult } from './state-sync.js';
export {
  DEFAULT_GOSSIP_CONFIG,
  pushPullIntervalFor,
  resolveConfig,
  retransmitLimit,
  suspicionTimeoutMs,
} from './config.js';
export type { GossipConfig } from './config.js';
export { GossipConfigError, GossipStoppedError, JoinError, MemberDataError } from './errors.js';
export type {
  GossipCounters,
  MemberEvent,
  MemberEventType,
  MemberListener,
  ProtocolEvent,
  ProtocolListener,
} from './events.js';
export { EMPTY_META, overrides } from './member.js';
export type {
  LivenessClaim,
  MemberMeta,
  MemberPayload,
  MemberRecord,
  MemberSnapshot,
  MemberState,
  MemberUpdate,
} from './member.js';
export { MAX_PAYLOAD_VERSION } from './member-data.js';
export type { MemberMetaInput } from './member-data.js';
export type {
  AckBody,
  GossipPacket,
  NackBody,
  PacketBody,
  PacketKind,
  PingBody,
  PingReqBody,
  PushPullBody,
} from './messages.js';
export type { GossipTransport, PacketReceiver } from './transport.js';
export { systemClock } from './clock.js';
export type { Clock, Timer } from './clock.js';
export { mathRandom, seededRandom } from './random.js';
export type { Random } from './random.js';
export type { LoopDelaySource } from './local-health.js';
export { monitorLoopDelay } from './loop-delay.js';
export type { LoopDelayMonitor } from './loop-delay.js';
export { addGossipService, GOSSIP_CHANNEL_OPTIONS, GrpcGossipTransport } from './grpc/grpc-transport.js';
export type { GrpcGossipTransportOptions, GrpcTransportStats } from './grpc/grpc-transport.js';
export { MalformedPacketError, packetFromWire, packetToWire } from './grpc/wire-codec.js';
export { Simulator } from './sim/simulator.js';
export type { SimEvent, SimRunner } from './sim/simulator.js';
export { SimEndpoint, SimNetwork } from './sim/sim-network.js';
export type { SimNetworkOptions, SimNetworkStats } from './sim/sim-network.js';
export { SimCluster, simMemberId } from './sim/sim-cluster.js';
export type { SimClusterOptions } from './sim/sim-cluster.js';
export { runDetection, runNoise } from './sim/scenarios.js';
export type { DetectionResult, DetectionTrial, NoiseResult } from './sim/scenarios.js';
export { runMembershipSimulation } from './sim/membership-sim.js';
export type { MembershipSimOptions, MembershipSimReport } from './sim/membership-sim.js';
