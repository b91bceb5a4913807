/**
 * A storage node's Merkle trees, wired: restored from the last clean shutdown (or built from the
 * index), told of every digest change by the engine, following the ring's arcs, served as
 * `TreeService`, measured, and saved again at a clean shutdown.
 */
import type { ClusterViewClient } from '@quorumkv/cluster-view';
import { arcsOfNode, replicaArcs, type RingView } from '@quorumkv/ring';
import type { Logger, ServiceMetrics, ServiceRegistration } from '@quorumkv/service-kit';
import type { StorageEngine } from '../engine.js';
import { createTreeMetrics } from '../metrics.js';
import { engineTreeIndex } from './engine-tree-index.js';
import { loadTrees, saveTrees } from './tree-store.js';
import { createTreeService } from './tree-service.js';
import { TreeKeeper } from './tree-keeper.js';

/** What {@link openNodeTrees} needs. */
export interface NodeTreesOptions {
  readonly engine: StorageEngine;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly rebuildKeysPerSecond: number;
  readonly verifyIntervalMs: number;
}

/** The trees of a running node. */
export interface NodeTrees {
  readonly keeper: TreeKeeper;
  /** `quorumkv.storage.v1.TreeService`, to serve beside the StorageService. */
  readonly registration: ServiceRegistration;
  /** Follows the committed ring: the arcs this node replicates get trees. */
  follow(cluster: ClusterViewClient): void;
  /** Adopts one ring (tests, and `follow`). */
  setRing(ring: RingView): void;
  /** Stops builds; the trees keep taking writes until the engine closes. */
  stop(): Promise<void>;
  /** Saves the built trees for the next start (call once nothing writes any more). */
  save(): Promise<void>;
}

/** See the file comment. */
export async function openNodeTrees(options: NodeTreesOptions): Promise<NodeTrees> {
  const { engine, nodeId, logger } = options;
  const keeper = new TreeKeeper({
    index: engineTreeIndex(engine),
    logger,
    rebuildKeysPerSecond: options.rebuildKeysPerSecond,
    verifyIntervalMs: options.verifyIntervalMs,
  });
  const restored = await loadTrees(engine.meta, engine.previousEpoch, logger);
  keeper.restore(restored);
  // From here every write updates the trees (restored ones at once, the others once built).
  engine.onDigestChange((key, position, oldDigest, newDigest) => keeper.update(key, position, oldDigest, newDigest));
  if (restored.length > 0) logger.info({ arcs: restored.length }, 'Merkle trees restored from the last clean shutdown');
  const metrics = createTreeMetrics(options.metrics, keeper);
  const service = createTreeService({ trees: keeper, engine, logger, onPurged: (n) => metrics.purged(n) });
  const setRing = (ring: RingView): void => {
    const arcs = arcsOfNode(replicaArcs(ring.current, ring.replicationFactor), nodeId);
    keeper.setArcs(ring.epoch, arcs);
  };
  return {
    keeper,
    registration: { name: 'quorumkv.storage.v1.TreeService', definition: service.definition, implementation: service.implementation },
    setRing,
    follow: (cluster) =>
      cluster.onChange(({ view, previous, ringChanged }) => {
        if (ringChanged || previous === undefined) setRing(view.ring);
      }),
    stop: () => keeper.close(),
    save: () => saveTrees(engine.meta, engine.epoch, keeper.persistable()),
  };
}
