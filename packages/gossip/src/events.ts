import type { MemberSnapshot, MemberState } from './member.js';
import type { PacketKind } from './messages.js';

/** Kinds of change to another member, as this member learns them. */
export type MemberEventType = 'alive' | 'suspect' | 'down' | 'left' | 'meta' | 'payload';

/**
 * A change in this member's view of another member. `alive` covers a member first heard of
 * (`previous` undefined), a suspicion refuted, and a member back after down or left; `meta` a new
 * address or metadata; `payload` a new payload version. Never emitted about the member itself.
 */
export interface MemberEvent {
  readonly type: MemberEventType;
  readonly member: MemberSnapshot;
  readonly previous: MemberState | undefined;
}

/** The protocol's own decisions, for logs, spans and metrics. */
export type ProtocolEvent =
  /** This member's probe of `id` failed, direct and indirect: it suspects `id`. */
  | { readonly type: 'suspicion-raised'; readonly id: string; readonly incarnation: number }
  /** This member's suspicion of `id` timed out: it declares `id` down. */
  | { readonly type: 'declared-down'; readonly id: string; readonly incarnation: number; readonly confirmations: number }
  /** This member was suspected (or declared down, or said to have left) and refuted it. */
  | { readonly type: 'refuted'; readonly claim: MemberState; readonly incarnation: number }
  /** The event loop stalled past the threshold, or a probe timer fired late: local health worsened. */
  | { readonly type: 'stalled'; readonly delayMs: number; readonly healthScore: number };

export type MemberListener = (event: MemberEvent) => void;
export type ProtocolListener = (event: ProtocolEvent) => void;

/** Monotonic counters a service exports as metrics (read with `GossipMember.counters()`). */
export interface GossipCounters {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  readonly packetsSentByKind: Readonly<Record<PacketKind, number>>;
  /** Probes started (one per probe interval while others are known). */
  readonly probes: number;
  /** Probes answered neither directly nor through a relay. */
  readonly probesFailed: number;
  /** Probes whose direct ping timed out, so relays were asked. */
  readonly indirectProbes: number;
  /** Suspicions this member raised from its own failed probes. */
  readonly suspicionsRaised: number;
  /** Suspicions of a member already suspect that shortened its timer. */
  readonly suspicionConfirmations: number;
  /** Claims about this member it refuted by raising its incarnation. */
  readonly refutations: number;
  /** Members this member declared down when its suspicion timed out. */
  readonly downsDeclared: number;
  /** Full-state syncs completed (answers received). */
  readonly pushPulls: number;
  /** Probe timers that fired late because this process stalled; their verdict waited. */
  readonly stalledTimers: number;
  /** Pings addressed to another member id (a different member now at this address). */
  readonly misdirectedPings: number;
  /** Member or protocol listeners that threw (the protocol went on). */
  readonly listenerErrors: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends Readonly<Record<string, number>> ? Record<PacketKind, number> : T[K] };

/** Counters the library increments. */
export type MutableCounters = Mutable<GossipCounters>;

/** All counters at zero. */
export function zeroCounters(): MutableCounters {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    packetsSentByKind: { ping: 0, 'ping-req': 0, ack: 0, nack: 0, 'push-pull': 0, gossip: 0 },
    probes: 0,
    probesFailed: 0,
    indirectProbes: 0,
    suspicionsRaised: 0,
    suspicionConfirmations: 0,
    refutations: 0,
    downsDeclared: 0,
    pushPulls: 0,
    stalledTimers: 0,
    misdirectedPings: 0,
    listenerErrors: 0,
  };
}
