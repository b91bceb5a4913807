/**
 * One storage node's TreeService, called by the worker: unary calls (each one covers a whole arc
 * or many arcs, never a key) with a deadline, and every request and answer counted in bytes as
 * they travel — protobuf bytes plus gRPC's 5-byte message prefix, the measure the benchmark's
 * `treeBytes` and `naiveBytes` share.
 */
import { type ChannelCredentials, credentials, Metadata, type ChannelOptions, type ServiceError as GrpcError } from '@grpc/grpc-js';
import type { KeyDigest } from '@quorumkv/merkle';
import { storageTrees } from '@quorumkv/proto';
import type { Arc, ArcSummaryInfo, ByteMeter, TombstonePage } from './storage-link.js';

/** gRPC's per-message prefix (compressed flag and length). */
export const GRPC_PREFIX_BYTES = 5;

/**
 * Channel options of a tree channel. Why: grpc-js waits up to 120 s between reconnects by default,
 * which would keep a restarted node out of exchanges for minutes.
 */
export const TREE_CHANNEL_OPTIONS: Readonly<ChannelOptions> = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // A wiped replica's restore lists whole segments: answers may be a few MiB.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
});

interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
}

function sizeOf<T>(codec: MessageCodec<T>, message: T): number {
  return codec.encode(message).finish().length + GRPC_PREFIX_BYTES;
}

/** See the file comment. */
export class TreeClient {
  private readonly client: storageTrees.TreeServiceClient;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    this.client = new storageTrees.TreeServiceClient(address, channelCredentials, { ...TREE_CHANNEL_OPTIONS });
  }

  private call<Req, Res>(
    method: (req: Req, metadata: Metadata, options: { deadline: number }, callback: (err: GrpcError | null, res: Res) => void) => unknown,
    reqCodec: MessageCodec<Req>,
    resCodec: MessageCodec<Res>,
    request: Req,
    meter: ByteMeter,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(request, new Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err !== null) {
          meter.add('tree', sizeOf(reqCodec, request));
          reject(err);
          return;
        }
        meter.add('tree', sizeOf(reqCodec, request) + sizeOf(resCodec, res));
        resolve(res);
      });
    });
  }

  async summaries(epoch: number, arcs: readonly Arc[], meter: ByteMeter): Promise<ArcSummaryInfo[]> {
    const res = await this.call(
      this.client.treeSummaries.bind(this.client),
      storageTrees.TreeSummariesRequest,
      storageTrees.TreeSummariesResponse,
      { ringEpoch: BigInt(epoch), arcs: arcs.map((a) => ({ start: a.start, end: a.end })) },
      meter,
    );
    return res.arcs.map((a) => ({ start: a.start, end: a.end, depth: a.depth, keyCount: Number(a.keyCount), root: a.root, building: a.building }));
  }

  async branches(epoch: number, arc: Arc, parentDepth: number, parents: readonly number[], bits: number, meter: ByteMeter): Promise<Uint8Array> {
    const res = await this.call(
      this.client.treeBranches.bind(this.client),
      storageTrees.TreeBranchesRequest,
      storageTrees.TreeBranchesResponse,
      { ringEpoch: BigInt(epoch), arc: { start: arc.start, end: arc.end }, parentDepth, parents: [...parents], bits },
      meter,
    );
    return res.hashes;
  }

  async segmentEntries(epoch: number, arc: Arc, depth: number, segments: readonly number[], meter: ByteMeter): Promise<KeyDigest[]> {
    const res = await this.call(
      this.client.segmentEntries.bind(this.client),
      storageTrees.SegmentEntriesRequest,
      storageTrees.SegmentEntriesResponse,
      { ringEpoch: BigInt(epoch), arc: { start: arc.start, end: arc.end }, depth, segments: [...segments] },
      meter,
    );
    return res.entries;
  }

  async listTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, afterKey: Uint8Array, limit: number, meter: ByteMeter): Promise<TombstonePage> {
    const res = await this.call(
      this.client.listTombstones.bind(this.client),
      storageTrees.ListTombstonesRequest,
      storageTrees.ListTombstonesResponse,
      { ringEpoch: BigInt(epoch), arc: { start: arc.start, end: arc.end }, writtenBeforeMs: BigInt(Math.max(0, Math.floor(writtenBeforeMs))), afterKey: Buffer.from(afterKey), limit },
      meter,
    );
    return { keys: res.keys, next: res.nextAfterKey, scanned: res.scanned };
  }

  async purgeTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, keys: readonly KeyDigest[], meter: ByteMeter): Promise<{ purged: number; changed: number }> {
    return this.call(
      this.client.purgeTombstones.bind(this.client),
      storageTrees.PurgeTombstonesRequest,
      storageTrees.PurgeTombstonesResponse,
      {
        ringEpoch: BigInt(epoch),
        arc: { start: arc.start, end: arc.end },
        writtenBeforeMs: BigInt(Math.max(0, Math.floor(writtenBeforeMs))),
        keys: keys.map((k) => ({ key: Buffer.from(k.key), digest: Buffer.from(k.digest) })),
      },
      meter,
    );
  }

  close(): void {
    this.client.close();
  }
}
