/**
 * Conditions of the storage node, as classes with readonly context. The replica stream maps them
 * to `ReplicaError` codes in one place (`replica-error.ts`); nothing branches on message text.
 */
import { status } from '@grpc/grpc-js';
import { ServiceError } from '@quorumkv/service-kit';

/**
 * A coordinate (or a merge, past its ceiling) would leave the key with more live siblings than
 * allowed; nothing was stored.
 */
export class SiblingLimitError extends Error {
  override readonly name = 'SiblingLimitError';
  constructor(
    /** Live siblings the key would hold after the write. */
    readonly siblings: number,
    /** The bound it would pass (`--max-siblings`, or `--max-merged-siblings` for a merge). */
    readonly limit: number,
    /**
     * Different values among them. Byte-identical siblings show once in a Get, so without this
     * a user reading one value could not tell why the key is full.
     */
    readonly distinctValues?: number,
  ) {
    super(
      `key would hold ${siblings} live siblings` +
        (distinctValues === undefined ? '' : ` (${distinctValues} distinct ${distinctValues === 1 ? 'value' : 'values'})`) +
        `, more than the limit of ${limit}; nothing stored`,
    );
  }
}

/** The data directory is held by another process (LevelDB's LOCK file). */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    options?: { cause?: unknown },
  ) {
    super(`data directory ${dataDir} is locked by another process (is another storage node using it?)`, options);
  }
}

/** The engine is closing or closed; the operation was not started. */
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
  constructor() {
    super('storage engine is closed');
  }
}

/** The data directory was created by a node with another id; its dots belong to that id. */
export class NodeIdMismatchError extends Error {
  override readonly name = 'NodeIdMismatchError';
  constructor(
    readonly dataDir: string,
    readonly storedId: string,
    readonly givenId: string,
  ) {
    super(`data directory ${dataDir} belongs to node "${storedId}", not "${givenId}"; use that id or another directory`);
  }
}

/**
 * A replica request routed by an older ring epoch than this node knows. Refused before any work:
 * the sender must catch up with the ring (see `ReplicaRequest.ring_epoch`) and route again.
 */
export class StaleEpochError extends Error {
  override readonly name = 'StaleEpochError';
  constructor(
    /** The epoch the request was routed by. */
    readonly requestEpoch: number,
    /** The epoch this node knows. */
    readonly knownEpoch: number,
  ) {
    super(`request routed by ring epoch ${requestEpoch}, but this node knows epoch ${knownEpoch}: refresh the ring and retry`);
  }
}

/** This node has LEFT the ring: it serves no replica traffic and no ranges any more. */
export class LeftRingError extends ServiceError {
  override readonly name = 'LeftRingError';
  constructor(
    readonly nodeId: string,
    readonly epoch: number,
  ) {
    super(status.UNAVAILABLE, `node ${nodeId} has left the ring (epoch ${epoch}): it serves no replica traffic; shut it down`);
  }
}

/**
 * Too many read-modify-writes of one key are already waiting for its lock (a hot key under
 * overload): refused at once, nothing done. Retryable.
 */
export class KeyBusyError extends Error {
  override readonly name = 'KeyBusyError';
  constructor(
    /** Holders already waiting for the key. */
    readonly waiters: number,
    readonly limit: number,
  ) {
    super(`storage node overloaded: ${waiters} writes already wait for this key (limit ${limit}); retry later`);
  }
}

/**
 * Too many records already wait to be written to the log (the disk does not keep up): refused at
 * once, nothing stored. Retryable.
 */
export class WriteQueueFullError extends Error {
  override readonly name = 'WriteQueueFullError';
  constructor(
    /** Records already queued. */
    readonly queued: number,
    readonly limit: number,
  ) {
    super(`storage node overloaded: ${queued} writes already wait for the disk (limit ${limit}); retry later`);
  }
}
