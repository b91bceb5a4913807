import { status, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import { InvalidArgumentError, ServiceError, pooledSerializer, unary, type Logger } from '@quorumkv/service-kit';
import { MalformedVersionError, clockFromProto, versionFromProto, versionToProto, type VectorClock, type Version } from '@quorumkv/vclock';
import type { StorageEngine } from './engine.js';
import type { StandInCopies } from './stand-in-copies.js';
import { LeftRingError } from './errors.js';
import { EpochFence } from './epoch-fence.js';
import { inReplicaSpan } from './observability.js';
import { pullRange } from './range-source.js';
import { ReplicateSession, type ReplicaResult } from './replicate-stream.js';

/** The engine operations the server needs (a {@link StorageEngine}, or a wrapper in tests). */
export type ReplicaEngine = Pick<StorageEngine, 'readSet' | 'coordinate' | 'merge' | 'mergeRecord' | 'stats'>;

/** What {@link createStorageServer} needs. */
export interface StorageServerDeps {
  readonly nodeId: string;
  readonly engine: ReplicaEngine;
  readonly logger: Logger;
  /** Clock for request deadlines (ms). @default Date.now */
  readonly now?: () => number;
  /** Requests running at once on one stream. @default 256 */
  readonly maxInFlightPerStream?: number;
  /**
   * The committed ring epoch this node knows (from its cluster view); a replica request routed
   * by an older one is refused with CODE_STALE_EPOCH. @default () => 0 (no ring: admit all)
   */
  readonly currentEpoch?: () => number;
  /**
   * Resolves once this node's view reached `epoch` (a range source must know the epoch it serves
   * for before it serves). @default none: served at once (no ring)
   */
  readonly waitForEpoch?: (epoch: number, timeoutMs: number) => Promise<unknown>;
  /** The engine's range scans, for PullRange (without them PullRange answers UNIMPLEMENTED). */
  readonly ranges?: Pick<StorageEngine, 'scanRange' | 'countRange'>;
  /** Whether this node is LEFT in its newest ring: it then refuses replica traffic. @default () => false */
  readonly hasLeft?: () => boolean;
  /** Called once per PullRange batch served (transfer metrics). */
  readonly onRangeServed?: (keys: number, bytes: number, requester: string) => void;
  /**
   * The copies this node keeps as a stand-in (hinted handoff); without them a merge with
   * `hinted_for`, a stand-in read and ReleaseStandIn are refused (UNIMPLEMENTED).
   */
  readonly standIns?: StandInStore;
  /** Its hint delivery, for Stats (unset without --nats). */
  readonly hintStats?: () => storage.HintDeliveryStats | undefined;
}

/** The stand-in copy store the server needs (the engine's {@link StandInCopies}). */
export type StandInStore = Pick<StandInCopies, 'merge' | 'read' | 'releaseIfCovered'>;

function noStandIns(): never {
  throw new ServiceError(status.UNIMPLEMENTED, 'this node keeps no stand-in copies (hinted handoff)');
}

/**
 * The StorageService definition to serve, the generated one except that Replicate answer batches
 * are encoded with one reused writer (see `pooledSerializer`): a node sends thousands a second.
 */
export const storageServiceDefinition: ServiceDefinition = {
  ...storage.StorageServiceService,
  replicate: {
    ...storage.StorageServiceService.replicate,
    responseSerialize: pooledSerializer(storage.ReplicaResponseBatch, { responses: [], nodeTimeMs: 0 }),
  },
};

/** The StorageService implementation and a way to wind its streams down. */
export interface StorageServer {
  /** Pass with `implementation` to grpc-js `addService` (or service-kit `startGrpcHost`). */
  readonly definition: ServiceDefinition;
  /** Pass to grpc-js `addService` (or service-kit `startGrpcHost`). */
  readonly implementation: storage.StorageServiceServer;
  /**
   * Answers new requests CODE_UNAVAILABLE, waits for the running ones and ends every stream, so
   * that a server `tryShutdown` is not held open by long-lived coordinator streams.
   */
  drain(): Promise<void>;
  /**
   * Resolves once every replica request admitted under a ring epoch below `epoch` has finished.
   * A node about to serve a range to a new owner for `epoch` waits for it (see `EpochFence`).
   */
  drainedBelow(epoch: number): Promise<void>;
}

function malformed(field: string, err: unknown): never {
  if (err instanceof MalformedVersionError) throw new InvalidArgumentError(`${field}.${err.field}`, 'malformed');
  throw err;
}

function clockOf(entries: readonly storage.ClockEntry[]): VectorClock {
  try {
    return clockFromProto(entries);
  } catch (err) {
    return malformed('context', err);
  }
}

function versionsOf(versions: readonly storage.Version[]): Version[] {
  try {
    return versions.map(versionFromProto);
  } catch (err) {
    return malformed('versions', err);
  }
}

/** Longest request id a coordinate may carry (the public API's limit). */
export const MAX_REQUEST_ID_BYTES = 64;

/** Runs one replica request against the engine. */
async function runOp(engine: ReplicaEngine, standIns: StandInStore | undefined, request: storage.ReplicaRequest, deadline: number): Promise<ReplicaResult> {
  const op = request.op;
  switch (op?.$case) {
    case 'read': {
      if (op.read.standIn) {
        // A stand-in's copies carry no request ids of their own: the primaries' answers bring them.
        const copies = await (standIns ?? noStandIns()).read(op.read.key);
        return { $case: 'read', read: { versions: copies.map(versionToProto), applied: [] } };
      }
      const { versions, applied } = await engine.readSet(op.read.key, deadline);
      return { $case: 'read', read: { versions: versions.map(versionToProto), applied } };
    }
    case 'coordinate': {
      const c = op.coordinate;
      if (c.requestId.length > MAX_REQUEST_ID_BYTES) {
        throw new InvalidArgumentError('request_id', `is ${c.requestId.length} bytes; the limit is ${MAX_REQUEST_ID_BYTES}`);
      }
      const write = { context: clockOf(c.context), value: c.value, tombstone: c.tombstone, requestId: c.requestId };
      const { stored, storedMinted, record, deduplicated } = await engine.coordinate(c.key, write, deadline);
      return {
        $case: 'coordinate',
        // The whole set travels as the stored bytes (replicated untouched), not as messages.
        coordinate: { version: storedMinted, siblingCount: stored.length, versions: [], versionsRecord: record, deduplicated },
      };
    }
    case 'merge': {
      const m = op.merge;
      if (m.hintedFor !== '') {
        // Why apart from the data: a stand-in copy is not a replica (see StandInCopies).
        if (m.versionsRecord.length === 0) throw new InvalidArgumentError('merge.versions_record', 'is required with hinted_for');
        await (standIns ?? noStandIns()).merge(m.hintedFor, m.key, m.versionsRecord);
        return { $case: 'merge', merge: {} };
      }
      if (m.versionsRecord.length > 0) {
        if (m.versions.length > 0) throw new InvalidArgumentError('merge', 'carries both versions and versions_record');
        await engine.mergeRecord(m.key, m.versionsRecord, deadline);
        return { $case: 'merge', merge: {} };
      }
      await engine.merge(m.key, versionsOf(m.versions), deadline, m.applied);
      return { $case: 'merge', merge: {} };
    }
    case undefined:
      throw new InvalidArgumentError('op', 'missing: set read, coordinate or merge');
  }
}

/**
 * Creates the `quorumkv.storage.v1.StorageService` implementation over an engine. It does not
 * bind: `main.ts` registers it with `startGrpcHost`, tests with their own server.
 */
export function createStorageServer(deps: StorageServerDeps): StorageServer {
  const sessions = new Set<ReplicateSession>();
  let draining = false;
  const now = deps.now ?? Date.now;
  const currentEpoch = deps.currentEpoch ?? ((): number => 0);
  const hasLeft = deps.hasLeft ?? ((): boolean => false);
  const fence = new EpochFence(currentEpoch);

  const replicate = (call: ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>): void => {
    const session = new ReplicateSession(call, {
      handle: (request, deadline) => {
        // Why a LEFT node refuses: its ranges belong to other nodes now and it drops them; a
        // coordinator still on an old view must not read from or write to it.
        if (hasLeft()) throw new LeftRingError(deps.nodeId, currentEpoch());
        // Before any work: a request from a coordinator behind the ring must not touch the engine.
        const release = fence.admit(request.ringEpoch);
        return inReplicaSpan(request, () => runOp(deps.engine, deps.standIns, request, deadline)).finally(release);
      },
      logger: deps.logger,
      now,
      ...(deps.maxInFlightPerStream !== undefined ? { maxInFlight: deps.maxInFlightPerStream } : {}),
    });
    sessions.add(session);
    void session.closed().then(() => sessions.delete(session));
    if (draining) void session.drain();
  };

  const stats = unary<storage.StatsRequest, storage.StatsResponse>(deps.logger, async () => {
    const s = await deps.engine.stats();
    return { nodeId: deps.nodeId, keyCount: BigInt(s.keyCount), approximateBytes: BigInt(s.approximateBytes), epoch: s.epoch, hints: deps.hintStats?.() };
  });

  const ranges = deps.ranges;
  const pull = unary<storage.PullRangeRequest, storage.PullRangeResponse>(deps.logger, (req) => {
    if (ranges === undefined) return Promise.reject(new ServiceError(status.UNIMPLEMENTED, 'this node serves no range streaming'));
    return pullRange(
      {
        nodeId: deps.nodeId,
        engine: ranges,
        currentEpoch,
        hasLeft,
        drainedBelow: (e) => fence.drainedBelow(e),
        ...(deps.waitForEpoch ? { waitForEpoch: deps.waitForEpoch } : {}),
        ...(deps.onRangeServed ? { onServed: deps.onRangeServed } : {}),
      },
      req,
    );
  });

  const releaseStandIn = unary<storage.ReleaseStandInRequest, storage.ReleaseStandInResponse>(deps.logger, async (req) => {
    if (req.hintedFor === '') throw new InvalidArgumentError('hinted_for', 'is required');
    if (req.deliveredRecord.length === 0) throw new InvalidArgumentError('delivered_record', 'is required');
    const released = await (deps.standIns ?? noStandIns()).releaseIfCovered(req.hintedFor, req.key, req.deliveredRecord);
    return { released };
  });

  const implementation: storage.StorageServiceServer & UntypedServiceImplementation = { replicate, stats, pullRange: pull, releaseStandIn };
  return {
    definition: storageServiceDefinition,
    implementation,
    drain: async () => {
      draining = true;
      await Promise.all([...sessions].map((s) => s.drain()));
    },
    drainedBelow: (epoch) => fence.drainedBelow(epoch),
  };
}
