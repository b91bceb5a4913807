/**
 * `MembershipService/Handoff` (`qkv cluster handoff`, like `nodetool statushandoff`): per storage
 * node, the hints waiting for it in JetStream and the oldest one's age, its own delivery counts
 * and rate (from its Stats), and the hints the window dropped undelivered (this replica's expiry
 * watch).
 */
import { livenessToWire, type ClusterMember } from '@quorumkv/cluster-view';
import type { HintQueue, HintsState } from '@quorumkv/hints';
import type { membership, storage } from '@quorumkv/proto';
import type { ClusterState } from './cluster-state.js';

/** A storage node's hint delivery stats, or undefined when it did not answer in time. */
export type HintStatsFetcher = (address: string, timeoutMs: number) => Promise<storage.HintDeliveryStats | undefined>;

/** What one Handoff answer is made of. */
export interface HandoffInput {
  readonly state: ClusterState;
  readonly members: readonly ClusterMember[];
  readonly hints: HintsState;
  readonly queue: Pick<HintQueue, 'pendingByNode' | 'oldestHintAt'> | undefined;
  readonly hintWindowMs: number;
  readonly expired: ReadonlyMap<string, number>;
  readonly fetch: HintStatsFetcher;
  readonly statsTimeoutMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The Handoff answer. */
export async function clusterHandoff(input: HandoffInput): Promise<membership.HandoffResponse> {
  const window = BigInt(input.hintWindowMs);
  if (!input.hints.on || input.queue === undefined) {
    return { hintsEnabled: false, reason: input.hints.on ? 'JetStream not connected yet' : input.hints.reason, hintWindowMs: window, nodes: [] };
  }
  const queue = input.queue;
  const now = (input.now ?? Date.now)();
  const pending = await queue.pendingByNode();
  const byId = new Map(input.members.map((m) => [m.id, m]));
  const nodes = await Promise.all(
    input.state.ring.members
      .filter((m) => m.state !== 'left')
      .map(async (m): Promise<membership.NodeHandoff> => {
        const waiting = pending.get(m.id) ?? 0;
        const [oldest, stats] = await Promise.all([waiting > 0 ? queue.oldestHintAt(m.id) : Promise.resolve(undefined), input.fetch(m.address, input.statsTimeoutMs)]);
        return {
          nodeId: m.id,
          liveness: livenessToWire(byId.get(m.id)?.liveness ?? 'down'),
          pending: BigInt(waiting),
          oldestAgeMs: BigInt(oldest === undefined ? 0 : Math.max(0, Math.round(now - oldest))),
          delivered: stats?.delivered ?? 0n,
          deliveredBytes: stats?.deliveredBytes ?? 0n,
          undeliverable: stats?.undeliverable ?? 0n,
          forwarded: 0n,
          deliveryRatePerS: stats?.deliveryRatePerS ?? 0,
          deliveryBytesPerS: stats?.deliveryBytesPerS ?? 0,
          throttleBytesPerS: stats?.throttleBytesPerS ?? 0n,
          draining: stats?.draining ?? false,
          standInCopies: stats?.standInCopies ?? 0n,
          expired: BigInt(input.expired.get(m.id) ?? 0),
          reported: stats !== undefined,
        };
      }),
  );
  nodes.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return { hintsEnabled: true, reason: '', hintWindowMs: window, nodes };
}
