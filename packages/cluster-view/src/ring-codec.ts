/**
 * The committed ring and the cluster settings between their wire form (`quorumkv.membership.v1`)
 * and the domain types every consumer evaluates (`RingSnapshot`, `RingView`). One codec, used by
 * the membership service that writes them and every process that reads them.
 */
import { membership } from '@quorumkv/proto';
import type { MemberState, RingMember, RingSnapshot } from '@quorumkv/ring';
import { MalformedViewError } from './errors.js';

const STATE_TO_WIRE: Readonly<Record<MemberState, membership.RingState>> = {
  joining: membership.RingState.RING_STATE_JOINING,
  normal: membership.RingState.RING_STATE_NORMAL,
  leaving: membership.RingState.RING_STATE_LEAVING,
  left: membership.RingState.RING_STATE_LEFT,
};

/** The wire enum of a ring state. */
export function ringStateToWire(state: MemberState): membership.RingState {
  return STATE_TO_WIRE[state];
}

/** The ring state an enum names, or undefined for UNSPECIFIED and unknown values. */
export function ringStateFromWire(state: membership.RingState): MemberState | undefined {
  for (const [name, wire] of Object.entries(STATE_TO_WIRE)) if (wire === state) return name as MemberState;
  return undefined;
}

/** Cluster-wide settings that travel with the ring. */
export interface ClusterSettings {
  /** Range-transfer throughput per receiving node, bytes per second. */
  readonly streamThroughputBytesPerS: number;
}

/** Cassandra's `stream_throughput_outbound` default: 24 MiB/s. */
export const DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S = 24 * 1024 * 1024;

/** The settings of a cluster nobody configured. */
export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = Object.freeze({ streamThroughputBytesPerS: DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S });

/** A ring snapshot as the wire carries it. */
export function ringToWire(snapshot: RingSnapshot, committedAtMs: number): membership.Ring {
  return {
    epoch: BigInt(snapshot.epoch),
    replicationFactor: snapshot.replicationFactor,
    vnodes: snapshot.vnodes,
    committedAtMs: BigInt(Math.max(0, Math.floor(committedAtMs))),
    members: snapshot.members.map((m) => ({
      id: m.id,
      address: m.address,
      zone: m.zone ?? '',
      state: STATE_TO_WIRE[m.state],
      vnodes: m.vnodes ?? 0,
      removed: m.removed === true,
    })),
  };
}

/**
 * A ring from the wire, checked: an epoch a double holds exactly, at least one replica, members
 * with an id, an address, a known state and distinct ids.
 * @throws MalformedViewError naming the field.
 */
export function ringFromWire(ring: membership.Ring): RingSnapshot {
  if (ring.epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedViewError('ring.epoch', `${ring.epoch} is above 2^53`);
  if (ring.replicationFactor < 1) throw new MalformedViewError('ring.replication_factor', 'must be at least 1');
  if (ring.vnodes < 1) throw new MalformedViewError('ring.vnodes', 'must be at least 1');
  const seen = new Set<string>();
  const members: RingMember[] = ring.members.map((m, i) => {
    if (m.id === '') throw new MalformedViewError(`ring.members[${i}].id`, 'is empty');
    if (seen.has(m.id)) throw new MalformedViewError(`ring.members[${i}].id`, `"${m.id}" appears twice`);
    seen.add(m.id);
    const state = ringStateFromWire(m.state);
    if (state === undefined) throw new MalformedViewError(`ring.members[${i}].state`, `unknown value ${m.state}`);
    return {
      id: m.id,
      address: m.address,
      state,
      ...(m.zone !== '' ? { zone: m.zone } : {}),
      ...(m.vnodes > 0 ? { vnodes: m.vnodes } : {}),
      ...(m.removed ? { removed: true } : {}),
    };
  });
  return { epoch: Number(ring.epoch), replicationFactor: ring.replicationFactor, vnodes: ring.vnodes, members };
}

/** Settings as the wire carries them. */
export function settingsToWire(settings: ClusterSettings): membership.ClusterSettings {
  return { streamThroughputBytesPerS: BigInt(settings.streamThroughputBytesPerS) };
}

/** Settings from the wire; an unset throughput (0) reads as the default. */
export function settingsFromWire(settings: membership.ClusterSettings | undefined): ClusterSettings {
  const bytes = settings?.streamThroughputBytesPerS ?? 0n;
  if (bytes === 0n) return DEFAULT_CLUSTER_SETTINGS;
  return { streamThroughputBytesPerS: bytes > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(bytes) };
}
