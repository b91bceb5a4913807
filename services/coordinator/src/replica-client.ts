import { Metadata, credentials, makeGenericClientConstructor, type ChannelCredentials, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import {
  MultiplexedStreamClient,
  StreamBrokenError,
  StreamOverloadedError,
  StreamTimeoutError,
  StreamUnavailableError,
  pooledSerializer,
  streamChannelOptions,
  systemTimers,
  type BackoffOptions,
  type Logger,
  type Timers,
} from '@quorumkv/service-kit';
import {
  replicaErrorFrom,
  ReplicaOverloadedError,
  ReplicaProtocolError,
  ReplicaStreamBrokenError,
  ReplicaTimeoutError,
  ReplicaUnavailableError,
  type ReplicaRequestError,
} from './errors.js';
import { NodeClock } from './node-clock.js';
import { activeTraceRecord } from './observability.js';
import { shortCause } from './short-cause.js';

type ReplicaOp = NonNullable<storage.ReplicaRequest['op']>;

/** What a node answered for one request (an error answer rejects instead). */
export type ReplicaResult = Exclude<NonNullable<storage.ReplicaResponse['result']>, { $case: 'error' }>;

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
  /** Requests past their timeout fail at most this late (one grouped sweep). @default 10 */
  readonly sweepIntervalMs?: number;
  /**
   * Defers the send of the requests made in one event-loop turn (they travel as one message).
   * @default setImmediate
   */
  readonly schedule?: (fn: () => void) => void;
  /** Requests in one batch message at most. @default 256 */
  readonly maxBatch?: number;
  /**
   * Requests in flight on this node's stream at most; beyond, a request fails at once with
   * {@link ReplicaOverloadedError} instead of queueing. @default 2048
   */
  readonly maxInFlight?: number;
  /**
   * A clock probe (an empty batch) is sent when nothing was sent for this long, so the estimate
   * of the node's clock stays fresh on an idle stream. @default 1000
   */
  readonly heartbeatMs?: number;
  /** Largest answer batch accepted from the node (see `replicaAnswerLimit`). @default 4 MiB */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Pings that notice a half-dead connection (a node that vanished without closing its socket:
   * power loss, a partition) instead of waiting for each request's timeout.
   * @default { timeMs: 10000, timeoutMs: 5000 }
   */
  readonly keepalive?: KeepaliveOptions;
  /** The channel's credentials (TLS: see `TransportSecurity.channelCredentials`). @default plain text */
  readonly credentials?: ChannelCredentials;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Bytes a request adds to its batch, at most about: what its byte fields carry, a clock entry at
 * its largest (a 64-byte node id and two varints), and the id, deadline and trace map. An upper
 * estimate, so batches stay within what the node accepts (`batchReceiveLimit`).
 */
function requestBytes(op: ReplicaOp, trace: Record<string, string>): number {
  let n = 48;
  for (const k in trace) n += k.length + (trace[k]?.length ?? 0) + 8;
  switch (op.$case) {
    case 'read':
      return n + op.read.key.length;
    case 'coordinate':
      return n + op.coordinate.key.length + op.coordinate.value.length + 96 * op.coordinate.context.length;
    case 'merge': {
      n += op.merge.key.length + op.merge.versionsRecord.length;
      for (const v of op.merge.versions) n += v.value.length + 96 * v.context.length + 128;
      return n;
    }
  }
}

/**
 * One storage node, reached over ONE long-lived bidirectional `Replicate` stream (a service-kit
 * `MultiplexedStreamClient`): requests are tagged with an id and matched to answers that arrive
 * in any order, the requests of one event-loop turn travel as one `ReplicaRequestBatch`, and the
 * node answers in batches too — never one unary call per replica per operation.
 *
 * Lifecycle: the stream is (re)opened with jittered exponential backoff; `up` is true once the
 * node answered the clock probe each new stream starts with. When it breaks, every pending request fails at once with
 * {@link ReplicaStreamBrokenError} (a quorum then fails fast instead of waiting for its
 * deadline); requests made while it is down fail at once with {@link ReplicaUnavailableError},
 * and requests past `maxInFlight` with {@link ReplicaOverloadedError}. Requests that outlive their
 * timeout fail with {@link ReplicaTimeoutError} from a coarse sweep (callers that need precise
 * deadlines keep their own timer).
 *
 * Deadlines: each request carries the moment this client gives up on it, converted to the
 * node's clock ({@link NodeClock}, learnt from the clock stamp on every answer batch), so a node
 * that reads it late — it was paused, or its socket buffers were full — drops it instead of
 * minting a version the coordinator has already had another replica mint.
 */
export class ReplicaClient {
  readonly nodeId: string;
  readonly address: string;
  private readonly client: storage.StorageServiceClient;
  private readonly timers: Timers;
  private readonly stream: MultiplexedStreamClient<storage.ReplicaRequest, storage.ReplicaRequestBatch, storage.ReplicaResponse, storage.ReplicaResponseBatch>;
  private readonly clock = new NodeClock();

  constructor(options: ReplicaClientOptions) {
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.timers = options.timers ?? systemTimers;
    const backoff = options.backoff ?? { initialMs: 50, maxMs: 2000 };
    this.client = new StorageClient(
      this.address,
      options.credentials ?? credentials.createInsecure(),
      streamChannelOptions({
        backoff,
        ...(options.maxReceiveMessageBytes !== undefined ? { maxReceiveMessageBytes: options.maxReceiveMessageBytes } : {}),
        ...(options.keepalive ? { keepalive: options.keepalive } : {}),
      }),
    );
    this.stream = new MultiplexedStreamClient({
      peer: this.nodeId,
      what: 'replica stream',
      open: () => this.client.replicate(),
      pack: (requests) => ({ requests }),
      unpack: (batch) => {
        this.clock.sample(batch.nodeTimeMs, this.timers.now());
        return batch.responses;
      },
      // Why a handshake: the first deadline needs a clock sample, and a stream counts as up
      // only once the node has answered on it.
      handshake: { message: () => ({ requests: [] }), heartbeatMs: options.heartbeatMs ?? 1_000 },
      logger: options.logger,
      // `replica`, not `node`: the coordinator's logger already names its own node.
      logFields: { replica: this.nodeId, address: this.address },
      describeError: (err) => shortCause(err as GrpcError),
      timers: this.timers,
      backoff,
      ...(options.random ? { random: options.random } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      ...(options.maxBatch !== undefined ? { maxBatchItems: options.maxBatch } : {}),
      timeoutGranularityMs: options.sweepIntervalMs ?? 10,
      maxInFlight: options.maxInFlight ?? 2048,
    });
  }

  /** True while the stream is open and the node has answered on it: requests will be sent. */
  get up(): boolean {
    return this.stream.up;
  }

  /** Why the node is not up (the last connection or stream error), for error messages. */
  get downReason(): string {
    return this.stream.downReason;
  }

  /** Requests sent and not yet answered, failed or expired. */
  get inFlight(): number {
    return this.stream.inFlight;
  }

  /** Calls `listener` whenever `up` changes. Returns a function that removes it. */
  onStateChange(listener: (up: boolean) => void): () => void {
    return this.stream.onStateChange(listener);
  }

  /** Opens the stream and keeps it open until {@link close}. */
  start(): void {
    this.stream.start();
  }

  /** Fails pending requests, ends the stream and closes the channel. */
  close(): void {
    this.stream.close();
    this.client.close();
  }

  /**
   * Reads every version of `key` and the request ids applied to it (inside the node's window);
   * `ringEpoch` is the ring epoch the read was routed by. With `standIn`, the copies the node
   * keeps as a stand-in for other nodes (hinted handoff) instead of its own data.
   */
  async read(key: Buffer, timeoutMs: number, ringEpoch = 0, standIn = false): Promise<storage.ReadResult> {
    const result = await this.request({ $case: 'read', read: { key, standIn } }, timeoutMs, ringEpoch);
    if (result.$case !== 'read') throw new ReplicaProtocolError(this.nodeId, `answered a read with ${result.$case}`);
    return result.read;
  }

  /** Mints a version at this node (one local read-modify-write there). */
  async coordinate(op: storage.CoordinateOp, timeoutMs: number, ringEpoch = 0): Promise<storage.CoordinateResult> {
    const result = await this.request({ $case: 'coordinate', coordinate: op }, timeoutMs, ringEpoch);
    if (result.$case !== 'coordinate') throw new ReplicaProtocolError(this.nodeId, `answered a coordinate with ${result.$case}`);
    return result.coordinate;
  }

  /**
   * Merges versions minted elsewhere (as messages, or a whole set's record bytes) into this
   * node's set; `applied` (with messages): the request ids the replicas read hold, so the node
   * collapses a write minted twice as the reader did. With `hintedFor` (record bytes only), the
   * node keeps the set as a stand-in copy for that replica.
   */
  async merge(key: Buffer, versions: storage.Version[] | Buffer, timeoutMs: number, ringEpoch = 0, applied: storage.AppliedWrite[] = [], hintedFor = ''): Promise<void> {
    const merge: storage.MergeOp = Array.isArray(versions) ? { key, versions, versionsRecord: NO_BYTES, applied, hintedFor } : { key, versions: [], versionsRecord: versions, applied: [], hintedFor };
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
   * the stream is down or full; otherwise settles with the answer carrying the same id, or fails
   * when the stream breaks or the timeout passes. `ringEpoch`: the ring epoch the request was
   * routed by (a node that knows a newer one refuses it: epoch fencing).
   */
  async request(op: ReplicaOp, timeoutMs: number, ringEpoch = 0): Promise<ReplicaResult> {
    const timeout = Math.max(1, Math.ceil(timeoutMs));
    const trace = activeTraceRecord();
    // The moment the stream client fails this request, in the node's clock (0 before a sample).
    const deadlineMs = this.clock.toNodeTime(this.timers.now() + timeout);
    let response: storage.ReplicaResponse;
    try {
      response = await this.stream.call((id) => ({ id, trace, timeoutMs: timeout, deadlineMs, ringEpoch, op }), timeout, requestBytes(op, trace));
    } catch (err) {
      throw this.replicaError(err);
    }
    const result = response.result;
    if (result === undefined) throw new ReplicaProtocolError(this.nodeId, 'empty answer');
    if (result.$case === 'error') throw replicaErrorFrom(this.nodeId, result.error);
    return result;
  }

  /** The coordinator's error for a stream failure, by class. */
  private replicaError(err: unknown): ReplicaRequestError | Error {
    if (err instanceof StreamTimeoutError) return new ReplicaTimeoutError(this.nodeId);
    if (err instanceof StreamBrokenError) return new ReplicaStreamBrokenError(this.nodeId, err.reason);
    if (err instanceof StreamOverloadedError) return new ReplicaOverloadedError(this.nodeId, err.message);
    if (err instanceof StreamUnavailableError) return new ReplicaUnavailableError(this.nodeId, err.reason);
    return err instanceof Error ? err : new Error(String(err));
  }
}
