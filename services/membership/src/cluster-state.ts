/**
 * The state the membership replicas agree on: the committed ring (its epoch inside) and the
 * cluster settings, at a version. Each version is chosen by one Paxos instance; a ring change
 * raises the ring epoch by one, a settings change keeps it.
 */
import { type ClusterSettings, DEFAULT_CLUSTER_SETTINGS, ringFromWire, ringToWire, settingsFromWire, settingsToWire } from '@quorumkv/cluster-view';
import { membershipConsensus } from '@quorumkv/proto';
import type { RingSnapshot } from '@quorumkv/ring';

/** The replicated state at one version. */
export interface ClusterState {
  /** The Paxos instance that chose it (0: the empty state every replica starts from). */
  readonly version: number;
  readonly ring: RingSnapshot;
  readonly settings: ClusterSettings;
  /** When the ring epoch was committed (ms since 1970; 0 for epoch 0). */
  readonly committedAtMs: number;
}

/** The state before anything was committed: ring epoch 0, no members. */
export function initialState(replicationFactor: number, vnodes: number): ClusterState {
  return { version: 0, ring: { epoch: 0, replicationFactor, vnodes, members: [] }, settings: DEFAULT_CLUSTER_SETTINGS, committedAtMs: 0 };
}

/** A state as Paxos messages carry it. */
export function stateToWire(state: ClusterState): membershipConsensus.ClusterState {
  return { version: BigInt(state.version), ring: ringToWire(state.ring, state.committedAtMs), settings: settingsToWire(state.settings) };
}

/**
 * A state from a Paxos message.
 * @throws MalformedViewError (from the ring codec) when the ring breaks its contract.
 */
export function stateFromWire(state: membershipConsensus.ClusterState): ClusterState {
  const ring = state.ring;
  if (!ring) throw new TypeError('cluster state without a ring');
  return { version: Number(state.version), ring: ringFromWire(ring), settings: settingsFromWire(state.settings), committedAtMs: Number(ring.committedAtMs) };
}

/** Whether two states are the same value: their encodings are equal byte for byte. */
export function sameState(a: ClusterState, b: ClusterState): boolean {
  return Buffer.from(membershipConsensus.ClusterState.encode(stateToWire(a)).finish()).equals(
    Buffer.from(membershipConsensus.ClusterState.encode(stateToWire(b)).finish()),
  );
}
