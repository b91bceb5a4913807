import type { GossipPacket } from './messages.js';

/** Receives every packet that arrives for a member. */
export type PacketReceiver = (packet: GossipPacket) => void;

/**
 * How a member's packets travel. The protocol treats every packet as a datagram — it may be
 * lost, and no send ever waits or fails loudly — so one interface serves the in-memory simulated
 * network and gRPC streams alike, and the protocol's timeouts alone decide what is down.
 */
export interface GossipTransport {
  /** Sends `packet` to the member listening at `address`; best effort, never throws for an unreachable peer. */
  send(address: string, packet: GossipPacket): void;
  /** Hands every arriving packet to `receive` (replacing any earlier receiver). */
  listen(receive: PacketReceiver): void;
  /** Stops sending and receiving and releases connections. */
  close(): void | Promise<void>;
}
