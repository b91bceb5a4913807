/**
 * One view of the cluster, as the membership service serves it: the committed ring (evaluated as
 * a `RingView`), the cluster settings, and every member failure detection knows of.
 */
import { type membership } from '@quorumkv/proto';
import { RingView } from '@quorumkv/ring';
import { type ClusterSettings, DEFAULT_CLUSTER_SETTINGS, ringFromWire, ringToWire, settingsFromWire, settingsToWire } from './ring-codec.js';
import { type Liveness, livenessFromWire, livenessToWire, type Role, roleFromWire, roleToWire } from './roles.js';

/** A member of any role, as failure detection sees it. */
export interface ClusterMember {
  readonly id: string;
  /** `host:port` it serves (and gossips) on. */
  readonly address: string;
  /** '' when the member did not say (or said something this version does not know). */
  readonly role: Role | '';
  readonly zone: string;
  readonly liveness: Liveness;
  readonly incarnation: number;
}

/** The ring, the settings and the members at one moment. */
export interface ClusterView {
  /** The committed ring epoch, evaluated (epoch 0: nothing committed yet, no members). */
  readonly ring: RingView;
  readonly settings: ClusterSettings;
  readonly members: readonly ClusterMember[];
  /** When the claimant committed this ring epoch (ms since 1970; 0 for epoch 0). */
  readonly committedAtMs: number;
}

/** Ring epoch 0: nothing committed yet. */
export function emptyRing(replicationFactor = 3, vnodes = 128): RingView {
  return new RingView({ epoch: 0, replicationFactor, vnodes, members: [] });
}

/** A view with nothing in it (before the first answer of the membership service). */
export function emptyView(): ClusterView {
  return { ring: emptyRing(), settings: DEFAULT_CLUSTER_SETTINGS, members: [], committedAtMs: 0 };
}

/**
 * A view from the wire. `sameEpochRing`, when it has the wire ring's epoch, is reused as is (a
 * ring epoch never forks, so the same epoch is the same ring, and evaluating it costs a sort of
 * every vnode).
 * @throws MalformedViewError naming the field that breaks the contract.
 */
export function viewFromWire(view: membership.ClusterView, sameEpochRing?: RingView): ClusterView {
  const ring = !view.ring
    ? emptyRing()
    : sameEpochRing !== undefined && BigInt(sameEpochRing.epoch) === view.ring.epoch
      ? sameEpochRing
      : new RingView(ringFromWire(view.ring));
  return {
    ring,
    settings: settingsFromWire(view.settings),
    committedAtMs: view.ring ? Number(view.ring.committedAtMs) : 0,
    members: view.members.map((m) => ({
      id: m.id,
      address: m.address,
      role: roleFromWire(m.role),
      zone: m.zone,
      liveness: livenessFromWire(m.liveness),
      incarnation: Number(m.incarnation),
    })),
  };
}

/** A view as the wire carries it. */
export function viewToWire(view: ClusterView): membership.ClusterView {
  return {
    ring: ringToWire(view.ring.snapshot, view.committedAtMs),
    settings: settingsToWire(view.settings),
    members: view.members.map((m) => ({
      id: m.id,
      address: m.address,
      role: roleToWire(m.role),
      zone: m.zone,
      liveness: livenessToWire(m.liveness),
      incarnation: BigInt(m.incarnation),
    })),
  };
}

/**
 * Members of `role` that are alive or suspect, sorted by id. Why suspect counts: a suspicion is
 * a question, not a verdict — the member is most often alive and refutes it within seconds, and
 * moving work away and back on every suspicion would make ownership flap.
 */
export function liveMembersOf(view: ClusterView, role: Role): ClusterMember[] {
  return view.members
    .filter((m) => m.role === role && (m.liveness === 'alive' || m.liveness === 'suspect'))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A member by id, or undefined. */
export function memberOf(view: ClusterView, id: string): ClusterMember | undefined {
  return view.members.find((m) => m.id === id);
}
