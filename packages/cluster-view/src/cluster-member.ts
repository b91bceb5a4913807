/**
 * The gossip side of a quorumkv process: every process (storage node, coordinator, rate limiter,
 * membership replica) is a SWIM member on its own gRPC port, with its role and zone in its
 * metadata, joined through the seed addresses (the membership service).
 */
import { hostname } from 'node:os';
import { gossip as gossipWire } from '@quorumkv/proto';
import {
  type Clock,
  type GossipConfig,
  GossipMember,
  GrpcGossipTransport,
  type GrpcGossipTransportOptions,
  JoinError,
  type MemberRecord,
  mathRandom,
  monitorLoopDelay,
  type Random,
  systemClock,
  type Timer,
} from '@quorumkv/gossip';
import type { Logger, ServiceRegistration } from '@quorumkv/service-kit';
import { type BackoffBounds, retryDelay } from './backoff.js';
import type { Role } from './roles.js';

/** How to start a {@link ClusterGossip} member. */
export interface ClusterMemberOptions {
  /** Unique in the cluster across roles (a storage node's ring id, a pod name…). */
  readonly id: string;
  /** `host:port` other members reach this process on: its gRPC server's advertised address. */
  readonly address: string;
  readonly role: Role;
  /** Failure domain; '' or absent when not set. */
  readonly zone?: string;
  /** Addresses to join through (membership replicas); this process's own address is skipped. */
  readonly seeds: readonly string[];
  readonly logger: Logger;
  readonly tags?: Readonly<Record<string, string>>;
  readonly gossipConfig?: Partial<GossipConfig>;
  /** Members known from a previous run, to rejoin without waiting for a seed. */
  readonly knownMembers?: readonly MemberRecord[];
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default mathRandom */
  readonly random?: Random;
  /** Back-off between join attempts while no seed answers. @default 200 ms → 5 s */
  readonly joinRetry?: BackoffBounds;
  /** How long one join attempt waits for a seed. @default 3000 */
  readonly joinTimeoutMs?: number;
}

/**
 * One process's gossip membership. Register `registration` with the service's gRPC server before
 * it binds (gossip shares its port), then `start()` with the bound address: the member starts at
 * once and joins in the background, retrying with back-off until a seed answers (a storage node
 * may start before the membership service). `stop()` announces the departure (others see `left`,
 * not `down`) and closes everything.
 */
export class ClusterGossip {
  readonly transport: GrpcGossipTransport;
  /** `quorumkv.gossip.v1.GossipService`, for service-kit `startGrpcHost`'s `services`. */
  readonly registration: ServiceRegistration;
  private member: GossipMember | undefined;
  private loop: ReturnType<typeof monitorLoopDelay> | undefined;
  private joinTimer: Timer | undefined;
  private joined = false;
  private stopped = false;

  constructor(transportOptions: GrpcGossipTransportOptions = {}) {
    this.transport = new GrpcGossipTransport(transportOptions);
    this.registration = { name: 'quorumkv.gossip.v1.GossipService', definition: gossipWire.GossipServiceService, implementation: this.transport.service };
  }

  /** The running member. @throws Error before `start()`. */
  get gossip(): GossipMember {
    if (!this.member) throw new Error('ClusterGossip: start() first');
    return this.member;
  }

  /** Whether a seed has answered (or there was none to ask). */
  get hasJoined(): boolean {
    return this.joined;
  }

  /** Starts the member and joins the seeds in the background; returns the member. */
  start(options: ClusterMemberOptions): GossipMember {
    if (this.member) throw new Error('ClusterGossip: already started');
    const clock = options.clock ?? systemClock;
    const random = options.random ?? mathRandom;
    this.loop = options.clock ? undefined : monitorLoopDelay();
    const member = new GossipMember({
      id: options.id,
      address: options.address,
      meta: { role: options.role, zone: options.zone ?? '', ...(options.tags ? { tags: options.tags } : {}) },
      transport: this.transport,
      clock,
      random,
      ...(options.gossipConfig ? { config: options.gossipConfig } : {}),
      ...(options.knownMembers ? { knownMembers: options.knownMembers } : {}),
      ...(this.loop ? { loopDelay: this.loop.read } : {}),
    });
    this.member = member;
    member.start();
    const seeds = options.seeds.filter((s) => s !== options.address);
    const bounds = options.joinRetry ?? { initialMs: 200, maxMs: 5_000 };
    let attempt = 0;
    const tryJoin = (): void => {
      if (this.stopped) return;
      member.join(seeds, options.joinTimeoutMs ?? 3_000).then(
        (result) => {
          this.joined = true;
          options.logger.info({ seed: result.seed, members: result.members }, 'joined the cluster gossip');
        },
        (err: unknown) => {
          if (this.stopped) return;
          if (!(err instanceof JoinError)) {
            options.logger.error({ err }, 'gossip join failed');
            return;
          }
          const delay = retryDelay(attempt++, bounds, () => random.next());
          options.logger.warn({ seeds, retryInMs: delay }, 'no seed answered the gossip join; retrying');
          this.joinTimer = clock.setTimer(delay, tryJoin);
        },
      );
    };
    tryJoin();
    return member;
  }

  /** Announces the departure (bounded by `timeoutMs`), then stops the member and its transport. */
  async stop(timeoutMs = 2_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.joinTimer?.cancel();
    this.loop?.stop();
    if (this.member) {
      await this.member.leave(timeoutMs);
      await this.member.stop();
    } else {
      this.transport.close();
    }
  }
}

/** Members a full-state gossip sync is sized for (see {@link gossipReceiveLimit}). */
export const GOSSIP_SYNC_MEMBERS = 512;

/**
 * The largest gossip packet a process must accept on its gRPC port: a full-state sync (push-pull)
 * carries every member's record — id, address, metadata and payload at the library's limits
 * (512 bytes each), and a few numbers — so it grows with the cluster; the other packets are
 * bounded by `maxPacketBytes` (1400). Sized for {@link GOSSIP_SYNC_MEMBERS} members. A service
 * whose own requests are smaller takes the larger of the two as its server's receive limit.
 */
export function gossipReceiveLimit(members = GOSSIP_SYNC_MEMBERS): number {
  const record = 64 + 256 + 512 + 512 + 64;
  return members * record + 4 * 1024;
}

/**
 * The address other members reach this process on: `advertise` when given, else the listen host
 * with the bound port; a wildcard listen host (0.0.0.0, ::) is replaced by this host's name.
 */
export function advertisedAddress(listen: string, boundPort: number, advertise = ''): string {
  if (advertise !== '') return advertise;
  const host = listen.replace(/:\d+$/, '');
  const wildcard = host === '0.0.0.0' || host === '[::]' || host === '::' || host === '';
  return `${wildcard ? hostname() : host}:${boundPort}`;
}
