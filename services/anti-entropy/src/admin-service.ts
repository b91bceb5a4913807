/**
 * `quorumkv.antientropy.v1.AntiEntropyService`: `qkv repair` starts a pass, `qkv repair status`
 * reads progress, hinted handoff flags keys and ranges, an operator changes the throttles while
 * the worker runs.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { antiEntropy } from '@quorumkv/proto';
import { InvalidArgumentError, unary, type Logger } from '@quorumkv/service-kit';
import { NoRingYetError, UnknownNodeError } from './errors.js';
import type { Pass } from './pass.js';
import type { AntiEntropyWorker } from './worker.js';

/** Most keys one FlagKeys call may carry. */
export const MAX_FLAGGED_PER_CALL = 100_000;
/** Longest key accepted (the store's default key limit). */
export const MAX_KEY_BYTES = 1_024;

/** Bounds of the run-time throttles (the same as the settings'). */
const THROTTLE_BOUNDS = {
  exchangesPerSecond: { field: 'exchanges_per_second', max: 100_000 },
  keysPerSecond: { field: 'keys_per_second', max: 10_000_000 },
  maxExchangesPerNode: { field: 'max_exchanges_per_node', max: 64 },
} as const;

/** What the admin service reads besides the worker. */
export interface AdminServiceDeps {
  readonly worker: AntiEntropyWorker;
  readonly logger: Logger;
  readonly periodMs: number;
  readonly tombstoneGraceMs: number;
  readonly now: () => number;
}

function big(n: number): bigint {
  return BigInt(Math.max(0, Math.floor(n)));
}

function progressOf(pass: Pass | undefined): antiEntropy.PassProgress | undefined {
  if (pass === undefined) return undefined;
  const v = pass.view();
  return {
    id: big(v.id),
    trigger: v.trigger,
    nodeId: v.node,
    startedAtMs: big(v.startedAtMs),
    exchangesTotal: v.exchangesTotal,
    exchangesDone: v.exchangesDone,
    exchangesFailed: v.exchangesFailed,
    keysRepaired: big(v.keysRepaired),
    bytesExchanged: big(v.bytesExchanged),
    finishedAtMs: big(v.finishedAtMs),
  };
}

/** The Status answer, from the worker's state at `now`. */
export function statusOf(deps: AdminServiceDeps): antiEntropy.StatusResponse {
  const { worker } = deps;
  const counts = worker.sync.counts(deps.now(), deps.periodMs);
  const c = worker.counters;
  const t = worker.throttle.current;
  const current = worker.activePasses()[0];
  return {
    ringEpoch: big(worker.currentPlan?.epoch ?? 0),
    rangesTotal: counts.total,
    rangesInSync: counts.inSync,
    rangesOutOfSync: counts.outOfSync,
    rangesUnknown: counts.unknown,
    rangesOverdue: counts.overdue,
    keysRepaired: big(c.keysRepaired + c.flaggedKeysRepaired),
    bytesExchanged: big(c.treeBytes + c.repairBytes),
    exchanges: big(c.exchanges),
    exchangesFailed: big(c.exchangesFailed),
    lastFullPassMs: big(c.lastFullPassMs),
    current: progressOf(current),
    last: progressOf(worker.lastFinishedPass),
    periodMs: big(deps.periodMs),
    tombstoneGraceMs: big(deps.tombstoneGraceMs),
    throttle: { exchangesPerSecond: t.exchangesPerSecond, keysPerSecond: t.keysPerSecond, maxExchangesPerNode: t.maxExchangesPerNode },
    tombstonesPurged: big(c.tombstonesPurged),
    flaggedKeys: worker.flagged.size,
    nodes: [...worker.clusterNodes.values()].map((n) => ({
      id: n.id,
      address: n.address,
      backoffUntilMs: big(worker.health.isBlocked(n.id) ? worker.health.blockedUntil(n.id) : 0),
      lastError: worker.health.lastError(n.id),
      exchanges: big(worker.nodeCounters(n.id).exchanges),
      keysRepaired: big(worker.nodeCounters(n.id).keysRepaired),
    })),
    transientKeys: big(c.transientKeys),
    running: worker.activePasses().map((p) => progressOf(p) as antiEntropy.PassProgress),
  };
}

/** See the file comment. */
export function createAdminService(deps: AdminServiceDeps): antiEntropy.AntiEntropyServiceServer & UntypedServiceImplementation {
  const { worker, logger } = deps;
  return {
    repair: unary(logger, (req: antiEntropy.RepairRequest) => {
      const plan = worker.currentPlan;
      if (plan === undefined) return Promise.reject(new NoRingYetError());
      const nodes = plan.nodes();
      if (req.nodeId !== '' && !nodes.includes(req.nodeId)) return Promise.reject(new UnknownNodeError(req.nodeId, nodes));
      const pass = worker.startPass({
        trigger: 'manual',
        ...(req.nodeId !== '' ? { node: req.nodeId } : {}),
        ...(req.range !== undefined ? { range: { start: req.range.start, end: req.range.end } } : {}),
      });
      const id = pass?.id ?? 0;
      const exchanges = pass?.exchangesTotal ?? 0;
      const scope = `${req.nodeId === '' ? 'every node' : req.nodeId}${req.range ? `, ranges overlapping (${req.range.start}, ${req.range.end}]` : ''}`;
      logger.info({ pass: id, node: req.nodeId, range: req.range, exchanges }, 'repair requested');
      return Promise.resolve({ passId: big(id), exchanges, message: `pass ${id} started: ${exchanges} range exchanges (${scope})` });
    }),
    status: unary(logger, () => Promise.resolve(statusOf(deps))),
    flagKeys: unary(logger, (req: antiEntropy.FlagKeysRequest) => {
      if (req.keys.length > MAX_FLAGGED_PER_CALL) return Promise.reject(new InvalidArgumentError('keys', `${req.keys.length} keys is over the limit of ${MAX_FLAGGED_PER_CALL} per call`));
      const bad = req.keys.findIndex((k) => k.length === 0 || k.length > MAX_KEY_BYTES);
      if (bad >= 0) return Promise.reject(new InvalidArgumentError(`keys[${bad}]`, `must be 1 to ${MAX_KEY_BYTES} bytes`));
      const accepted = worker.flagKeys(req.keys);
      if (accepted > 0) logger.info({ accepted, source: req.source }, 'keys flagged for repair');
      return Promise.resolve({ accepted, pending: worker.flagged.size });
    }),
    flagRanges: unary(logger, (req: antiEntropy.FlagRangesRequest) => {
      if (worker.currentPlan === undefined) return Promise.reject(new NoRingYetError());
      const accepted = worker.flagRanges(req.ranges.map((r) => ({ start: r.start, end: r.end })));
      logger.info({ ranges: req.ranges.length, source: req.source }, 'ranges flagged for repair');
      return Promise.resolve({ accepted });
    }),
    setThrottle: unary(logger, (req: antiEntropy.SetThrottleRequest) => {
      for (const [name, bound] of Object.entries(THROTTLE_BOUNDS) as [keyof typeof THROTTLE_BOUNDS, { field: string; max: number }][]) {
        const v = req[name];
        if (v > bound.max) return Promise.reject(new InvalidArgumentError(bound.field, `${v} is over the limit of ${bound.max} (0 leaves it as it is)`));
      }
      const t = worker.throttle.set({ exchangesPerSecond: req.exchangesPerSecond, keysPerSecond: req.keysPerSecond, maxExchangesPerNode: req.maxExchangesPerNode });
      worker.throttleChanged();
      logger.info({ ...t }, 'throttle changed');
      return Promise.resolve({ throttle: { ...t } });
    }),
  };
}
