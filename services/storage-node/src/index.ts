/**
 * The storage node as a library: its engine, its gRPC service and its settings. The process
 * entry point is `main.ts` (bin `quorumkv-storage-node`).
 */
export { storageNodeSettings } from './config.js';
export type { StorageNodeConfig } from './config.js';
export { StorageEngine } from './engine.js';
export type { CoordinateOutcome, EngineStats, StorageEngineOptions, WriteInput } from './engine.js';
export type { DedupWindow } from './applied-writes.js';
export { randomEpoch } from './node-meta.js';
export { arcSegments, indexKey, INDEX_END, INDEX_START } from './position-index.js';
export type { RangeCursor, RangeEntry, ScanOptions } from './position-index.js';
export { DataDirLockedError, EngineClosedError, NodeIdMismatchError, SiblingLimitError } from './errors.js';
export { KeyedMutex } from './key-lock.js';
export { toReplicaError } from './replica-error.js';
export { ReplicateSession } from './replicate-stream.js';
export type { ReplicaOpHandler, ReplicaResult, ReplicateStreamOptions } from './replicate-stream.js';
export { MAX_REQUEST_ID_BYTES, createStorageServer, storageServiceDefinition } from './server.js';
export type { ReplicaEngine, StorageServer, StorageServerDeps } from './server.js';
export { WriteBatcher } from './write-batcher.js';
export type { BatchWriter, RecordPut, Scheduler } from './write-batcher.js';
export { STORAGE_SERVICE, storageAccessPolicy } from './access.js';
