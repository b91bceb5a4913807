import {
  type ClientDuplexStream,
  Metadata,
  connectivityState,
  credentials,
  makeGenericClientConstructor,
  type ServiceError as GrpcError,
} from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { TurnBatcher, pooledSerializer, type Logger } from '@quorumkv/service-kit';
import { ReplicaProtocolError, ReplicaStreamBrokenError, ReplicaUnavailableError } from './errors.js';
import { backoffDelay, shortCause, type BackoffOptions } from './backoff.js';
import { activeTraceRecord } from './observability.js';
import { PendingRequests, type ReplicaResult } from './pending-requests.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

type ReplicaOp = NonNullable<storage.ReplicaRequest['op']>;

/**
 * The generated StorageService client, except that Replicate batches are encoded with one reused
 * writer (see `pooledSerializer`): the coordinator sends thousands of them a second. The cast is
 * the one ts-proto's generated client makes too.
 */
const StorageClient = makeGenericClientConstructor(
  {
    ...storage.StorageServiceService,
    replicate: {
      ...storage.StorageServiceService.replicate,
      requestSerialize: pooledSerializer(storage.ReplicaRequestBatch, { requests: [] }),
    },
  },
  'quorumkv.storage.v1.StorageService',
) as unknown as typeof storage.StorageServiceClient;

/** HTTP/2 keepalive of a replica channel. */
export interface KeepaliveOptions {
  /** Ping the node after this long without traffic from it. */
  readonly timeMs: number;
  /** Declare the connection dead when a ping is not answered within this. */
  readonly timeoutMs: number;
}

/** Options of one node's connection. */
export interface ReplicaClientOptions {
  readonly nodeId: string;
  /** `host:port` of the node's StorageService. */
  readonly address: string;
  readonly logger: Logger;
  readonly timers?: Timers;
  /** Stream reopen backoff. @default { initialMs: 50, maxMs: 2000 } */
  readonly backoff?: BackoffOptions;
  /** Randomness for backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** How often requests past their timeout are failed. @default 50 */
  readonly sweepIntervalMs?: number;
  /**
   * Defers the send of the requests made in one event-loop turn (they travel as one message).
   * @default setImmediate
   */
  readonly schedule?: (fn: () => void) => void;
  /** Requests in one batch message at most. @default 256 */
  readonly maxBatch?: number;
  /**
   * Pings that notice a half-dead connection (a node that vanished without closing its socket:
   * power loss, a partition) instead of waiting for each request's timeout.
   * @default { timeMs: 10000, timeoutMs: 5000 }
   */
  readonly keepalive?: KeepaliveOptions;
}

const NO_BYTES = Buffer.alloc(0);

/** Bytes a request adds to its batch, roughly: what its byte fields carry plus framing. */
function requestBytes(op: ReplicaOp): number {
  switch (op.$case) {
    case 'read':
      return op.read.key.length + 16;
    case 'coordinate':
      return op.coordinate.key.length + op.coordinate.value.length + 32 * op.coordinate.context.length + 32;
    case 'merge': {
      let n = op.merge.key.length + op.merge.versionsRecord.length + 16;
      for (const v of op.merge.versions) n += v.value.length + 32 * v.context.length + 48;
      return n;
    }
  }
}

/**
 * One storage node, reached over ONE long-lived bidirectional `Replicate` stream. Requests are
 * tagged with an id and matched to answers that arrive in any order — never one unary call per
 * replica per operation (a grpc-js unary call costs several times a stream message). The
 * requests made during one event-loop turn travel as one `ReplicaRequestBatch` message, and the
 * node answers in batches too: a stream message costs grpc-js about 13 µs whatever it carries.
 *
 * Lifecycle: the stream is (re)opened with jittered exponential backoff; `up` is true while it is
 * open on a READY channel. When it breaks, every pending request fails at once with
 * {@link ReplicaStreamBrokenError} (a quorum then fails fast instead of waiting for its
 * deadline), and requests made while it is down fail at once with {@link ReplicaUnavailableError}.
 * Requests that outlive their timeout fail with `ReplicaTimeoutError` from a coarse sweep
 * (one timer per node, not per request: callers that need precise deadlines keep their own).
 */
export class ReplicaClient {
  readonly nodeId: string;
  readonly address: string;
  private readonly client: storage.StorageServiceClient;
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly pending: PendingRequests;
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly outbox: TurnBatcher<storage.ReplicaRequest>;
  private stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch> | undefined;
  private streamOpen = false;
  private channelReady = false;
  private wasUp = false;
  private failures = 0;
  private reopenTimer: TimerHandle | undefined;
  private closed = false;
  private started = false;
  private lastCause = 'not connected yet';

  constructor(options: ReplicaClientOptions) {
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.logger = options.logger;
    this.timers = options.timers ?? systemTimers;
    this.backoff = options.backoff ?? { initialMs: 50, maxMs: 2000 };
    this.random = options.random ?? Math.random;
    this.pending = new PendingRequests(this.nodeId, this.timers, options.sweepIntervalMs ?? 50);
    this.outbox = new TurnBatcher({
      // Why no wait on write() returning false: the requests in flight are bounded by the client
      // calls in flight, and grpc-js buffers the few batches that do not fit in the HTTP/2 window.
      flush: (requests) => this.stream?.write({ requests }),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      ...(options.maxBatch !== undefined ? { maxItems: options.maxBatch } : {}),
    });
    const keepalive = options.keepalive ?? { timeMs: 10_000, timeoutMs: 5_000 };
    this.client = new StorageClient(this.address, credentials.createInsecure(), {
      // Why no retries: a replica request must fail fast to the quorum logic, never be replayed
      // behind its back; and with retries on, grpc-js buffers every message of the long-lived
      // stream for a possible replay. Channelz bookkeeping is per message too: off on the hot path.
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0,
      'grpc.initial_reconnect_backoff_ms': this.backoff.initialMs,
      'grpc.max_reconnect_backoff_ms': this.backoff.maxMs,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // Why keepalive: the Replicate stream is always open, so a peer that disappears without a
      // FIN would otherwise leave requests hanging until their timeouts and the node marked up.
      // An unanswered ping breaks the stream, which fails its pending requests at once.
      'grpc.keepalive_time_ms': keepalive.timeMs,
      'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  /** True while the stream is open on a connected channel: requests will be sent. */
  get up(): boolean {
    return this.streamOpen && this.channelReady;
  }

  /** Why the node is not up (the last connection or stream error), for error messages. */
  get downReason(): string {
    return this.lastCause;
  }

  /** Requests sent and not yet answered, failed or expired. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Calls `listener` whenever `up` changes. Returns a function that removes it. */
  onStateChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens the stream and keeps it open until {@link close}. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.watchChannel(this.client.getChannel().getConnectivityState(true));
    this.openStream();
  }

  /** Fails pending requests, ends the stream and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reopenTimer !== undefined) this.timers.clearTimeout(this.reopenTimer);
    this.pending.close();
    this.outbox.clear();
    this.pending.failAll(new ReplicaStreamBrokenError(this.nodeId, 'closed'));
    const stream = this.stream;
    this.stream = undefined;
    this.streamOpen = false;
    stream?.cancel();
    this.client.close();
    this.notify();
  }

  /** Reads every version of `key`; `ringEpoch` is the ring epoch the read was routed by. */
  async read(key: Buffer, timeoutMs: number, ringEpoch = 0): Promise<storage.Version[]> {
    const result = await this.request({ $case: 'read', read: { key } }, timeoutMs, ringEpoch);
    if (result.$case !== 'read') throw new ReplicaProtocolError(this.nodeId, `answered a read with ${result.$case}`);
    return result.read.versions;
  }

  /** Mints a version at this node (one local read-modify-write there). */
  async coordinate(op: storage.CoordinateOp, timeoutMs: number, ringEpoch = 0): Promise<storage.CoordinateResult> {
    const result = await this.request({ $case: 'coordinate', coordinate: op }, timeoutMs, ringEpoch);
    if (result.$case !== 'coordinate') throw new ReplicaProtocolError(this.nodeId, `answered a coordinate with ${result.$case}`);
    return result.coordinate;
  }

  /** Merges versions minted elsewhere (as messages, or a whole set's record bytes) into this node's set. */
  async merge(key: Buffer, versions: storage.Version[] | Buffer, timeoutMs: number, ringEpoch = 0): Promise<void> {
    const merge: storage.MergeOp = Array.isArray(versions) ? { key, versions, versionsRecord: NO_BYTES } : { key, versions: [], versionsRecord: versions };
    const result = await this.request({ $case: 'merge', merge }, timeoutMs, ringEpoch);
    if (result.$case !== 'merge') throw new ReplicaProtocolError(this.nodeId, `answered a merge with ${result.$case}`);
  }

  /** The node's engine statistics (a unary call: admin path, not hot). */
  stats(timeoutMs: number): Promise<storage.StatsResponse> {
    return new Promise((resolve, reject) => {
      this.client.stats({}, new Metadata(), { deadline: this.timers.now() + timeoutMs }, (err: GrpcError | null, res: storage.StatsResponse) => {
        if (err) reject(new ReplicaUnavailableError(this.nodeId, shortCause(err)));
        else resolve(res);
      });
    });
  }

  /**
   * Sends one request on the stream (in the batch of this event-loop turn). Fails at once when
   * the stream is down; otherwise settles with the answer carrying the same id, or fails when the
   * stream breaks or the timeout passes. `ringEpoch`: the ring epoch the request was routed by
   * (a node that knows a newer one refuses it: epoch fencing).
   */
  request(op: ReplicaOp, timeoutMs: number, ringEpoch = 0): Promise<ReplicaResult> {
    if (!this.up || this.stream === undefined) {
      return Promise.reject(new ReplicaUnavailableError(this.nodeId, this.lastCause));
    }
    const timeout = Math.max(1, Math.ceil(timeoutMs));
    const { id, answer } = this.pending.open(timeout);
    this.outbox.push({ id, trace: activeTraceRecord(), timeoutMs: timeout, ringEpoch, op }, requestBytes(op));
    return answer;
  }

  private openStream(): void {
    if (this.closed) return;
    this.reopenTimer = undefined;
    const stream = this.client.replicate();
    this.stream = stream;
    this.streamOpen = true;
    let ended = false;
    const broken = (cause: string): void => {
      if (ended) return;
      ended = true;
      if (this.stream === stream) {
        this.stream = undefined;
        this.streamOpen = false;
        this.lastCause = cause;
        // Requests still waiting for their batch were never sent: they fail with the others.
        this.outbox.clear();
        this.pending.failAll(new ReplicaStreamBrokenError(this.nodeId, cause));
        this.notify();
        this.scheduleReopen();
      }
    };
    stream.on('data', (batch: storage.ReplicaResponseBatch) => {
      this.failures = 0;
      for (const res of batch.responses) this.pending.settle(res);
    });
    stream.on('error', (err: GrpcError) => broken(shortCause(err)));
    stream.on('end', () => {
      broken('stream ended by the node');
      stream.end();
    });
    this.notify();
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer !== undefined) return;
    const delay = backoffDelay(this.failures++, this.backoff, this.random);
    this.reopenTimer = this.timers.setTimeout(() => this.openStream(), delay);
  }

  private watchChannel(state: connectivityState): void {
    if (this.closed) return;
    this.channelReady = state === connectivityState.READY;
    if (this.channelReady) this.failures = 0;
    this.notify();
    if (state === connectivityState.SHUTDOWN) return;
    this.client.getChannel().watchConnectivityState(state, Infinity, () => {
      this.watchChannel(this.client.getChannel().getConnectivityState(true));
    });
  }

  private notify(): void {
    const up = this.up;
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (up) this.logger.info({ node: this.nodeId, address: this.address }, 'replica stream up');
    else this.logger.warn({ node: this.nodeId, address: this.address, cause: this.lastCause }, 'replica stream down');
    for (const l of this.listeners) l(up);
  }
}
