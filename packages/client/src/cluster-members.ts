/**
 * The cluster as the membership service reports it, in the SDK's own types (callers never depend
 * on generated code): every member with its liveness and ring state, and the ranges moving.
 */
import { membership } from '@quorumkv/proto';

/** What failure detection says of a member. */
export type Liveness = 'alive' | 'suspect' | 'down' | 'left';
/** Where a storage node stands in the ring's life cycle. */
export type RingState = 'joining' | 'normal' | 'leaving' | 'left';
/** What a member does. */
export type MemberRole = 'storage' | 'coordinator' | 'rate-limiter' | 'membership' | 'anti-entropy' | 'unknown';

/** One member, as `qkv cluster status` prints it (like `nodetool status`). */
export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  readonly role: MemberRole;
  readonly liveness: Liveness;
  /** Storage nodes only; null for other roles. */
  readonly ringState: RingState | null;
  /** '' when not set. */
  readonly zone: string;
  /** Fraction (0..1) of the hash space this node owns first in the current ring. */
  readonly ownedShare: number;
  /** Keys and bytes the node holds (0 when it did not answer, or for other roles). */
  readonly keys: number;
  readonly bytes: number;
}

/** The answer of {@link MembershipClient.status}. */
export interface ClusterMembers {
  /** The committed ring epoch. */
  readonly epoch: number;
  /** N. */
  readonly replicationFactor: number;
  /** The membership replica that applies changes now. */
  readonly claimant: string;
  readonly members: readonly MemberInfo[];
  /** Whether hinted handoff is on (NATS JetStream reachable from the membership service). */
  readonly hintsEnabled: boolean;
  /** Why not, when it is off. */
  readonly hintsReason: string;
}

/** One range moving to a new owner. */
export interface RangeTransfer {
  /** The receiving node. */
  readonly to: string;
  /** Where it streams from (several, comma-separated, when rebuilt from every survivor of a removed node). */
  readonly from: string;
  /** The ring epoch whose move this is. */
  readonly epoch: number;
  /** The arc (start, end] of the 32-bit ring. */
  readonly start: number;
  readonly end: number;
  readonly keysDone: number;
  readonly bytesDone: number;
  /** Estimates (0 when unknown). */
  readonly keysLeft: number;
  readonly bytesLeft: number;
  readonly complete: boolean;
  /** The receiving node's rate, bytes per second (0 before its first report). */
  readonly rateBytesPerS: number;
  /** Seconds until this range is in at that rate (0 when unknown or done). */
  readonly etaSeconds: number;
}

/** The answer of {@link MembershipClient.transfers}. */
export interface ClusterTransfers {
  /** Every range moving; empty when nothing moves. */
  readonly transfers: readonly RangeTransfer[];
  /** The streaming throttle per receiving node, bytes per second. */
  readonly streamThroughputBytesPerS: number;
}

/** What a join, leave or remove did. */
export interface ChangeResult {
  /** The ring epoch that carries the change (the current one when nothing had to change). */
  readonly epoch: number;
  /** What happened, for the operator. */
  readonly message: string;
}

const ROLE: Record<number, MemberRole> = {
  [membership.Role.ROLE_STORAGE]: 'storage',
  [membership.Role.ROLE_COORDINATOR]: 'coordinator',
  [membership.Role.ROLE_RATE_LIMITER]: 'rate-limiter',
  [membership.Role.ROLE_MEMBERSHIP]: 'membership',
  [membership.Role.ROLE_ANTI_ENTROPY]: 'anti-entropy',
};
/** Liveness by its wire enum. */
export const LIVENESS: Readonly<Record<number, Liveness>> = {
  [membership.Liveness.LIVENESS_ALIVE]: 'alive',
  [membership.Liveness.LIVENESS_SUSPECT]: 'suspect',
  [membership.Liveness.LIVENESS_DOWN]: 'down',
  [membership.Liveness.LIVENESS_LEFT]: 'left',
};
const RING_STATE: Record<number, RingState> = {
  [membership.RingState.RING_STATE_JOINING]: 'joining',
  [membership.RingState.RING_STATE_NORMAL]: 'normal',
  [membership.RingState.RING_STATE_LEAVING]: 'leaving',
  [membership.RingState.RING_STATE_LEFT]: 'left',
};

/** Copies a Status answer into the SDK's types. */
export function fromMembershipStatus(res: membership.StatusResponse): ClusterMembers {
  return {
    epoch: Number(res.epoch),
    replicationFactor: res.replicationFactor,
    claimant: res.claimant,
    hintsEnabled: res.hintsEnabled,
    hintsReason: res.hintsReason,
    members: res.members.map((m) => ({
      id: m.id,
      address: m.address,
      role: ROLE[m.role] ?? 'unknown',
      // A member nobody has heard from cannot be vouched for.
      liveness: LIVENESS[m.liveness] ?? 'down',
      ringState: RING_STATE[m.ringState] ?? null,
      zone: m.zone,
      ownedShare: m.ownedShare,
      keys: Number(m.keys),
      bytes: Number(m.bytes),
    })),
  };
}

/** Copies a Transfers answer into the SDK's types: one entry per range. */
export function fromTransfersResponse(res: membership.TransfersResponse): ClusterTransfers {
  const transfers: RangeTransfer[] = [];
  for (const t of res.transfers) {
    for (const r of t.ranges) {
      const bytesLeft = Number(r.bytesLeft);
      transfers.push({
        to: r.to || t.nodeId,
        from: r.from,
        epoch: Number(t.epoch),
        start: r.start,
        end: r.end,
        keysDone: Number(r.keysDone),
        bytesDone: Number(r.bytesDone),
        keysLeft: Number(r.keysLeft),
        bytesLeft,
        complete: r.complete,
        rateBytesPerS: t.rateBytesPerS,
        etaSeconds: !r.complete && t.rateBytesPerS > 0 && bytesLeft > 0 ? bytesLeft / t.rateBytesPerS : 0,
      });
    }
  }
  return { transfers, streamThroughputBytesPerS: Number(res.streamThroughputBytesPerS) };
}
