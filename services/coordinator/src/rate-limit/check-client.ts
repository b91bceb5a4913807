import { credentials, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { ratelimitCheck, rls } from '@quorumkv/proto';
import { TurnBatcher, type Logger, type TurnScheduler } from '@quorumkv/service-kit';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { activeTraceRecord } from '../observability.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';

type CheckStream = ClientDuplexStream<ratelimitCheck.CheckBatch, ratelimitCheck.CheckResultBatch>;

/** Opens one Check stream to the rate limiter (injectable for tests). */
export type OpenCheckStream = () => CheckStream;

/** What to answer when the rate limiter gives no decision: admit (open) or refuse (closed). */
export type RateLimitFailureMode = 'open' | 'closed';

/**
 * Why a check got no decision: `timeout` (no answer within the per-request timeout),
 * `stream-broken` (the stream failed with the check on it), `unreachable` (no stream: the
 * limiter is down and the client is waiting out its reconnect backoff), `limiter-error` (the
 * limiter answered the item with an error).
 */
export type CheckFailureReason = 'timeout' | 'stream-broken' | 'unreachable' | 'limiter-error';

/** The answer to one check. It never rejects: a failure is a verdict under the failure mode. */
export type CheckVerdict =
  | { readonly kind: 'allowed'; readonly response: rls.RateLimitResponse }
  | { readonly kind: 'limited'; readonly response: rls.RateLimitResponse }
  | { readonly kind: 'failed-open' | 'failed-closed'; readonly reason: CheckFailureReason; readonly detail: string };

/** Counts of verdicts, as plain numbers (a metrics exporter mirrors them at scrape time). */
export interface RateLimitCheckCounters {
  allowed: number;
  limited: number;
  /** Checks admitted without a decision, by reason. */
  readonly failOpen: Record<CheckFailureReason, number>;
  /** Checks refused without a decision (failure mode closed), by reason. */
  readonly failClosed: Record<CheckFailureReason, number>;
}

/** Options of {@link RateLimitCheckClient}; see the class for the behaviour. */
export interface RateLimitCheckClientOptions {
  /** The rate limiter's HOST:PORT. */
  readonly address: string;
  /** How long one check may wait for its decision before the failure mode answers. */
  readonly timeoutMs: number;
  /** @default 'open' */
  readonly failureMode?: RateLimitFailureMode;
  readonly logger: Logger;
  /** The channel's credentials (TLS: see `TransportSecurity.channelCredentials`). @default plain text */
  readonly credentials?: ChannelCredentials;
  /** Reconnect backoff after a stream fails. @default { initialMs: 100, maxMs: 5000 } */
  readonly backoff?: BackoffOptions;
  /**
   * A stream that has answered nothing, not even late, to a batch sent this long ago counts as
   * broken and is reopened. @default 1000
   */
  readonly stallMs?: number;
  /** Most checks in one message. @default 512 */
  readonly maxBatchItems?: number;
  /** @default systemTimers */
  readonly timers?: Timers;
  /** Jitter of the reconnect backoff. @default Math.random */
  readonly random?: () => number;
  /** Defers a turn's flush. @default setImmediate */
  readonly schedule?: TurnScheduler;
  /** Replaces the gRPC client (tests). */
  readonly open?: OpenCheckStream;
  /** Called for every check answered by the failure mode (e.g. to count timeouts in a metric). */
  readonly onFailure?: (reason: CheckFailureReason, mode: RateLimitFailureMode) => void;
}

interface Queued {
  readonly item: ratelimitCheck.CheckItem;
  readonly resolve: (v: CheckVerdict) => void;
}

interface StreamState {
  readonly call: CheckStream;
  /** Ids written on this stream and not yet answered. */
  readonly ids: Set<number>;
  open: boolean;
  /** When the oldest batch written since the stream last answered anything was sent. */
  unansweredSince: number | undefined;
}

interface Batch {
  waiting: number;
  timer: TimerHandle | undefined;
}

interface Pending {
  readonly resolve: (v: CheckVerdict) => void;
  readonly stream: StreamState;
  readonly batch: Batch;
}

/**
 * Asks the rate limiter about requests over one long-lived `RateLimitCheckService/Check` stream.
 * Checks made in one event-loop turn leave in one message and are matched to their results by
 * id; each waits at most `timeoutMs`. A timeout, a broken stream or an unreachable limiter is
 * answered by the failure mode (admit by default) and counted by reason: the limiter protects
 * quorumkv, it must never take it down. A failed stream is reopened on demand after an
 * exponential, jittered backoff; until then checks are answered at once (`unreachable`), so a
 * dead limiter costs a request nothing but the counter.
 */
export class RateLimitCheckClient {
  readonly counters: RateLimitCheckCounters = {
    allowed: 0,
    limited: 0,
    failOpen: zeroByReason(),
    failClosed: zeroByReason(),
  };
  private readonly pending = new Map<number, Pending>();
  private readonly batcher: TurnBatcher<Queued>;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly failureMode: RateLimitFailureMode;
  private readonly stallMs: number;
  private readonly open: OpenCheckStream;
  private readonly client: ratelimitCheck.RateLimitCheckServiceClient | undefined;
  private stream: StreamState | undefined;
  private nextId = 1;
  /** Failures since a stream last delivered an answer (drives the backoff). */
  private attempt = 0;
  /** No stream is opened before this time (ms, `timers.now()`). */
  private retryAt = 0;
  private lastFailure = '';
  private closed = false;

  constructor(private readonly options: RateLimitCheckClientOptions) {
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    this.failureMode = options.failureMode ?? 'open';
    this.stallMs = options.stallMs ?? 1_000;
    this.batcher = new TurnBatcher<Queued>({
      flush: (queued) => this.send(queued),
      maxItems: options.maxBatchItems ?? 512,
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
    if (options.open) {
      this.open = options.open;
    } else {
      const client = new ratelimitCheck.RateLimitCheckServiceClient(options.address, options.credentials ?? credentials.createInsecure(), {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
      });
      this.client = client;
      this.open = () => client.check();
    }
  }

  /** Whether a stream is open now (it may still be connecting). */
  get connected(): boolean {
    return this.stream?.open === true;
  }

  /** Checks written and not yet answered, plus those queued for this turn. */
  get inFlight(): number {
    return this.pending.size + this.batcher.size;
  }

  /** Opens the stream now, so the first requests do not wait for the connection. */
  start(): void {
    this.ensureStream();
  }

  /** Asks for a decision on one request; resolves within about `timeoutMs`, never rejects. */
  check(request: rls.RateLimitRequest): Promise<CheckVerdict> {
    if (this.closed) return Promise.resolve(this.fail('unreachable', 'check client closed'));
    const id = this.nextId;
    // Ids are uint32 on the wire; wrapping is safe because an id is reused only after ~4e9 checks.
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    return new Promise<CheckVerdict>((resolve) => this.batcher.push({ item: { id, request, trace: activeTraceRecord() }, resolve }));
  }

  /** Answers everything in flight by the failure mode and closes the stream and the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.batcher.clear()) q.resolve(this.fail('unreachable', 'check client closed'));
    if (this.stream) this.failStream(this.stream, 'check client closed', false);
    this.client?.close();
  }

  private send(queued: Queued[]): void {
    const stream = this.ensureStream();
    if (stream === undefined) {
      for (const q of queued) q.resolve(this.fail('unreachable', this.lastFailure));
      return;
    }
    const batch: Batch = { waiting: queued.length, timer: undefined };
    const items: ratelimitCheck.CheckItem[] = new Array<ratelimitCheck.CheckItem>(queued.length);
    for (let i = 0; i < queued.length; i++) {
      const q = queued[i]!;
      items[i] = q.item;
      this.pending.set(q.item.id, { resolve: q.resolve, stream, batch });
      stream.ids.add(q.item.id);
    }
    stream.unansweredSince ??= this.timers.now();
    // One timer per batch, not per check: every check of a batch was made in the same turn.
    batch.timer = this.timers.setTimeout(() => this.expire(stream, items), this.options.timeoutMs);
    stream.call.write({ items });
  }

  private ensureStream(): StreamState | undefined {
    if (this.stream?.open) return this.stream;
    if (this.closed || this.timers.now() < this.retryAt) return undefined;
    let call: CheckStream;
    try {
      call = this.open();
    } catch (err) {
      // A closed channel throws here; this runs from setImmediate, where a throw would crash.
      this.scheduleRetry(err instanceof Error ? err.message : String(err));
      return undefined;
    }
    const state: StreamState = { call, ids: new Set(), open: true, unansweredSince: undefined };
    call.on('data', (msg: ratelimitCheck.CheckResultBatch) => this.answer(state, msg));
    call.on('error', (err: Error) => this.failStream(state, err.message, true));
    call.on('end', () => this.failStream(state, 'stream ended by the rate limiter', true));
    this.stream = state;
    return state;
  }

  private answer(state: StreamState, msg: ratelimitCheck.CheckResultBatch): void {
    // Any answer, even a late one, proves the stream alive: the backoff and the stall clock reset.
    state.unansweredSince = undefined;
    this.attempt = 0;
    for (const r of msg.results) {
      const p = this.settle(r.id);
      if (p === undefined) continue; // already answered by the failure mode
      if (r.error !== '' || r.response === undefined) {
        p.resolve(this.fail('limiter-error', r.error));
      } else if (r.response.overallCode === rls.RateLimitResponse_Code.OVER_LIMIT) {
        this.counters.limited++;
        p.resolve({ kind: 'limited', response: r.response });
      } else {
        this.counters.allowed++;
        p.resolve({ kind: 'allowed', response: r.response });
      }
    }
  }

  /** Removes a pending check and stops its batch timer once the whole batch is answered. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    p.stream.ids.delete(id);
    if (--p.batch.waiting === 0 && p.batch.timer !== undefined) this.timers.clearTimeout(p.batch.timer);
    return p;
  }

  private expire(state: StreamState, items: readonly ratelimitCheck.CheckItem[]): void {
    for (const item of items) {
      this.settle(item.id)?.resolve(this.fail('timeout', `no decision within ${this.options.timeoutMs} ms`));
    }
    // Why a stall rule: a limiter that hangs without closing its connection would otherwise cost
    // every request the full timeout until TCP keepalive notices. It is measured in time, not in
    // batches (a loaded coordinator sends one per turn, so a 30 ms pause would expire dozens),
    // and any answer, even a late one, restarts the clock: a slow limiter is not a dead one.
    const since = state.unansweredSince;
    if (state.open && since !== undefined && this.timers.now() - since >= this.stallMs) {
      this.failStream(state, `no answer on the stream for ${this.timers.now() - since} ms`, true);
    }
  }

  private failStream(state: StreamState, detail: string, retry: boolean): void {
    if (!state.open) return;
    state.open = false;
    if (this.stream === state) this.stream = undefined;
    if (retry) this.scheduleRetry(detail);
    for (const id of [...state.ids]) this.settle(id)?.resolve(this.fail('stream-broken', detail));
    try {
      state.call.end();
    } catch {
      // the stream is already gone
    }
    state.call.cancel();
  }

  private scheduleRetry(detail: string): void {
    const delay = backoffDelay(this.attempt++, this.backoff, this.random);
    this.retryAt = this.timers.now() + delay;
    this.lastFailure = `rate limiter unreachable (${detail}); retrying in ${delay} ms`;
    this.options.logger.warn({ rateLimiter: this.options.address, detail, retryInMs: delay, failureMode: this.failureMode }, 'rate limiter check stream failed');
  }

  private fail(reason: CheckFailureReason, detail: string): CheckVerdict {
    const open = this.failureMode === 'open';
    (open ? this.counters.failOpen : this.counters.failClosed)[reason]++;
    this.options.onFailure?.(reason, this.failureMode);
    return { kind: open ? 'failed-open' : 'failed-closed', reason, detail };
  }
}

function zeroByReason(): Record<CheckFailureReason, number> {
  return { timeout: 0, 'stream-broken': 0, unreachable: 0, 'limiter-error': 0 };
}
