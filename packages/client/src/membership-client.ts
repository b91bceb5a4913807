import {
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  Metadata,
  type ServiceError,
  connectivityState,
  credentials as grpcCredentials,
} from '@grpc/grpc-js';
import { fromHandoffResponse, type ClusterHandoff } from './cluster-handoff.js';
import { setTimeout as delay } from 'node:timers/promises';
import { membership } from '@quorumkv/proto';
import { type CallWithRetryOptions, callWithRetry } from './call-with-retry.js';
import {
  type ChangeResult,
  type ClusterMembers,
  type ClusterTransfers,
  fromMembershipStatus,
  fromTransfersResponse,
} from './cluster-members.js';
import { ClientOptionsError, type QuorumKvError, toQuorumKvError } from './errors.js';
import { DEFAULT_DEADLINE_MS } from './kv-client.js';
import { type CallOptions, callDeadlineMs } from './request-options.js';
import { type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions } from './retry-policy.js';

/** Where `npm start` runs the membership service, and the address a client dials when none is given. */
export const DEFAULT_MEMBERSHIP_ADDRESS = '127.0.0.1:7946';

/** Options of {@link MembershipClient}. Time and randomness are injectable for tests. */
export interface MembershipClientOptions {
  /**
   * A membership replica, `host:port` (any one: they forward changes to the claimant).
   * @default '127.0.0.1:7946'
   */
  address?: string;
  /** Overall deadline of each call in ms, retries included. @default 5000 */
  deadlineMs?: number;
  /** Retry of UNAVAILABLE answers; see {@link RetryOptions}. Every command here is idempotent. */
  retry?: RetryOptions;
  /** @default insecure */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** @default Math.random */
  random?: () => number;
  /** @default node:timers/promises setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** @default performance.now */
  now?: () => number;
}

/** Options of {@link MembershipClient.join}. */
export interface JoinOptions extends CallOptions {
  /** The node's failure domain; replicas spread across zones. */
  zone?: string;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * The cluster commands (the `MembershipService` API `qkv cluster …` uses): who is in the cluster
 * and how each member is doing, adding, decommissioning and removing storage nodes, the ranges
 * moving, and the streaming throttle. Join, leave, remove and throttle are idempotent, so they are
 * retried like reads.
 */
export class MembershipClient {
  readonly address: string;
  private readonly deadlineMs: number;
  private readonly retry: ResolvedRetryOptions;
  private readonly clock: CallWithRetryOptions['clock'];
  private readonly client: membership.MembershipServiceClient;

  constructor(options: MembershipClientOptions = {}) {
    this.address = options.address ?? DEFAULT_MEMBERSHIP_ADDRESS;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    if (!Number.isFinite(this.deadlineMs) || this.deadlineMs <= 0) throw new ClientOptionsError('deadlineMs', this.deadlineMs, 'a positive number');
    this.retry = resolveRetryOptions(options.retry);
    this.clock = {
      now: options.now ?? (() => performance.now()),
      sleep: options.sleep ?? ((ms: number) => delay(ms)),
      random: options.random ?? Math.random,
    };
    this.client = new membership.MembershipServiceClient(this.address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions);
  }

  /** Every member: role, liveness, ring state, zone, owned share, keys and bytes. */
  async status(opts: CallOptions = {}): Promise<ClusterMembers> {
    return fromMembershipStatus(await this.call(this.client.status.bind(this.client), {}, opts));
  }

  /** Adds storage node `id` at `address` (its StorageService) to the ring: JOINING until its ranges arrived. */
  async join(id: string, address: string, opts: JoinOptions = {}): Promise<ChangeResult> {
    return change(await this.call(this.client.join.bind(this.client), { id, address, zone: opts.zone ?? '' }, opts));
  }

  /** Decommissions node `id`: its ranges stream to their new owners, then it is LEFT. */
  async leave(id: string, opts: CallOptions = {}): Promise<ChangeResult> {
    return change(await this.call(this.client.leave.bind(this.client), { id }, opts));
  }

  /** Takes a dead node out of the ring for good: its ranges are rebuilt from the surviving replicas. */
  async remove(id: string, opts: CallOptions = {}): Promise<ChangeResult> {
    return change(await this.call(this.client.remove.bind(this.client), { id }, opts));
  }

  /** Every range moving now, with progress (empty when nothing moves). */
  async transfers(opts: CallOptions = {}): Promise<ClusterTransfers> {
    return fromTransfersResponse(await this.call(this.client.transfers.bind(this.client), {}, opts));
  }

  /** Hinted handoff per storage node: hints pending and their age, delivery counts and rate (`qkv cluster handoff`). */
  async handoff(opts: CallOptions = {}): Promise<ClusterHandoff> {
    return fromHandoffResponse(await this.call(this.client.handoff.bind(this.client), {}, opts));
  }

  /** Sets the streaming throughput per receiving node (bytes per second); resolves with the value in force. */
  async setThrottle(bytesPerS: number, opts: CallOptions = {}): Promise<number> {
    if (!Number.isSafeInteger(bytesPerS) || bytesPerS <= 0) throw new ClientOptionsError('bytesPerS', bytesPerS, 'a positive whole number');
    const res = await this.call(this.client.setThrottle.bind(this.client), { bytesPerS: BigInt(bytesPerS) }, opts);
    return Number(res.bytesPerS);
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  private async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions): Promise<Res> {
    const deadlineMs = callDeadlineMs(opts.deadlineMs, this.deadlineMs);
    return callWithRetry(
      (remainingMs) =>
        new Promise<Res>((resolve, reject) => {
          method(request, new Metadata(), { deadline: Date.now() + remainingMs }, (err, res) => (err ? reject(err) : resolve(res)));
        }),
      { retry: this.retry, clock: this.clock, deadlineMs, toError: (err, attempts) => this.toError(err, attempts, deadlineMs) },
    );
  }

  private toError(err: unknown, attempts: number, deadlineMs: number): QuorumKvError {
    return toQuorumKvError(err, {
      address: this.address,
      attempts,
      deadlineMs,
      connected: this.client.getChannel().getConnectivityState(false) === connectivityState.READY,
      retryAfterMs: undefined,
      service: 'membership',
    });
  }
}

function change(res: membership.ChangeResponse): ChangeResult {
  return { epoch: Number(res.epoch), message: res.message };
}
