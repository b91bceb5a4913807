import { BroadcastQueue } from './broadcast-queue.js';
import type { Clock, Timer } from './clock.js';
import type { GossipConfig } from './config.js';
import type { MutableCounters } from './events.js';
import { type MemberUpdate, updateBytes } from './member.js';
import type { MemberTable } from './member-table.js';
import { type GossipPacket, type PacketBody, packetKind } from './messages.js';
import type { GossipTransport } from './transport.js';

/** The queue key of a member's liveness claims (one waits per member; a newer one replaces it). */
export const stateKey = (id: string): string => `s:${id}`;
/** The queue key of a member's payload. */
export const payloadKey = (id: string): string => `p:${id}`;

/** What dissemination needs from the member that runs it. */
export interface DisseminationHost {
  readonly table: MemberTable;
  readonly clock: Clock;
  readonly config: GossipConfig;
  readonly counters: MutableCounters;
  readonly transport: GossipTransport;
  /** True while the member runs or is leaving (gossip rounds go on until it stops). */
  isActive(): boolean;
}

/**
 * Spreading news: every packet a member sends carries the least-sent waiting updates, and while
 * updates wait, gossip rounds send them to `gossipNodes` random members every `gossipIntervalMs`
 * (and to members down less than `gossipToTheDeadMs`, so a member wrongly declared down hears it
 * and refutes).
 */
export class Dissemination {
  private readonly queue: BroadcastQueue;
  private timer: Timer | undefined;
  /** Gossip rounds fall on phase + k × gossipIntervalMs (a random phase per member). */
  private phase = 0;

  constructor(private readonly host: DisseminationHost) {
    this.queue = new BroadcastQueue(host.config.retransmitMult);
  }

  /** Starts gossip rounds on the given phase (a time on the member's clock). */
  start(phase: number): void {
    this.phase = phase;
    this.schedule();
  }

  /** Stops gossip rounds and drops what waits. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.clear();
  }

  /** Queues an update under `key` and makes sure a gossip round is coming. */
  broadcast(key: string, update: MemberUpdate, onDone?: () => void): void {
    this.queue.enqueue(key, update, onDone);
    this.schedule();
  }

  /** Sends a protocol message with waiting updates piggybacked, `lead` first. */
  send(address: string, body: PacketBody, lead?: MemberUpdate): void {
    const budget = this.host.config.maxPacketBytes - (lead ? updateBytes(lead) : 0);
    const updates = this.queue.take(budget, this.host.table.liveCount);
    if (lead) updates.unshift(lead);
    this.transmit(address, body, updates);
  }

  /**
   * Arms the next gossip round while updates wait. Rounds keep the member's fixed phase, as a
   * ticker would; the ticker is simply not run while there is nothing to say (memberlist's ticks
   * then send nothing either), which spares an idle member — and the simulator — four wake-ups
   * out of five.
   */
  private schedule(): void {
    if (this.timer || this.queue.size === 0 || !this.host.isActive()) return;
    const interval = this.host.config.gossipIntervalMs;
    const now = this.host.clock.now();
    const next = now < this.phase ? this.phase : this.phase + (Math.floor((now - this.phase) / interval) + 1) * interval;
    this.timer = this.host.clock.setTimer(next - now, () => this.round());
  }

  private round(): void {
    this.timer = undefined;
    if (!this.host.isActive()) return;
    const { table, clock, config } = this.host;
    const now = clock.now();
    const targets = table.randomMembers(
      config.gossipNodes,
      (e) => e.state === 'alive' || e.state === 'suspect' || (e.state === 'down' && now - e.stateChangedAt < config.gossipToTheDeadMs),
    );
    for (const target of targets) {
      const updates = this.queue.take(config.maxPacketBytes, table.liveCount);
      if (updates.length === 0) break;
      this.transmit(target.address, undefined, updates);
    }
    this.schedule();
  }

  private transmit(address: string, body: PacketBody | undefined, updates: MemberUpdate[]): void {
    const self = this.host.table.self;
    const packet: GossipPacket = { from: self.id, fromAddress: self.address, body, updates };
    this.host.counters.packetsSent += 1;
    this.host.counters.packetsSentByKind[packetKind(packet)] += 1;
    this.host.transport.send(address, packet);
  }
}
