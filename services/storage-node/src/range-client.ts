/**
 * The requesting side of `StorageService.PullRange`: one client per source address, kept while
 * transfers run. Reconnect back-off is capped low (grpc-js defaults to 120 s), so a source that
 * comes back is pulled from again within a second.
 */
import { type ChannelCredentials, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';

/** Pulls one batch of a range from the node at `address`. */
export interface RangePuller {
  pull(address: string, request: storage.PullRangeRequest, timeoutMs: number): Promise<storage.PullRangeResponse>;
  close(): void;
}

const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

/** {@link RangePuller} over gRPC. */
export class GrpcRangePuller implements RangePuller {
  private readonly clients = new Map<string, storage.StorageServiceClient>();

  /** @param channelCredentials with TLS: this node's certificate, accepting only storage nodes as sources. */
  constructor(private readonly channelCredentials: ChannelCredentials = credentials.createInsecure()) {}

  pull(address: string, request: storage.PullRangeRequest, timeoutMs: number): Promise<storage.PullRangeResponse> {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new storage.StorageServiceClient(address, this.channelCredentials, CHANNEL_OPTIONS);
      this.clients.set(address, client);
    }
    const c = client;
    return new Promise((resolve, reject) => {
      c.pullRange(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: storage.PullRangeResponse) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
