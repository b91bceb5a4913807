/**
 * Test support: one running storage node read and written directly through its own Replicate
 * stream (with the ring epoch it knows), bypassing quorums: its version sets as they are, and
 * divergence injected — a MergeOp of a version minted by no storage node (actor `injector`, a
 * random epoch), which only that replica then holds, as a replication that reached one replica
 * and stalled would leave it.
 */
import { randomBytes } from 'node:crypto';
import { type ChannelCredentials, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';

/** See the file comment. */
export class ReplicaProbe {
  private readonly client: storage.StorageServiceClient;
  private readonly epoch = randomBytes(8).readBigUInt64BE() | 1n;
  private counter = 0;

  constructor(
    address: string,
    /** The ring epoch the node is on (it refuses older requests). */
    private readonly ringEpoch: number,
    /** With TLS: a coordinator's certificate (the node serves replica traffic to it). */
    creds: ChannelCredentials = credentials.createInsecure(),
  ) {
    this.client = new storage.StorageServiceClient(address, creds);
  }

  /** Every version the node holds for `key`. */
  async read(key: string): Promise<storage.Version[]> {
    const res = await this.call({ $case: 'read', read: { key: Buffer.from(key), standIn: false } });
    if (res?.result?.$case !== 'read') throw new Error(`read of ${key} refused: ${JSON.stringify(res?.result)}`);
    return res.result.read.versions;
  }

  /** Merges a new sibling holding `value` into the node's set of `key`. */
  async addSibling(key: string, value: string): Promise<void> {
    this.counter += 1;
    const version: storage.Version = {
      dot: { node: 'injector', epoch: this.epoch, counter: BigInt(this.counter) },
      context: [],
      value: Buffer.from(value),
      tombstone: false,
      writtenAtMs: BigInt(Date.now()),
    };
    const res = await this.call({ $case: 'merge', merge: { key: Buffer.from(key), versions: [version], versionsRecord: Buffer.alloc(0), applied: [], hintedFor: '' } });
    if (res?.result?.$case !== 'merge') throw new Error(`merge into ${key} refused: ${JSON.stringify(res?.result)}`);
  }

  /** One request on a stream of its own, with the node's ring epoch. */
  private async call(op: NonNullable<storage.ReplicaRequest['op']>): Promise<storage.ReplicaResponse | undefined> {
    const stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch> = this.client.replicate({ deadline: Date.now() + 10_000 });
    const answer = new Promise<storage.ReplicaResponse | undefined>((resolve, reject) => {
      stream.on('data', (batch: storage.ReplicaResponseBatch) => resolve(batch.responses[0]));
      stream.on('error', reject);
    });
    stream.write({ requests: [storage.ReplicaRequest.fromPartial({ id: 1, timeoutMs: 10_000, ringEpoch: this.ringEpoch, op })] });
    const res = await answer;
    stream.end();
    return res;
  }

  close(): void {
    this.client.close();
  }
}
