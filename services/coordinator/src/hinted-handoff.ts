/**
 * The coordinator's side of hinted handoff, wired from its settings: the JetStream link (made in
 * the background, so the coordinator serves before NATS answers), node health from gossip and its
 * own streams, and the hand-over to anti-entropy of the ranges of a node down past the window.
 */
import { type ClusterViewClient, memberOf } from '@quorumkv/cluster-view';
import { AntiEntropyFlagLog, HintConnection, type HintsState } from '@quorumkv/hints';
import { arcsOfNode, replicaArcs } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import { NodeHealth } from './node-health.js';
import type { ReplicaPool } from './replica-pool.js';
import type { RingSource } from './ring-source.js';
import type { HandoffDeps } from './sloppy-replicate.js';
import type { Timers } from './timers.js';

/** How often node health looks for nodes that passed the hint window. */
const WINDOW_CHECK_MS = 1_000;

/** What the coordinator's handoff needs. */
export interface CoordinatorHandoffOptions {
  readonly id: string;
  /** `--nats` (empty: off). */
  readonly nats: string;
  readonly hintWindowMs: number;
  readonly cluster: Pick<ClusterViewClient, 'current'>;
  readonly ring: RingSource;
  readonly pool: Pick<ReplicaPool, 'isUp'>;
  readonly timers: Timers;
  readonly logger: Logger;
}

/** The running handoff: deps for the write path, the state for status, and a way to stop. */
export interface CoordinatorHandoff {
  readonly deps: HandoffDeps;
  readonly flags: AntiEntropyFlagLog;
  state(): HintsState;
  close(): Promise<void>;
}

/** Starts the coordinator's hinted handoff (connecting in the background). */
export function startCoordinatorHandoff(o: CoordinatorHandoffOptions): CoordinatorHandoff {
  const flags = new AntiEntropyFlagLog(o.logger);
  const health = new NodeHealth({
    liveness: (node) => {
      const view = o.cluster.current;
      return view === undefined ? undefined : memberOf(view, node)?.liveness;
    },
    streamUp: (node) => o.pool.isUp(node),
    timers: o.timers,
    hintWindowMs: o.hintWindowMs,
    onWindowExceeded: (node, downForMs) => {
      // Why ranges and not keys: past the window no hint records which keys the node missed, so
      // every range it replicates is compared by anti-entropy when it is back.
      const ring = o.ring.current();
      const arcs = arcsOfNode(replicaArcs(ring.current, ring.replicationFactor), node);
      flags.flagRanges(arcs, 'hint-window-exceeded', { node, downForMs, hintWindowMs: o.hintWindowMs });
    },
    onBack: (node, downForMs) => o.logger.info({ node, downForMs }, 'node back after more than the hint window: anti-entropy repairs what it missed'),
  });
  health.watch(() => o.ring.current().allMembers().map((m) => m.id), WINDOW_CHECK_MS);
  if (o.nats === '') {
    o.logger.warn('hinted handoff off (started without --nats): writes count primaries only, a down replica is left to read repair and anti-entropy');
    const off: HintsState = { on: false, reason: 'hinted handoff is off (coordinator started without --nats)' };
    return { deps: { hints: undefined, health }, flags, state: () => off, close: () => (health.stop(), Promise.resolve()) };
  }
  const conn = HintConnection.start({
    servers: o.nats.split(','),
    hintWindowMs: o.hintWindowMs,
    name: `coordinator ${o.id}`,
    onConnected: () => o.logger.info({ nats: o.nats, hintWindowMs: o.hintWindowMs }, 'hinted handoff on: JetStream reachable'),
    onError: (err, attempts) => {
      if (attempts === 1 || attempts % 10 === 0) o.logger.warn({ err: err.message, attempts, nats: o.nats }, 'JetStream unreachable: writes count primaries only until it is');
    },
  });
  const hints = {
    state: () => conn.state,
    publish: async (hint: Parameters<NonNullable<HandoffDeps['hints']>['publish']>[0], messageId: string) => {
      const q = conn.queue;
      if (q === undefined) throw new Error('JetStream unreachable');
      await q.publish(hint, messageId);
    },
  };
  return {
    deps: { hints, health },
    flags,
    state: () => conn.state,
    close: async () => {
      health.stop();
      await conn.close();
    },
  };
}
