/**
 * The anti-entropy worker as a library: its exchange sessions, links to storage nodes and
 * settings (the process entry point is `main.ts`, bin `quorumkv-anti-entropy`). The benchmark
 * runs a session in its own process against real storage nodes with these.
 */
export { antiEntropySettings, checkAntiEntropyConfig } from './config.js';
export type { AntiEntropyConfig } from './config.js';
export { classifyFailure, NoRingYetError, UnknownNodeError } from './errors.js';
export type { FailureKind } from './errors.js';
export { repairKey } from './key-repair.js';
export type { KeyRepairResult, RepairSide } from './key-repair.js';
export { NodeHealth } from './node-health.js';
export type { NodeHealthOptions } from './node-health.js';
export { runPairSession } from './pair-session.js';
export type { ArcOutcome, ArcResult, PairSessionDeps, SessionOutcome } from './pair-session.js';
export { ReplicaBatches, ReplicaRequestError } from './replica-batches.js';
export { arcId, pairId, RingPlan } from './ring-plan.js';
export type { ClusterNode, ClusterSnapshot, NodePair, PlannedArc, RangeFilter } from './ring-plan.js';
export { snapshotOf } from './cluster-snapshot.js';
export { ByteMeter } from './storage-link.js';
export type { Arc, ArcSummaryInfo, StorageLink, TombstonePage } from './storage-link.js';
export { StorageLinks } from './storage-links.js';
export type { ReplicaIo, StorageLinksOptions } from './storage-links.js';
export { SyncState, OVERDUE_PERIODS } from './sync-state.js';
export type { RangeCounts, RangeState } from './sync-state.js';
export { Throttle } from './throttle.js';
export type { ThrottleSettings } from './throttle.js';
export { TreeClient, GRPC_PREFIX_BYTES } from './tree-client.js';
export { purgeRange } from './tombstone-purge.js';
export type { PurgeOutcome } from './tombstone-purge.js';
export { AntiEntropyWorker } from './worker.js';
export type { WorkerClock, WorkerCounters, WorkerOptions } from './worker.js';
export { createAntiEntropyServer } from './server.js';
export { createAdminService, statusOf } from './admin-service.js';
export type { AdminServiceDeps } from './admin-service.js';
export { createAntiEntropyMetrics } from './metrics.js';
