import { credentials, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Decision, LimitPolicy } from '@quorumkv/ratelimit';
import { ratelimitReplica } from '@quorumkv/proto';
import {
  MultiplexedStreamClient,
  StreamBrokenError,
  StreamCallError,
  StreamClosedError,
  StreamOverloadedError,
  StreamTimeoutError,
  streamChannelOptions,
  type Logger,
  type Timers,
} from '@quorumkv/service-kit';
import { OwnerUnreachableError } from './errors.js';
import { encodePolicy } from './policy-codec.js';

type Stream = ClientDuplexStream<ratelimitReplica.ForwardRequest, ratelimitReplica.ForwardResponse>;

/** Opens one Forward stream to a peer (injectable for tests). */
export type OpenForwardStream = () => Stream;

export interface PeerForwarderOptions {
  readonly selfId: string;
  readonly peerId: string;
  readonly address: string;
  /** How long an item may wait for its decision. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** The channel's credentials (TLS: see `TransportSecurity.channelCredentials`). @default plain text */
  readonly credentials?: ChannelCredentials;
  /** Replaces the gRPC client (tests). */
  readonly open?: OpenForwardStream;
  /** @default systemTimers */
  readonly timers?: Timers;
  /** Jitter of the reconnect backoff. @default Math.random */
  readonly random?: () => number;
  /** Defers a turn's flush. @default setImmediate */
  readonly schedule?: (fn: () => void) => void;
}

/**
 * Sends counter-key hits to the replica that owns them, over one long-lived bidirectional stream
 * (a service-kit `MultiplexedStreamClient`). Every hit asked during the same turn of the event
 * loop leaves in one message, so under load one write carries many decisions; the owner answers
 * each item by id. A broken stream fails the items written on it and is reopened after a short
 * jittered backoff; items asked meanwhile, or past the stream's bounds, fail at once and the
 * failure mode decides them.
 */
export class PeerForwarder {
  private readonly client: ratelimitReplica.RateLimitReplicaServiceClient | undefined;
  private readonly stream: MultiplexedStreamClient<ratelimitReplica.ForwardItem, ratelimitReplica.ForwardRequest, ratelimitReplica.Decision, ratelimitReplica.ForwardResponse>;

  constructor(private readonly options: PeerForwarderOptions) {
    // Why a short first delay: a forwarded decision is on a client's critical path, so one
    // dropped connection should cost a few milliseconds of failure-mode answers, not seconds.
    const backoff = { initialMs: 20, maxMs: 2_000 };
    let open = options.open;
    if (open === undefined) {
      const client = new ratelimitReplica.RateLimitReplicaServiceClient(options.address, options.credentials ?? credentials.createInsecure(), streamChannelOptions({ backoff }));
      this.client = client;
      open = () => client.forward();
    }
    this.stream = new MultiplexedStreamClient<ratelimitReplica.ForwardItem, ratelimitReplica.ForwardRequest, ratelimitReplica.Decision, ratelimitReplica.ForwardResponse>({
      peer: options.peerId,
      what: 'forward stream to the owner replica',
      open,
      pack: (items) => ({ from: options.selfId, items }),
      unpack: (res) => res.decisions,
      logger: options.logger,
      logFields: { peer: options.peerId, address: options.address },
      backoff,
      timeoutGranularityMs: Math.max(1, Math.min(10, Math.floor(options.timeoutMs / 4))),
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
  }

  /** Items asked and not yet answered. */
  get inFlight(): number {
    return this.stream.inFlight;
  }

  /**
   * Asks the owner to apply `hits` to `counterKey` under `policy` (negative: give them back).
   * @throws OwnerUnreachableError (as a rejection) when no answer comes in time.
   */
  async decide(counterKey: string, policy: LimitPolicy, hits: number): Promise<Decision> {
    let d: ratelimitReplica.Decision;
    try {
      d = await this.stream.call((id) => ({ id, counterKey, policy: encodePolicy(policy), hits: Math.abs(hits), refund: hits < 0 }), this.options.timeoutMs, counterKey.length + 64);
    } catch (err) {
      throw this.unreachable(err);
    }
    if (d.error !== '') throw new OwnerUnreachableError(this.options.peerId, 'owner-refused', d.error);
    return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, resetAfterMs: d.resetAfterMs, retryAfterMs: d.retryAfterMs };
  }

  /** Fails everything in flight and closes the stream and the channel. */
  close(): void {
    this.stream.close();
    this.client?.close();
  }

  private unreachable(err: unknown): OwnerUnreachableError {
    const peer = this.options.peerId;
    // Why not exact after a timeout: the owner may still apply these hits after we answered for
    // it; the failure mode, not the owner, decided this request. Counted as owner_unreachable.
    if (err instanceof StreamTimeoutError) return new OwnerUnreachableError(peer, 'timeout', `no decision within ${this.options.timeoutMs} ms`);
    if (err instanceof StreamClosedError) return new OwnerUnreachableError(peer, 'closed', 'forwarder closed');
    if (err instanceof StreamOverloadedError) return new OwnerUnreachableError(peer, 'overloaded', err.message);
    if (err instanceof StreamBrokenError) return new OwnerUnreachableError(peer, 'stream-failed', err.reason);
    return new OwnerUnreachableError(peer, 'stream-failed', err instanceof StreamCallError ? err.reason : String(err));
  }
}
