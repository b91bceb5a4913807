import type { GossipConfig } from '../config.js';
import type { GossipCounters } from '../events.js';
import { GossipMember } from '../gossip-member.js';
import { EMPTY_META, type MemberRecord } from '../member.js';
import { exponential, type Random, seededRandom } from '../random.js';
import { SimNetwork, type SimEndpoint } from './sim-network.js';
import { Simulator } from './simulator.js';

/** How to build a simulated cluster. */
export interface SimClusterOptions {
  readonly nodes: number;
  readonly seed: number;
  /** Probability that any one packet is lost. @default 0 */
  readonly lossRate?: number;
  /** Protocol settings for every member. */
  readonly config?: Partial<GossipConfig>;
  /**
   * True: every member starts knowing every other as alive (a converged cluster, so a run
   * measures steady state rather than the joining storm). False: members start alone and join
   * through member 0. @default true
   */
  readonly converged?: boolean;
}

/** A numeric counter's name. */
export type NumericCounter = Exclude<keyof GossipCounters, 'packetsSentByKind'>;

/** The id of simulated member `i`: zero-padded, so ids sort in creation order. */
export function simMemberId(i: number): string {
  return `m${String(i).padStart(4, '0')}`;
}

/**
 * N {@link GossipMember}s on a {@link SimNetwork}, driven by one {@link Simulator}: the real
 * protocol code, with simulated time, loss, pauses and crashes.
 */
export class SimCluster {
  readonly sim = new Simulator();
  readonly network: SimNetwork;
  readonly members: GossipMember[] = [];
  readonly endpoints: SimEndpoint[] = [];
  readonly random: Random;
  private readonly options: SimClusterOptions;

  constructor(options: SimClusterOptions) {
    this.options = options;
    this.random = seededRandom(options.seed);
    this.network = new SimNetwork(this.sim, { random: seededRandom(options.seed ^ 0x5eed), lossRate: options.lossRate ?? 0 });
    const converged = options.converged ?? true;
    const records: MemberRecord[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const id = simMemberId(i);
      records.push({ id, address: `${id}:7946`, meta: EMPTY_META, incarnation: 0, state: 'alive', payload: undefined });
    }
    for (let i = 0; i < options.nodes; i++) this.add(i, converged ? records : []);
    for (const m of this.members) m.start();
    if (!converged) for (const m of this.members.slice(1)) void m.join([this.addressOf(0)]).catch(() => undefined);
  }

  /** The address of member `i`. */
  addressOf(i: number): string {
    return `${simMemberId(i)}:7946`;
  }

  /** Runs the simulation for `ms` of virtual time. */
  runFor(ms: number): void {
    this.sim.runFor(ms);
  }

  /** Kills member `i` (a crash: it announces nothing). */
  crash(i: number): void {
    this.network.crash(this.addressOf(i));
    void this.members[i]?.stop();
  }

  /** Restarts member `i` as a fresh process (incarnation 0, knowing nobody) that joins through `seed`. */
  restart(i: number, seed: number): GossipMember {
    const member = this.add(i, [], true);
    member.start();
    void member.join([this.addressOf(seed)]).catch(() => undefined);
    return member;
  }

  /** Stalls member `i`'s event loop every `meanIntervalMs` on average (Poisson), for `pauseMs` each time. */
  injectPauses(pauseMs: number, meanIntervalMs: number): void {
    const random = seededRandom(this.options.seed ^ 0x9a05e);
    this.endpoints.forEach((endpoint) => {
      const next = (): void => {
        this.sim.after(exponential(random, meanIntervalMs), () => {
          if (endpoint.crashed) return;
          endpoint.pause(pauseMs);
          next();
        });
      };
      next();
    });
  }

  /** The sum of one counter over every member (crashed ones included, as of their crash). */
  total(counter: NumericCounter): number {
    let sum = 0;
    for (const m of this.members) sum += m.counters()[counter];
    return sum;
  }

  private add(i: number, known: readonly MemberRecord[], restart = false): GossipMember {
    const address = this.addressOf(i);
    const endpoint = restart ? this.network.restart(address) : this.network.endpoint(address);
    const member = new GossipMember({
      id: simMemberId(i),
      address,
      transport: endpoint.transport,
      clock: endpoint.clock,
      random: seededRandom((this.options.seed * 7919 + i * 104729 + (restart ? 1 : 0)) >>> 0),
      loopDelay: endpoint.loopDelay,
      config: this.options.config,
      knownMembers: known,
    });
    this.members[i] = member;
    this.endpoints[i] = endpoint;
    return member;
  }
}
