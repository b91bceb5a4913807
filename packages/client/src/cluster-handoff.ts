/**
 * Hinted handoff as `qkv cluster handoff` shows it (like Cassandra's `nodetool statushandoff`):
 * the membership service's `Handoff` answer in plain numbers.
 */
import type { membership } from '@quorumkv/proto';
import { LIVENESS, type Liveness } from './cluster-members.js';

/** One storage node as hinted handoff sees it. */
export interface NodeHandoffInfo {
  readonly nodeId: string;
  readonly liveness: Liveness;
  /** Hints waiting in JetStream for it. */
  readonly pending: number;
  /** Age of the oldest of them, ms (0 when none waits). */
  readonly oldestAgeMs: number;
  /** Its own counts since it started (valid when `reported`). */
  readonly delivered: number;
  readonly deliveredBytes: number;
  readonly undeliverable: number;
  /** Hints merged per second and bytes per second, over the last 10 s. */
  readonly deliveryRatePerS: number;
  readonly deliveryBytesPerS: number;
  readonly throttleBytesPerS: number;
  readonly draining: boolean;
  /** Copies it keeps as a stand-in for other nodes. */
  readonly standInCopies: number;
  /** Hints for it the window dropped undelivered (seen by the membership replica asked). */
  readonly expired: number;
  /** Whether the node answered in time (its own counts are in). */
  readonly reported: boolean;
}

/** The whole picture. */
export interface ClusterHandoff {
  readonly hintsEnabled: boolean;
  /** Why hints are off, when they are. */
  readonly reason: string;
  readonly hintWindowMs: number;
  readonly nodes: readonly NodeHandoffInfo[];
}

/** The SDK's form of a Handoff answer. */
export function fromHandoffResponse(res: membership.HandoffResponse): ClusterHandoff {
  return {
    hintsEnabled: res.hintsEnabled,
    reason: res.reason,
    hintWindowMs: Number(res.hintWindowMs),
    nodes: res.nodes.map((n) => ({
      nodeId: n.nodeId,
      liveness: LIVENESS[n.liveness] ?? 'down',
      pending: Number(n.pending),
      oldestAgeMs: Number(n.oldestAgeMs),
      delivered: Number(n.delivered),
      deliveredBytes: Number(n.deliveredBytes),
      undeliverable: Number(n.undeliverable),
      deliveryRatePerS: n.deliveryRatePerS,
      deliveryBytesPerS: n.deliveryBytesPerS,
      throttleBytesPerS: Number(n.throttleBytesPerS),
      draining: n.draining,
      standInCopies: Number(n.standInCopies),
      expired: Number(n.expired),
      reported: n.reported,
    })),
  };
}
