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
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { admin, kv } from '@quorumkv/proto';
import { type BytesLike, toBuffer } from './bytes.js';
import { type CallWithRetryOptions, type RetryEvent, callWithRetry } from './call-with-retry.js';
import { type ClusterStatus, fromStatusResponse } from './cluster-status.js';
import { ClientOptionsError, type QuorumKvError, toQuorumKvError } from './errors.js';
import {
  type CallOptions,
  type GetOptions,
  type WriteOptions,
  callDeadlineMs,
  consistencyLevel,
  replicaCount,
  requestIdOf,
} from './request-options.js';
import { type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions, retryAfterMs } from './retry-policy.js';
import { type LoadedTls, type TlsOptions, loadTls, tlsCredentials } from './tls-options.js';
import { type TlsDiagnosis, describeTlsDiagnosis, diagnoseTls } from './tls-diagnosis.js';

/** The coordinator address a client dials when none is given. */
export const DEFAULT_ADDRESS = '127.0.0.1:7070';
/** The metadata key that names the caller (the coordinator's `--caller-metadata-key` default). */
export const CALLER_METADATA_KEY = 'x-quorumkv-caller';
/** The overall deadline of a call when none is given, in ms. */
export const DEFAULT_DEADLINE_MS = 5000;

/**
 * A fresh request id: 16 random bytes. Create one per logical write and pass it
 * (`WriteOptions.requestId`) to every attempt of that write you make yourself.
 */
export function newRequestId(): Uint8Array {
  return randomBytes(16);
}

/** Options of {@link QuorumKvClient}. Time and randomness are injectable for tests. */
export interface QuorumKvClientOptions {
  /**
   * Coordinator address, `host:port`.
   * @default '127.0.0.1:7070'
   */
  address?: string;
  /**
   * Overall deadline of each call in ms, retries and backoff included.
   * @default 5000
   */
  deadlineMs?: number;
  /** Retry of UNAVAILABLE and RESOURCE_EXHAUSTED; see {@link RetryOptions}. */
  retry?: RetryOptions;
  /**
   * TLS: a folder (`{ dir }`: `ca.pem`, and `client.pem` + `client-key.pem` for mutual TLS, as
   * `npm start -- --tls` makes them) or files (`{ ca, cert, key }`). Read once, here: a
   * file that cannot be used throws {@link TlsFileError}. See {@link TlsOptions}.
   * @default plain text
   */
  tls?: TlsOptions;
  /**
   * Channel credentials, for anything `tls` does not cover (not both).
   * @default insecure
   */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /**
   * Who is calling, sent with every call as `x-quorumkv-caller` metadata: the coordinator's
   * rate limiter counts calls per caller (a call without it counts as `anonymous`).
   */
  caller?: string;
  /** Called before each retry wait (logging, metrics). */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Uniform in [0, 1), for backoff jitter.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Waits `ms` milliseconds.
   * @default node:timers/promises setTimeout
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Monotonic milliseconds, for the overall deadline.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Draws the request id of each put and delete that is not given one.
   * @default newRequestId (16 random bytes)
   */
  requestIds?: () => Uint8Array;
}

/** What {@link QuorumKvClient.get} returns. */
export interface GetResult {
  /** False when the key has no live version (never written, or deleted). */
  readonly found: boolean;
  /** Every concurrent version; more than one means writers raced without a context. */
  readonly siblings: Buffer[];
  /** Opaque causal context: pass it to the next put or delete of this key. */
  readonly context: Buffer;
}

/** What {@link QuorumKvClient.put} returns. */
export interface PutResult {
  /** Causal context of the version just written: pass it to supersede this write. */
  readonly context: Buffer;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * The typed quorumkv client: Get/Put/Delete on the coordinator's `KeyValueService` and the
 * cluster `Status`, each with an overall deadline and retries with full-jitter backoff on
 * UNAVAILABLE and RESOURCE_EXHAUSTED (honouring `retry-after`).
 *
 * Retrying a put or delete is safe: each call draws one request id and sends it with every
 * attempt, and a replica that already stored an attempt answers the retry with that version
 * instead of storing it again. An UNAVAILABLE on a write therefore means "not confirmed", not
 * "not written": the write may be stored on fewer than W replicas and visible to reads
 * (`UnavailableError.replicasStored` says on how many).
 */
export class QuorumKvClient {
  /** The coordinator address this client dials. */
  readonly address: string;
  /** The TLS files in use, when the client connects with `tls`. */
  readonly tls: LoadedTls | undefined;
  private readonly deadlineMs: number;
  private readonly retry: ResolvedRetryOptions;
  private readonly clock: CallWithRetryOptions['clock'];
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly caller: string | undefined;
  private readonly requestIds: () => Uint8Array;
  private readonly kv: kv.KeyValueServiceClient;
  private readonly cluster: admin.ClusterServiceClient;

  constructor(options: QuorumKvClientOptions = {}) {
    this.address = options.address ?? DEFAULT_ADDRESS;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    if (!Number.isFinite(this.deadlineMs) || this.deadlineMs <= 0) {
      throw new ClientOptionsError('deadlineMs', this.deadlineMs, 'a positive number');
    }
    this.retry = resolveRetryOptions(options.retry);
    this.clock = {
      now: options.now ?? (() => performance.now()),
      sleep: options.sleep ?? ((ms: number) => delay(ms)),
      random: options.random ?? Math.random,
    };
    this.onRetry = options.onRetry;
    this.requestIds = options.requestIds ?? newRequestId;
    if (options.caller !== undefined && !/^[\x20-\x7e]+$/.test(options.caller)) {
      throw new ClientOptionsError('caller', options.caller, 'a non-empty printable ASCII string');
    }
    this.caller = options.caller;
    if (options.tls !== undefined && options.credentials !== undefined) {
      throw new ClientOptionsError('tls', 'given with credentials', 'given alone (tls builds the credentials)');
    }
    this.tls = options.tls === undefined ? undefined : loadTls(options.tls);
    const secured = this.tls === undefined ? undefined : tlsCredentials(this.tls);
    const creds = secured?.credentials ?? options.credentials ?? grpcCredentials.createInsecure();
    this.kv = new kv.KeyValueServiceClient(this.address, creds, { ...secured?.channelOptions, ...options.channelOptions });
    // One channel (one HTTP/2 connection) for both services.
    this.cluster = new admin.ClusterServiceClient(this.address, creds, { channelOverride: this.kv.getChannel() });
  }

  /** Reads every live sibling of `key` and the causal context to pass to the next write. */
  async get(key: BytesLike, opts: GetOptions = {}): Promise<GetResult> {
    const request: kv.GetRequest = {
      key: toBuffer(key),
      consistency: consistencyLevel(opts.consistency),
      r: replicaCount('r', opts.r),
      pr: replicaCount('pr', opts.pr),
    };
    const res = await this.call(this.kv.get.bind(this.kv), request, opts);
    return { found: res.found, siblings: res.siblings.map((s) => s.value), context: res.context };
  }

  /**
   * Stores `value` under `key`. Pass the context of the Get you based the value on, or the write
   * becomes a sibling of what is already there.
   *
   * Why the request id is drawn here, once, and not per attempt: it names the logical write, so
   * every retry below (and only those) carries the same one and is recognised by the replicas.
   */
  async put(key: BytesLike, value: BytesLike, opts: WriteOptions = {}): Promise<PutResult> {
    const request: kv.PutRequest = {
      key: toBuffer(key),
      value: toBuffer(value),
      context: toBuffer(opts.context ?? new Uint8Array()),
      consistency: consistencyLevel(opts.consistency),
      w: replicaCount('w', opts.w),
      requestId: requestIdOf(opts.requestId, this.requestIds),
      pw: replicaCount('pw', opts.pw),
    };
    const res = await this.call(this.kv.put.bind(this.kv), request, opts);
    return { context: res.context };
  }

  /**
   * Deletes `key`: writes a tombstone that supersedes the versions `opts.context` covers. Pass
   * the context of a {@link get} of the key to delete what that get returned. Without a context
   * the tombstone supersedes nothing: every value already stored stays, a sibling of the
   * tombstone, and the next get still returns it.
   */
  async delete(key: BytesLike, opts: WriteOptions = {}): Promise<void> {
    const request: kv.DeleteRequest = {
      key: toBuffer(key),
      context: toBuffer(opts.context ?? new Uint8Array()),
      consistency: consistencyLevel(opts.consistency),
      w: replicaCount('w', opts.w),
      requestId: requestIdOf(opts.requestId, this.requestIds),
      pw: replicaCount('pw', opts.pw),
    };
    await this.call(this.kv.delete.bind(this.kv), request, opts);
  }

  /** The cluster as the coordinator sees it: storage nodes, up or down, ring shares, keys. */
  async status(opts: CallOptions = {}): Promise<ClusterStatus> {
    const res = await this.call(this.cluster.status.bind(this.cluster), {}, opts);
    return fromStatusResponse(res);
  }

  /**
   * Why TLS connections to the coordinator fail, in a sentence ("the server's certificate is not
   * signed by ca.pem", "the server requires a client certificate"…): call it after a
   * {@link CoordinatorUnreachableError}, whose details carry only grpc-js's words. Makes one TLS
   * connection of its own. Undefined when the client does not use `tls`.
   */
  async diagnoseTls(timeoutMs?: number): Promise<(TlsDiagnosis & { readonly message: string }) | undefined> {
    const tls = this.tls;
    if (tls === undefined) return undefined;
    const found = await diagnoseTls(this.address, tls, timeoutMs);
    return { ...found, message: describeTlsDiagnosis(found, this.address, tls) };
  }

  /** Closes the channel; calls in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    this.kv.close();
  }

  private async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions): Promise<Res> {
    const deadlineMs = callDeadlineMs(opts.deadlineMs, this.deadlineMs);
    return callWithRetry((remainingMs) => invokeUnary(method, request, remainingMs, this.caller), {
      retry: this.retry,
      clock: this.clock,
      deadlineMs,
      onRetry: this.onRetry,
      toError: (err, attempts) => this.toError(err, attempts, deadlineMs),
    });
  }

  private toError(err: unknown, attempts: number, deadlineMs: number): QuorumKvError {
    const metadata = (err as Partial<ServiceError>).metadata;
    return toQuorumKvError(err, {
      address: this.address,
      attempts,
      deadlineMs,
      connected: this.kv.getChannel().getConnectivityState(false) === connectivityState.READY,
      retryAfterMs: metadata instanceof Metadata ? retryAfterMs(metadata) : undefined,
    });
  }
}

/**
 * One attempt as a promise. The grpc deadline is wall-clock time, so the remaining budget
 * (measured on the injected monotonic clock) is turned into an absolute `Date.now()` here.
 */
function invokeUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, remainingMs: number, caller: string | undefined): Promise<Res> {
  const metadata = new Metadata();
  if (caller !== undefined) metadata.set(CALLER_METADATA_KEY, caller);
  return new Promise<Res>((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + remainingMs }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}
