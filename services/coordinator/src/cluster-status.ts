import type { admin } from '@quorumkv/proto';
import { callDeadline, unary, type Logger } from '@quorumkv/service-kit';
import type { ReplicaPool } from './replica-pool.js';

/** What Status reports besides the live node data. */
export interface ClusterStatusDeps {
  readonly pool: ReplicaPool;
  /** The ring's first-owner share per node (HashRing.shares()). */
  readonly shares: () => ReadonlyMap<string, number>;
  /** The ring's N and vnodes now. */
  readonly replicationFactor: () => number;
  readonly vnodes: () => number;
  /** Deadline of each node's Stats call. */
  readonly statusTimeoutMs: number;
  readonly timers: { now(): number };
}

/**
 * The cluster as this coordinator sees it: the storage nodes of the ring it follows (pending ones
 * included; `qkv cluster status` asks the membership service for every member and ring state). A node is `up` when its Replicate stream is open AND
 * it answers a Stats call within a short deadline: an open stream to a wedged process is not up.
 * Nodes are asked in parallel, so Status takes at most one Stats deadline.
 */
export async function clusterStatus(deps: ClusterStatusDeps, callDeadlineMs: number): Promise<admin.StatusResponse> {
  const shares = deps.shares();
  const timeout = Math.max(1, Math.min(deps.statusTimeoutMs, callDeadlineMs - deps.timers.now()));
  const nodes = await Promise.all(
    deps.pool.nodeIds().map(async (id): Promise<admin.NodeStatus> => {
      const client = deps.pool.client(id);
      const base = { id, address: client.address, ringShare: shares.get(id) ?? 0 };
      if (!client.up) return { ...base, up: false, keyCount: 0n, approximateBytes: 0n };
      try {
        const s = await client.stats(timeout);
        return { ...base, up: true, keyCount: s.keyCount, approximateBytes: s.approximateBytes };
      } catch {
        return { ...base, up: false, keyCount: 0n, approximateBytes: 0n };
      }
    }),
  );
  return { replicationFactor: deps.replicationFactor(), vnodesPerNode: deps.vnodes(), nodes };
}

/** The grpc-js implementation of quorumkv.admin.v1.ClusterService. */
export function clusterService(deps: ClusterStatusDeps, logger: Logger): admin.ClusterServiceServer {
  return {
    status: unary(logger, (_req: admin.StatusRequest, call) => clusterStatus(deps, callDeadline(call))),
  };
}
