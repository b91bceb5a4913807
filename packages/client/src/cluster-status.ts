import type { admin } from '@quorumkv/proto';

/** One storage node as the coordinator sees it. */
export interface NodeStatus {
  readonly id: string;
  /** The node's gRPC address. */
  readonly address: string;
  /** Whether the failure detector currently considers the node alive. */
  readonly up: boolean;
  /** Fraction of the hash space (0..1) for which this node is the first owner. */
  readonly ringShare: number;
  /** Keys the node stores (an estimate from its engine). */
  readonly keyCount: bigint;
  /** Bytes the node stores on disk (an estimate). */
  readonly approximateBytes: bigint;
}

/** The cluster as the coordinator sees it: replication, ring layout and every storage node. */
export interface ClusterStatus {
  /** N: replicas per key. */
  readonly replicationFactor: number;
  /** Virtual nodes each physical node places on the ring. */
  readonly vnodesPerNode: number;
  readonly nodes: readonly NodeStatus[];
}

/** Copies the wire message into the SDK's own types, so callers never depend on generated code. */
export function fromStatusResponse(res: admin.StatusResponse): ClusterStatus {
  return {
    replicationFactor: res.replicationFactor,
    vnodesPerNode: res.vnodesPerNode,
    nodes: res.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      up: n.up,
      ringShare: n.ringShare,
      keyCount: n.keyCount,
      approximateBytes: n.approximateBytes,
    })),
  };
}
