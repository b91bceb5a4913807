import { type MemberRecord, type MemberUpdate, recordBytes, updateBytes } from './member.js';

/** "Are you alive?" — answered with an ack by the member named `target`, and only by it. */
export interface PingBody {
  readonly kind: 'ping';
  readonly seq: number;
  readonly target: string;
}

/** "Probe `target` for me": the receiver pings it and relays the ack (or a nack) to the sender. */
export interface PingReqBody {
  readonly kind: 'ping-req';
  readonly seq: number;
  readonly target: string;
  readonly targetAddress: string;
  /** How long the relay waits for the target's ack before it nacks (0: its own probe timeout). */
  readonly timeoutMs: number;
}

/** The answer to a ping, or a relayed answer to a ping-req, carrying the prober's `seq`. */
export interface AckBody {
  readonly kind: 'ack';
  readonly seq: number;
}

/**
 * A relay's "I asked, the target did not answer": proof that the relay, and the path to it, work.
 * Missing nacks tell the prober that the trouble may be its own (Lifeguard's local health).
 */
export interface NackBody {
  readonly kind: 'nack';
  readonly seq: number;
}

/** A full-state sync: the sender's whole member list. A request (`reply: false`) is answered in kind. */
export interface PushPullBody {
  readonly kind: 'push-pull';
  readonly seq: number;
  /** Sent by a member joining through a seed. */
  readonly join: boolean;
  readonly reply: boolean;
  readonly members: readonly MemberRecord[];
}

/** The protocol message a packet carries, if any (a pure gossip packet carries only updates). */
export type PacketBody = PingBody | PingReqBody | AckBody | NackBody | PushPullBody;

/**
 * One datagram of the protocol. Every packet names its sender and where to answer it, and carries
 * membership updates piggybacked on it.
 */
export interface GossipPacket {
  readonly from: string;
  readonly fromAddress: string;
  readonly body: PacketBody | undefined;
  readonly updates: readonly MemberUpdate[];
}

/** The kinds of packet, for counting: a body's kind, or 'gossip' for updates alone. */
export type PacketKind = PacketBody['kind'] | 'gossip';

/** The kind of a packet. */
export function packetKind(packet: GossipPacket): PacketKind {
  return packet.body?.kind ?? 'gossip';
}

/** Estimated encoded size of a packet (for the simulation's bandwidth figure). */
export function packetBytes(packet: GossipPacket): number {
  let n = 8 + packet.from.length + packet.fromAddress.length;
  const body = packet.body;
  if (body) {
    n += 8;
    if (body.kind === 'ping' || body.kind === 'ping-req') n += body.target.length;
    if (body.kind === 'ping-req') n += body.targetAddress.length;
    if (body.kind === 'push-pull') for (const m of body.members) n += recordBytes(m);
  }
  for (const u of packet.updates) n += updateBytes(u);
  return n;
}
