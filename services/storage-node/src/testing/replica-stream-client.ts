/**
 * A minimal client of one `Replicate` stream for this service's tests and its benchmark script:
 * tags requests with ids and resolves each with the answer carrying the same id. Each `send` is
 * a batch of one request; `sendBatch` sends several in one message. Not the
 * coordinator's client (that lives with the coordinator); kept here so tests talk real gRPC.
 */
import { type ChannelCredentials, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';

interface Pending {
  readonly resolve: (response: storage.ReplicaResponse) => void;
  readonly reject: (err: unknown) => void;
}

/** One Replicate stream to a storage node. */
export class ReplicaStreamClient {
  /** Response ids in the order they arrived. */
  readonly arrivals: number[] = [];
  private readonly client: storage.StorageServiceClient;
  /** How many answer batches arrived, and how many answers each carried. */
  readonly batchSizes: number[] = [];
  private readonly stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>;
  private readonly pending = new Map<number, Pending>();
  private readonly ended: Promise<void>;
  private nextId = 1;

  /** @param creds with TLS: a coordinator's certificate (replica traffic is served to it). */
  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    this.client = new storage.StorageServiceClient(address, creds);
    this.stream = this.client.replicate();
    this.stream.on('data', (batch: storage.ReplicaResponseBatch) => {
      this.batchSizes.push(batch.responses.length);
      for (const response of batch.responses) {
        this.arrivals.push(response.id);
        const p = this.pending.get(response.id);
        this.pending.delete(response.id);
        p?.resolve(response);
      }
    });
    this.ended = new Promise<void>((resolve) => {
      const fail = (err: unknown): void => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve();
      };
      this.stream.on('error', fail);
      this.stream.on('status', () => fail(new Error('stream ended')));
    });
  }

  /** Sends one request and resolves with its answer. `timeoutMs` 0 means no timeout. */
  /** The ring epoch every request says it was routed by (0: none). */
  ringEpoch = 0;

  send(op: NonNullable<storage.ReplicaRequest['op']>, timeoutMs = 0): Promise<storage.ReplicaResponse> {
    const [answer] = this.sendBatch([op], timeoutMs);
    return answer!;
  }

  /** Sends several requests in one batch message; one promise per request, in order. */
  sendBatch(ops: readonly NonNullable<storage.ReplicaRequest['op']>[], timeoutMs = 0): Promise<storage.ReplicaResponse>[] {
    const requests = ops.map((op) => ({ id: this.nextId++, trace: {}, timeoutMs, deadlineMs: 0, ringEpoch: this.ringEpoch, op }));
    const answers = requests.map((r) => this.expect(r.id));
    this.stream.write({ requests });
    return answers;
  }

  /** Sends a request the caller built (to test odd input), alone in its batch. */
  sendRaw(request: storage.ReplicaRequest): Promise<storage.ReplicaResponse> {
    const answer = this.expect(request.id);
    this.stream.write({ requests: [request] });
    return answer;
  }

  private expect(id: number): Promise<storage.ReplicaResponse> {
    return new Promise<storage.ReplicaResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
  }

  /** Engine statistics over a unary call. */
  stats(): Promise<storage.StatsResponse> {
    return new Promise((resolve, reject) => {
      this.client.stats({}, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Half-closes the stream and resolves when the server has ended it. */
  async end(): Promise<void> {
    this.stream.end();
    await this.ended;
  }

  /** Resolves when the server ends the stream or it fails. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** Cancels the stream and closes the channel. */
  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}
