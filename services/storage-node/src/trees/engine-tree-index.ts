/**
 * The trees' view of a {@link StorageEngine}: its ring-position index (live scans and snapshots),
 * its records (for the verification), and the moment between two write batches.
 */
import type { StorageEngine } from '../engine.js';
import type { TreeIndex } from './tree-index.js';

/** The engine operations the trees read. */
export type TreeEngine = Pick<StorageEngine, 'scanRange' | 'snapshotIndex' | 'snapshotRecords' | 'betweenBatches' | 'keyCount'>;

/** A {@link TreeIndex} over the engine. */
export function engineTreeIndex(engine: TreeEngine): TreeIndex {
  return {
    scan: (arc, options = {}) =>
      engine.scanRange(arc.after, arc.through, {
        ...(options.from ? { after: options.from } : {}),
        limit: options.limit ?? 1_024,
        records: false,
      }),
    snapshotIndex: (arcs) => engine.snapshotIndex(arcs),
    snapshotRecords: () => engine.snapshotRecords(),
    quiesce: (fn) => engine.betweenBatches(fn),
    keyCount: () => engine.keyCount,
  };
}
