/**
 * The membership service as a library, for tests and tools: the cluster state and its changes,
 * the Paxos pieces, and the server factory (`main.ts` wires them).
 */
export { initialState, sameState, stateFromWire, stateToWire } from './cluster-state.js';
export type { ClusterState } from './cluster-state.js';
export { applyChange, pendingMoves, THROTTLE_MAX, THROTTLE_MIN } from './ring-changes.js';
export type { ChangeContext, ChangeOutcome, RingChange } from './ring-changes.js';
export { Acceptor } from './paxos/acceptor.js';
export type { AcceptorRecord, AcceptorStore, AcceptReply, PrepareReply } from './paxos/acceptor.js';
export { compareBallots } from './paxos/ballot.js';
export type { Ballot } from './paxos/ballot.js';
export { Proposer } from './paxos/proposer.js';
export type { Learner, MakeState, PeerTransport, ProposalResult, ProposerOptions } from './paxos/proposer.js';
export { GrpcPeerTransport, peerServiceImplementation } from './paxos/peer-transport.js';
export { Replica } from './replica.js';
export type { CommitResult, ReplicaOptions } from './replica.js';
export { createMembershipServer } from './server.js';
export type { MembershipServer, MembershipServerDeps } from './server.js';
export { membershipSettings, loadMembershipConfig, membershipHelp } from './config.js';
export type { MembershipConfig } from './config.js';
export {
  ChangePendingError,
  ClaimantUnreachableError,
  DownNodeLeaveError,
  DuplicateNodeError,
  LiveNodeRemoveError,
  NoQuorumError,
  TooFewNodesError,
  UnknownNodeError,
} from './errors.js';
