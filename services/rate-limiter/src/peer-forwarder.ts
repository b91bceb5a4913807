import { credentials, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Decision, LimitPolicy } from '@quorumkv/ratelimit';
import { ratelimitReplica } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';
import { OwnerUnreachableError } from './errors.js';
import { encodePolicy } from './policy-codec.js';

type Stream = ClientDuplexStream<ratelimitReplica.ForwardRequest, ratelimitReplica.ForwardResponse>;

/** Opens one Forward stream to a peer (injectable for tests). */
export type OpenForwardStream = () => Stream;

/** A call waiting for its decision, and the stream it was written on. */
interface Pending {
  readonly resolve: (d: Decision) => void;
  readonly reject: (e: OwnerUnreachableError) => void;
  readonly stream: StreamState;
  readonly batch: Batch;
}

interface StreamState {
  readonly call: Stream;
  readonly ids: Set<number>;
  open: boolean;
}

interface Batch {
  waiting: number;
  timer: NodeJS.Timeout | undefined;
}

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
}

/**
 * Sends counter-key hits to the replica that owns them, over one long-lived bidirectional stream.
 * Every hit queued during the same turn of the event loop leaves in one message (flushed by
 * `setImmediate`), so under load one write carries many decisions; the owner answers each item
 * by id. A broken stream fails the items written on it and is reopened on the next send.
 */
export class PeerForwarder {
  private readonly pending = new Map<number, Pending>();
  private queue: ratelimitReplica.ForwardItem[] = [];
  private queued: Array<{ id: number; resolve: Pending['resolve']; reject: Pending['reject'] }> = [];
  private flushScheduled = false;
  private stream: StreamState | undefined;
  private nextId = 1;
  private closed = false;
  private readonly open: OpenForwardStream;
  private readonly client: ratelimitReplica.RateLimitReplicaServiceClient | undefined;

  constructor(private readonly options: PeerForwarderOptions) {
    if (options.open) {
      this.open = options.open;
    } else {
      const client = new ratelimitReplica.RateLimitReplicaServiceClient(options.address, options.credentials ?? credentials.createInsecure(), {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2_000,
      });
      this.client = client;
      this.open = () => client.forward();
    }
  }

  /** Items sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size + this.queued.length;
  }

  /**
   * Asks the owner to apply `hits` to `counterKey` under `policy` (negative: give them back).
   * @throws OwnerUnreachableError (as a rejection) when no answer comes in time.
   */
  decide(counterKey: string, policy: LimitPolicy, hits: number): Promise<Decision> {
    if (this.closed) return Promise.reject(this.unreachable('closed', 'forwarder closed'));
    const id = this.nextId;
    // Ids are uint32 on the wire; wrapping is safe because an id is reused only after ~4e9 items.
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    return new Promise<Decision>((resolve, reject) => {
      this.queue.push({ id, counterKey, policy: encodePolicy(policy), hits: Math.abs(hits), refund: hits < 0 });
      this.queued.push({ id, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Fails everything in flight and closes the stream and the channel. */
  close(): void {
    this.closed = true;
    for (const q of this.queued) q.reject(this.unreachable('closed', 'forwarder closed'));
    this.queue = [];
    this.queued = [];
    if (this.stream) this.failStream(this.stream, 'closed', 'forwarder closed');
    this.client?.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const items = this.queue;
    const callers = this.queued;
    this.queue = [];
    this.queued = [];
    let stream: StreamState;
    try {
      stream = this.ensureStream();
    } catch (err) {
      // Opening a stream can throw (a closed channel); this runs from setImmediate, so a throw
      // here would crash the process instead of failing these decisions.
      const detail = err instanceof Error ? err.message : String(err);
      for (const c of callers) c.reject(this.unreachable('stream-failed', detail));
      return;
    }
    const batch: Batch = { waiting: callers.length, timer: undefined };
    for (const c of callers) {
      this.pending.set(c.id, { resolve: c.resolve, reject: c.reject, stream, batch });
      stream.ids.add(c.id);
    }
    batch.timer = setTimeout(() => this.expire(items), this.options.timeoutMs);
    stream.call.write({ from: this.options.selfId, items });
  }

  private ensureStream(): StreamState {
    if (this.stream?.open) return this.stream;
    const call = this.open();
    const state: StreamState = { call, ids: new Set(), open: true };
    call.on('data', (res: ratelimitReplica.ForwardResponse) => this.answer(res));
    call.on('error', (err: Error) => this.failStream(state, 'stream-failed', err.message));
    call.on('end', () => this.failStream(state, 'stream-failed', 'stream ended by the owner'));
    this.stream = state;
    return state;
  }

  private answer(res: ratelimitReplica.ForwardResponse): void {
    for (const d of res.decisions) {
      const p = this.settle(d.id);
      if (p === undefined) continue; // already timed out
      if (d.error !== '') {
        p.reject(this.unreachable('owner-refused', d.error));
        continue;
      }
      p.resolve({
        allowed: d.allowed,
        limit: d.limit,
        remaining: d.remaining,
        resetAfterMs: d.resetAfterMs,
        retryAfterMs: d.retryAfterMs,
      });
    }
  }

  /** Removes a pending item and stops its batch timer once the whole batch is answered. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    p.stream.ids.delete(id);
    if (--p.batch.waiting === 0 && p.batch.timer) clearTimeout(p.batch.timer);
    return p;
  }

  private expire(items: readonly ratelimitReplica.ForwardItem[]): void {
    for (const item of items) {
      // Why not exact: the owner may still apply these hits after we answered for it; the
      // failure mode, not the owner, decided this request. Counted as owner_unreachable.
      this.settle(item.id)?.reject(this.unreachable('timeout', `no decision within ${this.options.timeoutMs} ms`));
    }
  }

  private failStream(state: StreamState, reason: 'stream-failed' | 'closed', detail: string): void {
    if (!state.open) return;
    state.open = false;
    if (this.stream === state) this.stream = undefined;
    if (reason !== 'closed') this.options.logger.warn({ peer: this.options.peerId, detail }, 'forward stream to owner replica failed');
    for (const id of [...state.ids]) this.settle(id)?.reject(this.unreachable(reason, detail));
    try {
      state.call.end();
    } catch {
      // the stream is already gone
    }
    state.call.cancel();
  }

  private unreachable(reason: OwnerUnreachableError['reason'], detail: string): OwnerUnreachableError {
    return new OwnerUnreachableError(this.options.peerId, reason, detail);
  }
}
