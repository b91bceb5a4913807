import type { Clock, Timer } from '../clock.js';
import type { LoopDelaySource } from '../local-health.js';
import type { GossipPacket } from '../messages.js';
import type { Random } from '../random.js';
import type { GossipTransport, PacketReceiver } from '../transport.js';
import type { SimRunner, Simulator } from './simulator.js';

/** Settings of a simulated network. */
export interface SimNetworkOptions {
  readonly random: Random;
  /** Probability that any one packet is lost. @default 0 */
  readonly lossRate?: number;
  /** One-way delay, uniform in [min, max] ms. @default { min: 0.2, max: 2 } */
  readonly latencyMs?: { readonly min: number; readonly max: number };
}

/** Packets the network carried, dropped and lost. */
export interface SimNetworkStats {
  sent: number;
  delivered: number;
  /** Lost to the loss rate. */
  lost: number;
  /** Dropped by a partition, or sent to or from a crashed or closed member. */
  dropped: number;
}

/**
 * One simulated process: its clock, its transport and its event-loop delay. While paused (a
 * stalled event loop) nothing it owns runs: due timers and arriving packets wait, and at the end
 * of the pause the timers run first, then the packets — the order Node runs them in after a stall.
 * A crashed process runs nothing and receives nothing, ever again.
 */
export class SimEndpoint {
  receiver: PacketReceiver | undefined;
  closed = false;
  crashed = false;
  private pausedUntil = -1;
  private longestPauseMs = 0;
  private deferredTimers: Array<() => void> = [];
  private deferredPackets: Array<() => void> = [];
  readonly clock: Clock;
  readonly transport: GossipTransport;
  readonly loopDelay: LoopDelaySource;

  constructor(
    readonly address: string,
    private readonly network: SimNetwork,
    private readonly sim: Simulator,
  ) {
    const timers: SimRunner = { runEvent: (fn) => this.run(fn, this.deferredTimers) };
    this.clock = {
      now: () => this.sim.now,
      setTimer: (delayMs, fn): Timer => this.sim.after(delayMs, fn, timers),
    };
    this.transport = {
      send: (to, packet) => this.network.send(this, to, packet),
      listen: (receive) => {
        this.receiver = receive;
      },
      close: () => {
        this.closed = true;
      },
    };
    this.loopDelay = () => {
      const delay = this.longestPauseMs;
      this.longestPauseMs = 0;
      return delay;
    };
  }

  /** True while the process is stalled. */
  get paused(): boolean {
    return this.sim.now < this.pausedUntil;
  }

  /** Stalls the process for `ms`. */
  pause(ms: number): void {
    const until = this.sim.now + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.longestPauseMs = Math.max(this.longestPauseMs, ms);
    this.sim.at(until, () => this.resume());
  }

  /** Hands an arriving packet to the receiver (now, or after a pause). */
  deliver(packet: GossipPacket): boolean {
    if (this.crashed || this.closed || !this.receiver) return false;
    this.run(() => this.receiver?.(packet), this.deferredPackets);
    return true;
  }

  private run(fn: () => void, deferred: Array<() => void>): void {
    if (this.crashed) return;
    if (this.paused) deferred.push(fn);
    else fn();
  }

  private resume(): void {
    if (this.paused || this.crashed) return;
    const timers = this.deferredTimers;
    const packets = this.deferredPackets;
    this.deferredTimers = [];
    this.deferredPackets = [];
    for (const fn of timers) fn();
    for (const fn of packets) fn();
  }
}

/**
 * An in-memory network for simulations and tests: per-packet loss, random latency, partitions,
 * paused and crashed members. Everything random comes from the injected generator, so a seed
 * replays a run exactly.
 */
export class SimNetwork {
  lossRate: number;
  /** Drops any packet for which it returns true (a test's targeted fault, e.g. one link one way). */
  dropIf: ((from: string, to: string, packet: GossipPacket) => boolean) | undefined;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, dropped: 0 };
  private readonly endpoints = new Map<string, SimEndpoint>();
  private readonly random: Random;
  private readonly latency: { readonly min: number; readonly max: number };
  private groups: Map<string, number> | undefined;

  constructor(
    private readonly sim: Simulator,
    options: SimNetworkOptions,
  ) {
    this.random = options.random;
    this.lossRate = options.lossRate ?? 0;
    this.latency = options.latencyMs ?? { min: 0.2, max: 2 };
  }

  /** The endpoint of the process at `address` (created on first use). */
  endpoint(address: string): SimEndpoint {
    let endpoint = this.endpoints.get(address);
    if (!endpoint) {
      endpoint = new SimEndpoint(address, this, this.sim);
      this.endpoints.set(address, endpoint);
    }
    return endpoint;
  }

  /** Replaces the process at `address` with a fresh one (a restart after a crash). */
  restart(address: string): SimEndpoint {
    const old = this.endpoints.get(address);
    if (old) old.crashed = true;
    this.endpoints.delete(address);
    return this.endpoint(address);
  }

  /** Kills the process at `address`: it sends, receives and runs nothing more. */
  crash(address: string): void {
    this.endpoint(address).crashed = true;
  }

  /** Splits the network: packets between addresses in different groups are dropped; others flow. */
  partition(...groups: ReadonlyArray<readonly string[]>): void {
    this.groups = new Map();
    groups.forEach((group, i) => group.forEach((a) => this.groups?.set(a, i)));
  }

  /** Ends any partition. */
  heal(): void {
    this.groups = undefined;
  }

  /** Carries one packet from `from` to the address `to`. */
  send(from: SimEndpoint, to: string, packet: GossipPacket): void {
    if (from.crashed || from.closed) return;
    this.stats.sent += 1;
    if (this.groups && (this.groups.get(from.address) ?? -1) !== (this.groups.get(to) ?? -1)) {
      this.stats.dropped += 1;
      return;
    }
    if (this.dropIf?.(from.address, to, packet)) {
      this.stats.dropped += 1;
      return;
    }
    if (this.lossRate > 0 && this.random.next() < this.lossRate) {
      this.stats.lost += 1;
      return;
    }
    const { min, max } = this.latency;
    this.sim.after(min + this.random.next() * (max - min), () => {
      const target = this.endpoints.get(to);
      if (target?.deliver(packet)) this.stats.delivered += 1;
      else this.stats.dropped += 1;
    });
  }
}
