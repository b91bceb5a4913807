import type { ClientDuplexStream } from '@grpc/grpc-js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { PendingCalls } from './pending-calls.js';
import { StreamBrokenError, StreamClosedError, StreamOverloadedError, StreamTimeoutError, StreamUnavailableError } from './stream-errors.js';
import type { MultiplexedStreamOptions, Tagged } from './stream-client-options.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';
import { TurnBatcher } from './turn-batcher.js';

interface Current<Out, In> {
  readonly call: ClientDuplexStream<Out, In>;
  open: boolean;
  /** The peer sent something on this stream. */
  answered: boolean;
  /** When the oldest message written since the peer last sent anything was written. */
  unansweredSince: number | undefined;
  lastWriteAt: number;
}

/**
 * Request/response calls multiplexed over ONE long-lived bidirectional gRPC stream, the shape of
 * every internal fan-out in quorumkv (coordinator → storage node, coordinator → rate limiter,
 * rate limiter → owner replica). What each of those needs, once:
 *
 * - ids and a pending map: answers come back in any order, in batches, matched by id; a call
 *   that outlives its timeout fails with {@link StreamTimeoutError} from a coarse sweep (one
 *   timer per stream, never one per call);
 * - turn batching: the calls made in one event-loop turn leave as one message (`TurnBatcher`);
 * - one reconnect rule: a broken stream fails its calls at once ({@link StreamBrokenError}) and
 *   is reopened after a jittered exponential backoff (`backoffDelay`), by a timer and, once the
 *   backoff is over, by the next call; until then calls fail at once
 *   ({@link StreamUnavailableError}) instead of waiting for their timeouts;
 * - up/down state with listeners, optionally gated by a handshake the peer must answer;
 * - `write()` back-pressure: when a write returns false, later batches are held until 'drain',
 *   and past `maxHeld` (or `maxInFlight` calls) a call fails at once with the retryable
 *   {@link StreamOverloadedError} — memory stays bounded when the peer cannot keep up.
 *
 * Channel concerns (keepalive, reconnect of the TCP connection, receive limits) are the
 * channel's: build it with `streamChannelOptions`.
 */
export class MultiplexedStreamClient<Item extends Tagged, Out, Res extends Tagged, In> {
  private readonly options: MultiplexedStreamOptions<Item, Out, Res, In>;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly pending: PendingCalls<Res>;
  private readonly batcher: TurnBatcher<Item>;
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly maxInFlight: number;
  private readonly maxHeld: number;
  private current: Current<Out, In> | undefined;
  /** Batches waiting for 'drain', each within the batch limits, oldest first. */
  private held: Item[][] = [];
  private heldItems = 0;
  private blocked = false;
  /** Failures since the peer last answered (drives the backoff). */
  private attempt = 0;
  /** No stream is opened before this time. */
  private retryAt = 0;
  private reopenTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private lastCause = 'not connected yet';
  private wasUp = false;
  private closed = false;

  constructor(options: MultiplexedStreamOptions<Item, Out, Res, In>) {
    this.options = options;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? { initialMs: 50, maxMs: 2_000 };
    this.maxInFlight = options.maxInFlight ?? 4096;
    this.maxHeld = options.maxHeld ?? 1024;
    this.pending = new PendingCalls<Res>(
      this.timers,
      options.timeoutGranularityMs ?? 10,
      (timeoutMs) => new StreamTimeoutError(options.peer, timeoutMs),
      () => this.checkStall(),
    );
    this.batcher = new TurnBatcher<Item>({
      flush: (items) => this.send(items),
      ...(options.maxBatchItems !== undefined ? { maxItems: options.maxBatchItems } : {}),
      ...(options.maxBatchBytes !== undefined ? { maxBytes: options.maxBatchBytes } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
  }

  /** True while a stream is open (and, with a handshake, the peer has answered on it). */
  get up(): boolean {
    const s = this.current;
    return s !== undefined && s.open && (this.options.handshake === undefined || s.answered);
  }

  /** Why the stream is not up (the last stream error), for messages. */
  get downReason(): string {
    return this.lastCause;
  }

  /** Calls made and not yet answered, failed or expired (queued and held ones included). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Calls `listener` whenever `up` changes. Returns a function that removes it. */
  onStateChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens the stream now, so the first calls do not wait for it (otherwise the first call opens it). */
  start(): void {
    this.ensureStream();
  }

  /**
   * Sends one call: `make(id)` builds its item. Settles with the answer carrying that id, or
   * fails with a `StreamCallError`: at once when no stream is up or too much is waiting, when
   * the stream breaks, or when `timeoutMs` passes. `bytes` estimates the item's size, so that
   * one message stays within `maxBatchBytes`.
   */
  call(make: (id: number) => Item, timeoutMs: number, bytes = 0): Promise<Res> {
    if (this.closed) return Promise.reject(new StreamClosedError(this.options.peer));
    const s = this.ensureStream();
    if (s === undefined || (this.options.handshake !== undefined && !s.answered)) {
      return Promise.reject(new StreamUnavailableError(this.options.peer, this.lastCause));
    }
    if (this.pending.size >= this.maxInFlight) return Promise.reject(new StreamOverloadedError(this.options.peer, 'in-flight', this.maxInFlight));
    if (this.blocked && this.heldItems + this.batcher.size >= this.maxHeld) {
      return Promise.reject(new StreamOverloadedError(this.options.peer, 'held', this.maxHeld));
    }
    const id = this.pending.nextFreeId();
    const answer = this.pending.open(id, Math.max(1, Math.ceil(timeoutMs)), this.options.timeoutFrom !== 'flush');
    this.batcher.push(make(id), bytes);
    return answer;
  }

  /** Fails everything waiting ({@link StreamClosedError}) and ends the stream; calls fail from now on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.batcher.clear();
    this.held = [];
    this.heldItems = 0;
    this.pending.failAll(new StreamClosedError(this.options.peer));
    const s = this.current;
    this.current = undefined;
    if (s !== undefined) endCall(s);
    this.notify();
  }

  private ensureStream(): Current<Out, In> | undefined {
    if (this.current?.open) return this.current;
    if (this.closed || this.timers.now() < this.retryAt) return undefined;
    return this.openStream();
  }

  private openStream(): Current<Out, In> | undefined {
    if (this.reopenTimer !== undefined) this.timers.clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    let call: ClientDuplexStream<Out, In>;
    try {
      call = this.options.open();
    } catch (err) {
      // A closed channel throws here; this may run from a timer, where a throw would crash.
      this.broke(undefined, this.describe(err));
      return undefined;
    }
    const s: Current<Out, In> = { call, open: true, answered: false, unansweredSince: undefined, lastWriteAt: this.timers.now() };
    this.current = s;
    this.blocked = false;
    call.on('data', (message: In) => this.receive(s, message));
    call.on('error', (err: Error) => this.broke(s, this.describe(err)));
    call.on('end', () => this.broke(s, `stream ended by ${this.options.peer}`));
    call.on('drain', () => this.drained(s));
    const handshake = this.options.handshake;
    if (handshake !== undefined) {
      this.writeMessage(s, handshake.message());
      if (handshake.heartbeatMs !== undefined) this.armHeartbeat(s, handshake.heartbeatMs);
    }
    this.notify();
    return s;
  }

  private receive(s: Current<Out, In>, message: In): void {
    if (!s.open) return;
    // Any message, even a late answer, proves the stream alive: backoff and stall clock reset.
    s.unansweredSince = undefined;
    this.attempt = 0;
    const first = !s.answered;
    s.answered = true;
    for (const res of this.options.unpack(message)) this.pending.resolve(res.id, res);
    if (first) this.notify();
  }

  /** A turn's batch: written now, or held while the stream waits for 'drain'. */
  private send(items: Item[]): void {
    if (this.options.timeoutFrom === 'flush') for (const item of items) this.pending.start(item.id);
    const s = this.current;
    if (s === undefined || !s.open) {
      const err = new StreamUnavailableError(this.options.peer, this.lastCause);
      for (const item of items) this.pending.reject(item.id, err);
      return;
    }
    if (this.blocked) {
      this.held.push(items);
      this.heldItems += items.length;
      return;
    }
    this.writeMessage(s, this.options.pack(items));
  }

  private drained(s: Current<Out, In>): void {
    if (s !== this.current || !s.open) return;
    this.blocked = false;
    while (!this.blocked && this.held.length > 0) {
      const batch = this.held.shift()!;
      this.heldItems -= batch.length;
      // Calls that timed out while held are not sent at all.
      const live = batch.filter((item) => this.pending.has(item.id));
      if (live.length > 0) this.writeMessage(s, this.options.pack(live));
    }
  }

  private writeMessage(s: Current<Out, In>, message: Out): void {
    const now = this.timers.now();
    s.lastWriteAt = now;
    s.unansweredSince ??= now;
    // Why hold on false: the peer (or the network) is slower than we produce; grpc-js would
    // buffer every further message in memory without bound.
    if (!s.call.write(message)) this.blocked = true;
  }

  /** The stream failed: every call on it (or waiting for it) fails now, and a reopen is scheduled. */
  private broke(s: Current<Out, In> | undefined, cause: string): void {
    if (s !== undefined) {
      if (!s.open) return;
      s.open = false;
      endCall(s);
      if (s !== this.current) return;
    }
    this.current = undefined;
    this.lastCause = cause;
    this.blocked = false;
    this.held = [];
    this.heldItems = 0;
    this.batcher.clear();
    if (this.heartbeatTimer !== undefined) this.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.pending.failAll(new StreamBrokenError(this.options.peer, cause));
    if (!this.closed) this.scheduleReopen(cause);
    this.notify();
  }

  private scheduleReopen(cause: string): void {
    const delay = backoffDelay(this.attempt++, this.backoff, this.random);
    this.retryAt = this.timers.now() + delay;
    this.options.logger.debug({ ...this.options.logFields, cause, retryInMs: delay }, `${this.options.what} failed; reopening`);
    if (this.reopenTimer !== undefined) this.timers.clearTimeout(this.reopenTimer);
    this.reopenTimer = this.timers.setTimeout(() => {
      this.reopenTimer = undefined;
      if (!this.closed && this.current === undefined) this.openStream();
    }, delay);
  }

  /** Why a stall rule: a peer that hangs without closing its connection would otherwise cost every call its full timeout. */
  private checkStall(): void {
    const stallMs = this.options.stallMs ?? Number.POSITIVE_INFINITY;
    const s = this.current;
    const since = s?.unansweredSince;
    if (s === undefined || !s.open || since === undefined) return;
    const silent = this.timers.now() - since;
    if (silent >= stallMs) this.broke(s, `no answer on the stream for ${silent} ms`);
  }

  private armHeartbeat(s: Current<Out, In>, everyMs: number): void {
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = undefined;
      if (s !== this.current || !s.open) return;
      if (!this.blocked && this.timers.now() - s.lastWriteAt >= everyMs) this.writeMessage(s, this.options.handshake!.message());
      this.armHeartbeat(s, everyMs);
    }, everyMs);
  }

  private clearTimers(): void {
    if (this.reopenTimer !== undefined) this.timers.clearTimeout(this.reopenTimer);
    if (this.heartbeatTimer !== undefined) this.timers.clearTimeout(this.heartbeatTimer);
    this.reopenTimer = undefined;
    this.heartbeatTimer = undefined;
  }

  private describe(err: unknown): string {
    if (!(err instanceof Error)) return String(err);
    return this.options.describeError ? this.options.describeError(err) : err.message;
  }

  private notify(): void {
    const up = this.up;
    if (up === this.wasUp) return;
    this.wasUp = up;
    const fields = this.options.logFields;
    if (up) this.options.logger.info({ ...fields }, `${this.options.what} up`);
    else this.options.logger.warn({ ...fields, cause: this.closed ? 'closed' : this.lastCause }, `${this.options.what} down`);
    for (const l of this.listeners) l(up);
  }
}

function endCall<Out, In>(s: Current<Out, In>): void {
  try {
    s.call.end();
  } catch {
    // the stream is already gone
  }
  s.call.cancel();
}
