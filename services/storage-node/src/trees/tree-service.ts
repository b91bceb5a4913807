/**
 * `quorumkv.storage.v1.TreeService`: what the anti-entropy worker reads of this node's trees, and
 * the tombstone purge. Every call names the ring epoch and the arc; a node on another epoch, or
 * without that arc, refuses (FAILED_PRECONDITION) so an exchange never compares trees over
 * different key sets.
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { storageTrees } from '@quorumkv/proto';
import { InvalidArgumentError, unary, type Logger } from '@quorumkv/service-kit';
import { asBuffer } from '../record-codec.js';
import { listTombstones, purgeTombstones, type TombstoneEngine } from './tombstones.js';
import type { Arc, TreeKeeper } from './tree-keeper.js';

/** What the service needs. */
export interface TreeServiceDeps {
  readonly trees: TreeKeeper;
  readonly engine: TombstoneEngine;
  readonly logger: Logger;
  /** Keys purged (metrics). */
  readonly onPurged?: (keys: number) => void;
}

/** Most arcs one TreeSummaries call may name. */
export const MAX_SUMMARY_ARCS = 65_536;

function epochOf(raw: bigint): number {
  if (raw > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError('ring_epoch', `${raw} is out of range`);
  return Number(raw);
}

function arcOf(arc: storageTrees.ArcRef | undefined): Arc {
  if (arc === undefined) throw new InvalidArgumentError('arc', 'missing: name the arc (start, end]');
  return { start: arc.start, end: arc.end };
}

/** `fn`'s result as a promise: a refusal it throws becomes a rejection, never an exception in grpc-js. */
function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The service definition and its implementation, to register with the node's gRPC server. */
export function createTreeService(deps: TreeServiceDeps): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const { trees, engine, logger } = deps;
  const implementation: storageTrees.TreeServiceServer = {
    treeSummaries: unary(logger, (req: storageTrees.TreeSummariesRequest) => attempt(() => {
      if (req.arcs.length > MAX_SUMMARY_ARCS) throw new InvalidArgumentError('arcs', `${req.arcs.length} arcs is over the limit of ${MAX_SUMMARY_ARCS}`);
      const epoch = epochOf(req.ringEpoch);
      const arcs = trees.summaries(
        epoch,
        req.arcs.map((a) => ({ start: a.start, end: a.end })),
      ).map((s) => ({ start: s.start, end: s.end, depth: s.depth, keyCount: BigInt(s.keyCount), root: asBuffer(s.root), building: s.building }));
      return { ringEpoch: req.ringEpoch, arcs };
    })),
    treeBranches: unary(logger, (req: storageTrees.TreeBranchesRequest) =>
      attempt(() => ({ hashes: asBuffer(trees.branches(epochOf(req.ringEpoch), arcOf(req.arc), req.parentDepth, req.parents, req.bits)) })),
    ),
    segmentEntries: unary(logger, async (req: storageTrees.SegmentEntriesRequest) => ({
      entries: (await trees.segmentEntries(epochOf(req.ringEpoch), arcOf(req.arc), req.depth, req.segments)).map((e) => ({ key: asBuffer(e.key), digest: asBuffer(e.digest) })),
    })),
    listTombstones: unary(logger, async (req: storageTrees.ListTombstonesRequest) => {
      const arc = arcOf(req.arc);
      trees.checkHeld(epochOf(req.ringEpoch), arc);
      const page = await listTombstones(engine, arc, Number(req.writtenBeforeMs), req.afterKey, req.limit);
      return { keys: page.keys.map((e) => ({ key: asBuffer(e.key), digest: asBuffer(e.digest) })), nextAfterKey: asBuffer(page.next), scanned: page.scanned };
    }),
    purgeTombstones: unary(logger, async (req: storageTrees.PurgeTombstonesRequest) => {
      const arc = arcOf(req.arc);
      trees.checkHeld(epochOf(req.ringEpoch), arc);
      const done = await purgeTombstones(engine, arc, Number(req.writtenBeforeMs), req.keys);
      if (done.purged > 0) deps.onPurged?.(done.purged);
      return done;
    }),
  };
  return { definition: storageTrees.TreeServiceService, implementation };
}
