/**
 * The client side of `MembershipService/Watch`: one server stream to one membership replica at a
 * time, the latest view kept, every change emitted, and a reconnect across the seed addresses
 * with back-off when the stream breaks.
 */
import { type ChannelCredentials, type ChannelOptions, type ClientReadableStream, credentials as grpcCredentials } from '@grpc/grpc-js';
import { type Clock, mathRandom, type Random, systemClock, type Timer } from '@quorumkv/gossip';
import { membership } from '@quorumkv/proto';
import { backoffDelay, type BackoffOptions, type Logger } from '@quorumkv/service-kit';
import { type ClusterView, viewFromWire } from './cluster-view.js';
import { EpochWaitTimeoutError, ViewClosedError } from './errors.js';
import { type Role, roleToWire } from './roles.js';
import { sameMembers, sameSettings } from './view-diff.js';

/**
 * Channel options for the watch stream. Why: grpc-js reconnects after up to 120 s by default,
 * which would hide a restarted membership replica; keepalive notices a replica that vanished
 * without closing its connection (a partition), so the client moves to another seed.
 */
export const WATCH_CHANNEL_OPTIONS: Readonly<ChannelOptions> = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
});

/** What changed from one view to the next. */
export interface ViewChange {
  readonly view: ClusterView;
  /** Undefined for the first view. */
  readonly previous: ClusterView | undefined;
  readonly ringChanged: boolean;
  readonly settingsChanged: boolean;
  readonly membersChanged: boolean;
}

/** How to build a {@link ClusterViewClient}. */
export interface ClusterViewClientOptions {
  /** Membership replicas to watch through (`host:port`), tried in turn. */
  readonly seeds: readonly string[];
  /** This process's id, for the membership service's logs. */
  readonly watcherId: string;
  readonly role: Role;
  readonly logger?: Logger;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default mathRandom */
  readonly random?: Random;
  /** @default insecure */
  readonly credentials?: ChannelCredentials;
  /** Laid over {@link WATCH_CHANNEL_OPTIONS}. */
  readonly channelOptions?: ChannelOptions;
  /** Reconnect back-off; a full pass over the seeds counts as one attempt. @default 100 ms → 5 s */
  readonly backoff?: BackoffOptions;
  /**
   * A `waitForEpoch` still short of its epoch after this long moves the stream to the next seed
   * (the replica it watches may be lagging or cut off). @default 1000
   */
  readonly staleSeedMs?: number;
}

interface Waiter {
  readonly epoch: number;
  readonly resolve: (view: ClusterView) => void;
  readonly reject: (err: Error) => void;
  readonly timers: Timer[];
}

/**
 * Follows the cluster through the membership service. `start()` connects; `current` is the
 * latest view (undefined before the first answer); `onChange` hears every change;
 * `waitForEpoch(e, ms)` resolves once the committed ring reached epoch `e`.
 *
 * Epochs never go back: a view with an older ring than one already seen (a replica that lags
 * behind the claimant) keeps the newer ring and takes only its members.
 */
export class ClusterViewClient {
  private readonly seeds: readonly string[];
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly credentials: ChannelCredentials;
  private readonly channelOptions: ChannelOptions;
  private readonly backoff: BackoffOptions;
  private readonly staleSeedMs: number;
  private readonly listeners = new Set<(change: ViewChange) => void>();
  private readonly waiters = new Set<Waiter>();
  private view: ClusterView | undefined;
  private seedIndex: number;
  private attempt = 0;
  private client: membership.MembershipServiceClient | undefined;
  private call: ClientReadableStream<membership.ClusterView> | undefined;
  private seedOfCall: string | undefined;
  private connected = false;
  private retryTimer: Timer | undefined;
  private lastSwitchAt = Number.NEGATIVE_INFINITY;
  private state: 'created' | 'running' | 'closed' = 'created';

  constructor(private readonly options: ClusterViewClientOptions) {
    if (options.seeds.length === 0) throw new TypeError('ClusterViewClient needs at least one seed address');
    this.seeds = [...options.seeds];
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? mathRandom;
    this.credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.channelOptions = { ...WATCH_CHANNEL_OPTIONS, ...options.channelOptions };
    this.backoff = options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    this.staleSeedMs = options.staleSeedMs ?? 1_000;
    // Start at a random seed so that a cluster's processes spread over the replicas.
    this.seedIndex = Math.floor(this.random.next() * this.seeds.length);
  }

  /** The latest view, or undefined before the first answer. */
  get current(): ClusterView | undefined {
    return this.view;
  }

  /** The committed ring epoch of the latest view (0 before any). */
  get epoch(): number {
    return this.view?.ring.epoch ?? 0;
  }

  /** The seed whose stream is delivering views now, or undefined while reconnecting. */
  get connectedTo(): string | undefined {
    return this.connected ? this.seedOfCall : undefined;
  }

  /** Opens the watch stream (to a random seed first). */
  start(): void {
    if (this.state !== 'created') throw new Error('ClusterViewClient.start: already started');
    this.state = 'running';
    this.connect();
  }

  /** Calls `listener` on every change (the first view included); returns the unsubscribe function. */
  onChange(listener: (change: ViewChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the view once its ring reached `epoch` (at once if it has).
   * @throws EpochWaitTimeoutError after `timeoutMs`; ViewClosedError if the client closes first.
   */
  waitForEpoch(epoch: number, timeoutMs: number): Promise<ClusterView> {
    if (this.view && this.view.ring.epoch >= epoch) return Promise.resolve(this.view);
    if (this.state === 'closed') return Promise.reject(new ViewClosedError());
    return new Promise<ClusterView>((resolve, reject) => {
      const timers: Timer[] = [];
      const waiter: Waiter = { epoch, resolve, reject, timers };
      this.waiters.add(waiter);
      timers.push(
        this.clock.setTimer(timeoutMs, () => {
          this.settle(waiter);
          reject(new EpochWaitTimeoutError(epoch, this.view ? this.view.ring.epoch : -1, timeoutMs));
        }),
      );
      if (this.seeds.length > 1 && this.staleSeedMs < timeoutMs) {
        timers.push(this.clock.setTimer(this.staleSeedMs, () => this.switchIfLagging(epoch)));
      }
    });
  }

  /** Resolves with the first view (at once if there is one). @throws EpochWaitTimeoutError */
  waitForView(timeoutMs: number): Promise<ClusterView> {
    return this.waitForEpoch(0, timeoutMs);
  }

  /** Ends the stream and every wait (they reject with ViewClosedError). */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.retryTimer?.cancel();
    this.teardown();
    for (const waiter of [...this.waiters]) {
      this.settle(waiter);
      waiter.reject(new ViewClosedError());
    }
    this.listeners.clear();
  }

  private connect(): void {
    if (this.state !== 'running') return;
    const seed = this.seeds[this.seedIndex % this.seeds.length] as string;
    const client = new membership.MembershipServiceClient(seed, this.credentials, this.channelOptions);
    const call = client.watch({ watcherId: this.options.watcherId, role: roleToWire(this.options.role), afterEpoch: 0n });
    this.client = client;
    this.call = call;
    this.seedOfCall = seed;
    call.on('data', (msg: membership.ClusterView) => {
      if (call !== this.call) return;
      if (!this.connected) {
        this.connected = true;
        this.attempt = 0;
        this.options.logger?.info({ membership: seed }, 'watching the cluster view');
      }
      this.apply(msg, seed);
    });
    call.on('error', (err: Error) => this.broken(call, err));
    call.on('end', () => this.broken(call, undefined));
  }

  private broken(call: ClientReadableStream<membership.ClusterView>, err: Error | undefined): void {
    if (call !== this.call || this.state !== 'running') return;
    const seed = this.seedOfCall;
    const wasConnected = this.connected;
    this.teardown();
    this.seedIndex += 1;
    // A full pass over the seeds is one attempt: each seed is tried once quickly before waiting longer.
    const delay = backoffDelay(Math.floor(this.attempt / this.seeds.length), this.backoff, () => this.random.next());
    this.attempt += 1;
    const log = { membership: seed, retryInMs: delay, cause: err?.message ?? 'stream ended' };
    if (wasConnected) this.options.logger?.warn(log, 'cluster view stream lost; reconnecting');
    else this.options.logger?.debug(log, 'membership replica unreachable; trying the next seed');
    this.retryTimer = this.clock.setTimer(delay, () => this.connect());
  }

  private teardown(): void {
    const { call, client } = this;
    this.call = undefined;
    this.client = undefined;
    this.connected = false;
    call?.removeAllListeners();
    // An error may still come from the cancelled call; nobody listens to it any more.
    call?.on('error', () => undefined);
    call?.cancel();
    client?.close();
  }

  private switchIfLagging(epoch: number): void {
    if (this.state !== 'running' || !this.connected || this.epoch >= epoch) return;
    const now = this.clock.now();
    if (now - this.lastSwitchAt < this.staleSeedMs) return;
    this.lastSwitchAt = now;
    this.options.logger?.warn({ membership: this.seedOfCall, epoch: this.epoch, waitingFor: epoch }, 'membership replica lags; watching through the next seed');
    this.teardown();
    this.seedIndex += 1;
    this.connect();
  }

  private apply(msg: membership.ClusterView, seed: string): void {
    let next: ClusterView;
    try {
      next = viewFromWire(msg, this.view?.ring);
    } catch (err) {
      this.options.logger?.error({ err, membership: seed }, 'membership replica sent a malformed view; ignored');
      return;
    }
    const previous = this.view;
    if (previous && next.ring.epoch < previous.ring.epoch) {
      next = { ...next, ring: previous.ring, settings: previous.settings, committedAtMs: previous.committedAtMs };
    }
    const change: ViewChange = {
      view: next,
      previous,
      ringChanged: previous === undefined || next.ring.epoch !== previous.ring.epoch,
      settingsChanged: previous === undefined || !sameSettings(next.settings, previous.settings),
      membersChanged: previous === undefined || !sameMembers(next.members, previous.members),
    };
    if (previous && !change.ringChanged && !change.settingsChanged && !change.membersChanged) return;
    this.view = next;
    for (const waiter of [...this.waiters]) {
      if (next.ring.epoch >= waiter.epoch) {
        this.settle(waiter);
        waiter.resolve(next);
      }
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger?.error({ err }, 'cluster view listener threw');
      }
    }
  }

  private settle(waiter: Waiter): void {
    this.waiters.delete(waiter);
    for (const t of waiter.timers) t.cancel();
  }
}
