/**
 * Reads and merges of keys on one storage node — the read-repair path: the Replicate stream's
 * ReadOp and MergeOp, exactly as a coordinator sends them, so a repair is the same merge under
 * the same key lock as any write.
 *
 * The calls made in one event-loop turn (a window of repairs running at once) travel as ONE
 * `ReplicaRequestBatch` on a Replicate stream opened for that batch and ended once every answer
 * is back; never one unary call per key. Why a stream per batch rather than one held open: a
 * worker repairs in bursts (the divergent keys of a pass) separated by idle periods as long as
 * the exchange period, and a stream per burst needs no heartbeat, reconnect or id reuse — a
 * failed batch fails its calls at once, and the node's back-off (`NodeHealth`) decides when the
 * worker talks to it again.
 */
import { type ChannelCredentials, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { TurnBatcher } from '@quorumkv/service-kit';
import { appliedToProto, keyVersionsFromProto, versionToProto, type AppliedMint, type KeyVersions, type Version } from '@quorumkv/vclock';
import type { ReplicaIo } from './storage-links.js';
import type { ByteMeter } from './storage-link.js';
import { GRPC_PREFIX_BYTES, TREE_CHANNEL_OPTIONS } from './tree-client.js';

type ReplicaOp = NonNullable<storage.ReplicaRequest['op']>;

interface Pending {
  readonly op: ReplicaOp;
  readonly meter: ByteMeter;
  readonly epoch: number;
  readonly resolve: (result: storage.ReplicaResponse['result']) => void;
  readonly reject: (err: Error) => void;
}

/** A storage node refused or failed one request (its `ReplicaError`), with a gRPC-like code. */
export class ReplicaRequestError extends Error {
  override readonly name = 'ReplicaRequestError';
  constructor(
    readonly node: string,
    /** The gRPC status the condition maps to, for the worker's back-off decisions. */
    readonly code: number,
    readonly replicaCode: storage.ReplicaError_Code,
    message: string,
  ) {
    super(`${node}: ${message}`);
  }
}

/** gRPC status codes a ReplicaError maps to (UNAVAILABLE: back off; FAILED_PRECONDITION: replan). */
function grpcCodeOf(code: storage.ReplicaError_Code): number {
  switch (code) {
    case storage.ReplicaError_Code.CODE_STALE_EPOCH:
      return 9; // FAILED_PRECONDITION
    case storage.ReplicaError_Code.CODE_INVALID_ARGUMENT:
      return 3;
    case storage.ReplicaError_Code.CODE_DEADLINE_EXCEEDED:
      return 4;
    case storage.ReplicaError_Code.CODE_SIBLING_LIMIT:
      return 8; // RESOURCE_EXHAUSTED
    default:
      return 14; // UNAVAILABLE
  }
}

/** See the file comment. */
export class ReplicaBatches implements ReplicaIo {
  private readonly client: storage.StorageServiceClient;
  private readonly batcher: TurnBatcher<Pending>;

  constructor(
    readonly node: string,
    readonly address: string,
    private readonly timeoutMs: number,
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    this.client = new storage.StorageServiceClient(address, channelCredentials, { ...TREE_CHANNEL_OPTIONS });
    this.batcher = new TurnBatcher<Pending>({ flush: (items) => this.send(items), maxItems: 256, maxBytes: 4 * 1024 * 1024 });
  }

  async read(epoch: number, key: Uint8Array, meter: ByteMeter): Promise<KeyVersions> {
    const result = await this.enqueue(epoch, { $case: 'read', read: { key: Buffer.from(key), standIn: false } }, meter, key.length);
    if (result?.$case !== 'read') throw new ReplicaRequestError(this.node, 13, storage.ReplicaError_Code.CODE_INTERNAL, 'answered a read with something else');
    return keyVersionsFromProto(result.read);
  }

  async merge(epoch: number, key: Uint8Array, versions: readonly Version[], meter: ByteMeter, applied: readonly AppliedMint[] = []): Promise<void> {
    const proto = versions.map(versionToProto);
    let size = key.length;
    for (const v of proto) size += v.value.length + 64 + 48 * v.context.length;
    const result = await this.enqueue(epoch, { $case: 'merge', merge: { key: Buffer.from(key), versions: proto, versionsRecord: Buffer.alloc(0), applied: appliedToProto(applied), hintedFor: '' } }, meter, size);
    if (result?.$case !== 'merge') throw new ReplicaRequestError(this.node, 13, storage.ReplicaError_Code.CODE_INTERNAL, 'answered a merge with something else');
  }

  close(): void {
    this.client.close();
  }

  private enqueue(epoch: number, op: ReplicaOp, meter: ByteMeter, bytes: number): Promise<storage.ReplicaResponse['result']> {
    return new Promise((resolve, reject) => this.batcher.push({ op, meter, epoch, resolve, reject }, bytes));
  }

  /** One batch: a stream opened, the batch written, every answer matched by id, the stream ended. */
  private send(items: Pending[]): void {
    const waiting = new Map<number, Pending>();
    const requests = items.map((item, i): storage.ReplicaRequest => {
      waiting.set(i + 1, item);
      // deadline_ms 0: the node times each request from its arrival (timeout_ms), the stream's own
      // deadline bounds the batch in this process's clock.
      return { id: i + 1, trace: {}, timeoutMs: this.timeoutMs, deadlineMs: 0, ringEpoch: item.epoch, op: item.op };
    });
    const failAll = (err: Error): void => {
      for (const item of waiting.values()) item.reject(err);
      waiting.clear();
    };
    let call: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>;
    try {
      call = this.client.replicate({ deadline: Date.now() + this.timeoutMs });
    } catch (err) {
      failAll(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    call.on('data', (batch: storage.ReplicaResponseBatch) => {
      for (const response of batch.responses) {
        const item = waiting.get(response.id);
        if (item === undefined) continue;
        waiting.delete(response.id);
        const request = requests[response.id - 1];
        // The request and the answer as encoded, plus their field tags and lengths in the batch
        // messages (about 4 bytes); the first answer also carries the two messages' prefixes.
        const requestBytes = request === undefined ? 0 : storage.ReplicaRequest.encode(request).finish().length;
        const prefixes = response.id === 1 ? 2 * GRPC_PREFIX_BYTES : 0;
        item.meter.add('repair', requestBytes + storage.ReplicaResponse.encode(response).finish().length + 4 + prefixes);
        const r = response.result;
        if (r?.$case === 'error') item.reject(new ReplicaRequestError(this.node, grpcCodeOf(r.error.code), r.error.code, r.error.message));
        else item.resolve(r);
      }
      if (waiting.size === 0) call.end();
    });
    call.on('error', (err: ServiceError) => failAll(err));
    call.on('end', () => failAll(new ReplicaRequestError(this.node, 14, storage.ReplicaError_Code.CODE_UNAVAILABLE, 'the stream ended before every answer came back')));
    call.write({ requests });
  }
}
