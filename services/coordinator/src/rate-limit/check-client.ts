import { credentials, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { ratelimitCheck, rls } from '@quorumkv/proto';
import {
  MultiplexedStreamClient,
  StreamBrokenError,
  StreamOverloadedError,
  StreamTimeoutError,
  streamChannelOptions,
  type BackoffOptions,
  type Logger,
  type Timers,
  type TurnScheduler,
} from '@quorumkv/service-kit';
import { activeTraceRecord } from '../observability.js';

type CheckStream = ClientDuplexStream<ratelimitCheck.CheckBatch, ratelimitCheck.CheckResultBatch>;

/** Opens one Check stream to the rate limiter (injectable for tests). */
export type OpenCheckStream = () => CheckStream;

/** What to answer when the rate limiter gives no decision: admit (open) or refuse (closed). */
export type RateLimitFailureMode = 'open' | 'closed';

/**
 * Why a check got no decision: `timeout` (no answer within the per-request timeout),
 * `stream-broken` (the stream failed with the check on it), `unreachable` (no stream: the
 * limiter is down and the client is waiting out its reconnect backoff), `overloaded` (too many
 * checks already waiting on the stream), `limiter-error` (the limiter answered the item with an
 * error).
 */
export type CheckFailureReason = 'timeout' | 'stream-broken' | 'unreachable' | 'overloaded' | 'limiter-error';

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

/**
 * Bytes a check adds to its batch, at most about: its descriptors' text, the trace map and
 * framing — an upper estimate, so a batch stays within what the limiter accepts.
 */
function checkBytes(request: rls.RateLimitRequest, trace: Record<string, string>): number {
  let n = request.domain.length + 32;
  for (const k in trace) n += k.length + (trace[k]?.length ?? 0) + 8;
  for (const d of request.descriptors) {
    n += 16;
    for (const e of d.entries) n += e.key.length + e.value.length + 8;
  }
  return n;
}

/**
 * Asks the rate limiter about requests over one long-lived `RateLimitCheckService/Check` stream
 * (a service-kit `MultiplexedStreamClient`). Checks made in one event-loop turn leave in one
 * message and are matched to their results by id; each waits at most `timeoutMs`. A timeout, a
 * broken stream, an unreachable limiter or a full stream is answered by the failure mode (admit
 * by default) and counted by reason: the limiter protects quorumkv, it must never take it down.
 * A failed stream is reopened after an exponential, jittered backoff; until then checks are
 * answered at once (`unreachable`), so a dead limiter costs a request nothing but the counter.
 */
export class RateLimitCheckClient {
  readonly counters: RateLimitCheckCounters = {
    allowed: 0,
    limited: 0,
    failOpen: zeroByReason(),
    failClosed: zeroByReason(),
  };
  private readonly failureMode: RateLimitFailureMode;
  private readonly client: ratelimitCheck.RateLimitCheckServiceClient | undefined;
  private readonly stream: MultiplexedStreamClient<ratelimitCheck.CheckItem, ratelimitCheck.CheckBatch, ratelimitCheck.CheckResult, ratelimitCheck.CheckResultBatch>;

  constructor(private readonly options: RateLimitCheckClientOptions) {
    this.failureMode = options.failureMode ?? 'open';
    const backoff = options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    let open = options.open;
    if (open === undefined) {
      const client = new ratelimitCheck.RateLimitCheckServiceClient(options.address, options.credentials ?? credentials.createInsecure(), streamChannelOptions({ backoff }));
      this.client = client;
      open = () => client.check();
    }
    this.stream = new MultiplexedStreamClient<ratelimitCheck.CheckItem, ratelimitCheck.CheckBatch, ratelimitCheck.CheckResult, ratelimitCheck.CheckResultBatch>({
      peer: `rate limiter ${options.address}`,
      what: 'rate limit check stream',
      open,
      pack: (items) => ({ items }),
      unpack: (batch) => batch.results,
      logger: options.logger,
      logFields: { rateLimiter: options.address, failureMode: this.failureMode },
      backoff,
      stallMs: options.stallMs ?? 1_000,
      maxBatchItems: options.maxBatchItems ?? 512,
      // The timeout is short (20 ms by default): group expiries finely.
      timeoutGranularityMs: Math.max(1, Math.min(10, Math.floor(options.timeoutMs / 4))),
      // Why from the flush: the failure mode answers for a limiter that is slow, not for a
      // coordinator working through a burst of calls before this turn's batch could leave.
      timeoutFrom: 'flush',
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
  }

  /** Whether a stream is open now (it may still be connecting). */
  get connected(): boolean {
    return this.stream.up;
  }

  /** Checks made and not yet answered (queued for this turn included). */
  get inFlight(): number {
    return this.stream.inFlight;
  }

  /** Opens the stream now, so the first requests do not wait for the connection. */
  start(): void {
    this.stream.start();
  }

  /** Asks for a decision on one request; resolves within about `timeoutMs`, never rejects. */
  check(request: rls.RateLimitRequest): Promise<CheckVerdict> {
    const trace = activeTraceRecord();
    return this.stream.call((id) => ({ id, request, trace }), this.options.timeoutMs, checkBytes(request, trace)).then(
      (r) => this.verdict(r),
      (err: unknown) => this.failed(err),
    );
  }

  /** Answers everything in flight by the failure mode and closes the stream and the channel. */
  close(): void {
    this.stream.close();
    this.client?.close();
  }

  private verdict(r: ratelimitCheck.CheckResult): CheckVerdict {
    if (r.error !== '' || r.response === undefined) return this.fail('limiter-error', r.error);
    if (r.response.overallCode === rls.RateLimitResponse_Code.OVER_LIMIT) {
      this.counters.limited++;
      return { kind: 'limited', response: r.response };
    }
    this.counters.allowed++;
    return { kind: 'allowed', response: r.response };
  }

  private failed(err: unknown): CheckVerdict {
    const detail = err instanceof Error ? err.message : String(err);
    if (err instanceof StreamTimeoutError) return this.fail('timeout', `no decision within ${this.options.timeoutMs} ms`);
    if (err instanceof StreamBrokenError) return this.fail('stream-broken', err.reason);
    if (err instanceof StreamOverloadedError) return this.fail('overloaded', detail);
    return this.fail('unreachable', detail);
  }

  private fail(reason: CheckFailureReason, detail: string): CheckVerdict {
    const open = this.failureMode === 'open';
    (open ? this.counters.failOpen : this.counters.failClosed)[reason]++;
    this.options.onFailure?.(reason, this.failureMode);
    return { kind: open ? 'failed-open' : 'failed-closed', reason, detail };
  }
}

function zeroByReason(): Record<CheckFailureReason, number> {
  return { timeout: 0, 'stream-broken': 0, unreachable: 0, overloaded: 0, 'limiter-error': 0 };
}
