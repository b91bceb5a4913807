/**
 * The anti-entropy worker's operator API from TypeScript: start a repair pass, read progress,
 * flag keys for priority repair, change the throttles. What `qkv repair` uses.
 */
import { type ChannelCredentials, type ChannelOptions, connectivityState, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { antiEntropy } from '@quorumkv/proto';
import { toBuffer, type BytesLike } from './bytes.js';
import { toQuorumKvError, UnavailableError, type QuorumKvError } from './errors.js';

/** The worker's admin address a client dials when none is given (`npm start` runs it there). */
export const DEFAULT_ANTI_ENTROPY_ADDRESS = '127.0.0.1:7180';

/** The anti-entropy worker is not reachable at its address. */
export class AntiEntropyUnreachableError extends UnavailableError {
  override readonly name = 'AntiEntropyUnreachableError';
  constructor(
    readonly address: string,
    details: string,
    metadata: Metadata,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the anti-entropy worker at ${address} (${details}); is it running? (npm start runs one; --anti-entropy HOST:PORT or QKV_ANTI_ENTROPY_ADDR names another)`, metadata, 1, options);
  }
}

/** One pass's progress. */
export interface RepairPassProgress {
  readonly id: number;
  /** `schedule`, `manual`, `flagged` or `node-returned`. */
  readonly trigger: string;
  /** The node a manual pass is about ('' for every node). */
  readonly node: string;
  readonly startedAtMs: number;
  /** 0 while running. */
  readonly finishedAtMs: number;
  readonly exchangesTotal: number;
  readonly exchangesDone: number;
  readonly exchangesFailed: number;
  readonly keysRepaired: number;
  readonly bytesExchanged: number;
}

/** What the worker reports (`qkv repair status`). */
export interface RepairStatus {
  readonly ringEpoch: number;
  readonly rangesTotal: number;
  readonly rangesInSync: number;
  readonly rangesOutOfSync: number;
  readonly rangesUnknown: number;
  readonly rangesOverdue: number;
  readonly keysRepaired: number;
  readonly transientKeys: number;
  readonly bytesExchanged: number;
  readonly exchanges: number;
  readonly exchangesFailed: number;
  /** 0 before the first full pass. */
  readonly lastFullPassMs: number;
  readonly current: RepairPassProgress | undefined;
  /** Every pass started and not finished, oldest first. */
  readonly running: readonly RepairPassProgress[];
  readonly last: RepairPassProgress | undefined;
  readonly periodMs: number;
  readonly tombstoneGraceMs: number;
  readonly tombstonesPurged: number;
  readonly flaggedKeys: number;
  readonly throttle: RepairThrottle;
  readonly nodes: readonly { id: string; address: string; backoffUntilMs: number; lastError: string; exchanges: number; keysRepaired: number }[];
}

/** The worker's throttles. */
export interface RepairThrottle {
  readonly exchangesPerSecond: number;
  readonly keysPerSecond: number;
  readonly maxExchangesPerNode: number;
}

function progress(p: antiEntropy.PassProgress | undefined): RepairPassProgress | undefined {
  if (p === undefined) return undefined;
  return {
    id: Number(p.id),
    trigger: p.trigger,
    node: p.nodeId,
    startedAtMs: Number(p.startedAtMs),
    finishedAtMs: Number(p.finishedAtMs),
    exchangesTotal: p.exchangesTotal,
    exchangesDone: p.exchangesDone,
    exchangesFailed: p.exchangesFailed,
    keysRepaired: Number(p.keysRepaired),
    bytesExchanged: Number(p.bytesExchanged),
  };
}

/** Options of {@link AntiEntropyClient}. */
export interface AntiEntropyClientOptions {
  /** @default DEFAULT_ANTI_ENTROPY_ADDRESS */
  readonly address?: string;
  /** Deadline of each call. @default 5000 */
  readonly deadlineMs?: number;
  /** With `npm start -- --tls` or in a cluster on mutual TLS: the client certificate's credentials. @default insecure */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
}

/** See the file comment. */
export class AntiEntropyClient {
  readonly address: string;
  private readonly deadlineMs: number;
  private readonly client: antiEntropy.AntiEntropyServiceClient;

  constructor(options: AntiEntropyClientOptions = {}) {
    this.address = options.address ?? DEFAULT_ANTI_ENTROPY_ADDRESS;
    this.deadlineMs = options.deadlineMs ?? 5_000;
    this.client = new antiEntropy.AntiEntropyServiceClient(this.address, options.credentials ?? credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      ...options.channelOptions,
    });
  }

  /**
   * Starts a pass now over the ranges of `node` (every node when absent), only those overlapping
   * `range` when given. Returns the pass id and how many (range, replica pair) exchanges it runs.
   */
  async repair(options: { node?: string; range?: { start: number; end: number } } = {}): Promise<{ passId: number; exchanges: number; message: string }> {
    const res = await this.call<antiEntropy.RepairRequest, antiEntropy.RepairResponse>(this.client.repair.bind(this.client), {
      nodeId: options.node ?? '',
      ...(options.range ? { range: options.range } : {}),
    });
    return { passId: Number(res.passId), exchanges: res.exchanges, message: res.message };
  }

  /** Ranges in and out of sync, keys repaired, bytes exchanged, the last full pass, progress. */
  async status(): Promise<RepairStatus> {
    const s = await this.call<antiEntropy.StatusRequest, antiEntropy.StatusResponse>(this.client.status.bind(this.client), {});
    return {
      ringEpoch: Number(s.ringEpoch),
      rangesTotal: s.rangesTotal,
      rangesInSync: s.rangesInSync,
      rangesOutOfSync: s.rangesOutOfSync,
      rangesUnknown: s.rangesUnknown,
      rangesOverdue: s.rangesOverdue,
      keysRepaired: Number(s.keysRepaired),
      transientKeys: Number(s.transientKeys),
      bytesExchanged: Number(s.bytesExchanged),
      exchanges: Number(s.exchanges),
      exchangesFailed: Number(s.exchangesFailed),
      lastFullPassMs: Number(s.lastFullPassMs),
      current: progress(s.current),
      running: s.running.map((p) => progress(p) as RepairPassProgress),
      last: progress(s.last),
      periodMs: Number(s.periodMs),
      tombstoneGraceMs: Number(s.tombstoneGraceMs),
      tombstonesPurged: Number(s.tombstonesPurged),
      flaggedKeys: s.flaggedKeys,
      throttle: {
        exchangesPerSecond: s.throttle?.exchangesPerSecond ?? 0,
        keysPerSecond: s.throttle?.keysPerSecond ?? 0,
        maxExchangesPerNode: s.throttle?.maxExchangesPerNode ?? 0,
      },
      nodes: s.nodes.map((n) => ({
        id: n.id,
        address: n.address,
        backoffUntilMs: Number(n.backoffUntilMs),
        lastError: n.lastError,
        exchanges: Number(n.exchanges),
        keysRepaired: Number(n.keysRepaired),
      })),
    };
  }

  /** Flags keys for repair before any scheduled exchange (hinted handoff's undeliverable hints). */
  async flagKeys(keys: readonly BytesLike[], source = 'client'): Promise<{ accepted: number; pending: number }> {
    return this.call<antiEntropy.FlagKeysRequest, antiEntropy.FlagKeysResponse>(this.client.flagKeys.bind(this.client), { keys: keys.map(toBuffer), source });
  }

  /** Changes throttles while the worker runs (a value left out stays as it is). */
  async setThrottle(change: Partial<RepairThrottle>): Promise<RepairThrottle> {
    const res = await this.call<antiEntropy.SetThrottleRequest, antiEntropy.SetThrottleResponse>(this.client.setThrottle.bind(this.client), {
      exchangesPerSecond: change.exchangesPerSecond ?? 0,
      keysPerSecond: change.keysPerSecond ?? 0,
      maxExchangesPerNode: change.maxExchangesPerNode ?? 0,
    });
    const t = res.throttle;
    return { exchangesPerSecond: t?.exchangesPerSecond ?? 0, keysPerSecond: t?.keysPerSecond ?? 0, maxExchangesPerNode: t?.maxExchangesPerNode ?? 0 };
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(
    method: (req: Req, metadata: Metadata, options: { deadline: number }, callback: (err: ServiceError | null, res: Res) => void) => unknown,
    request: Req,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(request, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (err, res) => {
        if (err === null) resolve(res);
        else reject(this.failure(err));
      });
    });
  }

  private failure(err: ServiceError): QuorumKvError {
    // The channel's state, not the message text, tells a worker that is not there from one that
    // answered UNAVAILABLE (it has no ring yet).
    const connected = this.client.getChannel().getConnectivityState(false) === connectivityState.READY;
    if (err.code === status.UNAVAILABLE && !connected) return new AntiEntropyUnreachableError(this.address, err.details, err.metadata, { cause: err });
    return toQuorumKvError(err, { address: this.address, attempts: 1, deadlineMs: this.deadlineMs, connected, retryAfterMs: undefined });
  }
}
