/**
 * The worker's connections to the storage nodes, one set per node and address: a TreeService
 * channel for the trees and the tombstones, and one long-lived Replicate stream for the repairs'
 * reads and merges (many keys multiplexed on it, never one unary call per key). A node whose
 * address changes on the ring gets new connections; nodes that leave are closed.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { KeyDigest } from '@quorumkv/merkle';
import type { AppliedMint, KeyVersions, Version } from '@quorumkv/vclock';
import type { ClusterNode } from './ring-plan.js';
import type { Arc, ArcSummaryInfo, ByteMeter, StorageLink, TombstonePage } from './storage-link.js';
import { TreeClient } from './tree-client.js';

/** Reads and merges of keys on one node (the Replicate stream's ReadOp and MergeOp). */
export interface ReplicaIo {
  read(epoch: number, key: Uint8Array, meter: ByteMeter): Promise<KeyVersions>;
  merge(epoch: number, key: Uint8Array, versions: readonly Version[], meter: ByteMeter, applied?: readonly AppliedMint[]): Promise<void>;
  close(): void;
}

/** A {@link StorageLink} over a node's TreeService and its Replicate stream. */
class GrpcStorageLink implements StorageLink {
  constructor(
    readonly node: string,
    readonly address: string,
    private readonly trees: TreeClient,
    private readonly replica: ReplicaIo,
  ) {}

  summaries(epoch: number, arcs: readonly Arc[], meter: ByteMeter): Promise<ArcSummaryInfo[]> {
    return this.trees.summaries(epoch, arcs, meter);
  }

  branches(epoch: number, arc: Arc, parentDepth: number, parents: readonly number[], bits: number, meter: ByteMeter): Promise<Uint8Array> {
    return this.trees.branches(epoch, arc, parentDepth, parents, bits, meter);
  }

  segmentEntries(epoch: number, arc: Arc, depth: number, segments: readonly number[], meter: ByteMeter): Promise<KeyDigest[]> {
    return this.trees.segmentEntries(epoch, arc, depth, segments, meter);
  }

  read(epoch: number, key: Uint8Array, meter: ByteMeter): Promise<KeyVersions> {
    return this.replica.read(epoch, key, meter);
  }

  merge(epoch: number, key: Uint8Array, versions: readonly Version[], meter: ByteMeter, applied?: readonly AppliedMint[]): Promise<void> {
    return this.replica.merge(epoch, key, versions, meter, applied);
  }

  listTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, afterKey: Uint8Array, limit: number, meter: ByteMeter): Promise<TombstonePage> {
    return this.trees.listTombstones(epoch, arc, writtenBeforeMs, afterKey, limit, meter);
  }

  purgeTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, keys: readonly KeyDigest[], meter: ByteMeter): Promise<{ purged: number; changed: number }> {
    return this.trees.purgeTombstones(epoch, arc, writtenBeforeMs, keys, meter);
  }

  close(): void {
    this.trees.close();
    this.replica.close();
  }
}

/** Options of {@link StorageLinks}. */
export interface StorageLinksOptions {
  readonly callTimeoutMs: number;
  /** Opens the Replicate stream client of a node. */
  readonly replica: (node: ClusterNode) => ReplicaIo;
  /** Credentials of the TreeService channels (mutual TLS). @default insecure */
  readonly credentials?: ChannelCredentials;
}

/** See the file comment. */
export class StorageLinks {
  private readonly links = new Map<string, GrpcStorageLink>();

  constructor(private readonly options: StorageLinksOptions) {}

  /** The link of `node` at its current address. */
  link(node: ClusterNode): StorageLink {
    const known = this.links.get(node.id);
    if (known !== undefined && known.address === node.address) return known;
    known?.close();
    const link = new GrpcStorageLink(node.id, node.address, new TreeClient(node.address, this.options.callTimeoutMs, this.options.credentials), this.options.replica(node));
    this.links.set(node.id, link);
    return link;
  }

  /** Closes the links of nodes not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [id, link] of this.links) {
      if (keep.has(id)) continue;
      link.close();
      this.links.delete(id);
    }
  }

  closeAll(): void {
    this.retain(new Set());
  }
}
