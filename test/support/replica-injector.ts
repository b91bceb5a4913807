/**
 * Test support: divergence injected into one running storage node through its own Replicate
 * stream — a MergeOp of a version minted by no storage node (actor `injector`, a random epoch),
 * which only that replica then holds, as a replication that reached one replica and stalled
 * would leave it.
 */
import { randomBytes } from 'node:crypto';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';

/** See the file comment. */
export class ReplicaInjector {
  private readonly client: storage.StorageServiceClient;
  private readonly epoch = randomBytes(8).readBigUInt64BE() | 1n;
  private counter = 0;

  constructor(
    address: string,
    /** The ring epoch the node is on (it refuses older requests). */
    private readonly ringEpoch: number,
  ) {
    this.client = new storage.StorageServiceClient(address, credentials.createInsecure());
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
    const stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch> = this.client.replicate({ deadline: Date.now() + 10_000 });
    const answer = new Promise<storage.ReplicaResponse | undefined>((resolve, reject) => {
      stream.on('data', (batch: storage.ReplicaResponseBatch) => resolve(batch.responses[0]));
      stream.on('error', reject);
    });
    stream.write({
      requests: [
        storage.ReplicaRequest.fromPartial({
          id: 1,
          timeoutMs: 10_000,
          ringEpoch: this.ringEpoch,
          op: { $case: 'merge', merge: { key: Buffer.from(key), versions: [version], versionsRecord: Buffer.alloc(0) } },
        }),
      ],
    });
    const res = await answer;
    stream.end();
    if (res?.result?.$case !== 'merge') throw new Error(`merge into ${key} refused: ${JSON.stringify(res?.result)}`);
  }

  close(): void {
    this.client.close();
  }
}
