import { admin, kv } from '@quorumkv/proto';
import type { KvMetrics, Logger, ServiceRegistration } from '@quorumkv/service-kit';
import type { ContextCodec } from '@quorumkv/vclock';
import { AdmissionControl, admittedByNode } from './admission.js';
import { coordinatorSettings, type CoordinatorConfig } from './config.js';
import { clusterService } from './cluster-status.js';
import { KvOperations, keyValueService } from './kv-handlers.js';
import type { HandoffDeps } from './sloppy-replicate.js';
import { quorumSize } from './quorum.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaPool } from './replica-pool.js';
import type { RingSource } from './ring-source.js';
import { systemTimers, type Timers } from './timers.js';

/** The settings the server uses (a subset of {@link CoordinatorConfig}, so tests can pass less). */
export type CoordinatorServerConfig = Pick<CoordinatorConfig, 'replicaTimeoutMs' | 'maxKeyBytes' | 'maxValueBytes' | 'statusTimeoutMs' | 'ringWaitMs'> &
  Partial<Pick<CoordinatorConfig, 'maxInFlightPerCaller' | 'maxInFlightPerNode'>>;

/** What {@link createCoordinatorServer} needs. */
export interface CoordinatorServerDeps {
  readonly config: CoordinatorServerConfig;
  /** Streams to the storage nodes; the caller starts and closes it, and keeps it in step with the ring. */
  readonly pool: ReplicaPool;
  /** The committed ring to route by. */
  readonly ring: RingSource;
  readonly logger: Logger;
  /** Signs and checks client contexts (built from `--context-keys-file`). */
  readonly contexts: ContextCodec;
  readonly timers?: Timers;
  /** Prometheus counters for quorum failures, read repairs and siblings. */
  readonly metrics?: KvMetrics;
  /** Sloppy quorum and hinted handoff; without it writes count primaries only. */
  readonly handoff?: HandoffDeps;
}

/** A coordinator ready to be bound: its services, its operations and its readiness rule. */
export interface CoordinatorServer {
  /** KeyValueService and ClusterService, for service-kit `startGrpcHost`. */
  readonly services: readonly ServiceRegistration[];
  readonly operations: KvOperations;
  /** Bounds on work in flight; its caller bound is applied by `admissionGate` (main.ts installs it). */
  readonly admission: AdmissionControl;
  readonly readRepair: ReadRepair;
  /** Streams that must be up before the coordinator reports SERVING: floor(N/2)+1 of the ring's N. */
  readyAt(): number;
  /**
   * Reports readiness through `setServing` now and whenever a stream goes up or down or the ring
   * changes. Returns a function that stops watching.
   */
  watchReadiness(setServing: (serving: boolean) => void): () => void;
}

/**
 * Builds the coordinator's services over a pool of storage-node streams and a ring source. Does
 * not bind: `main.ts` (or a test) binds it with `startGrpcHost`.
 */
export function createCoordinatorServer(deps: CoordinatorServerDeps): CoordinatorServer {
  const { config, pool, logger, ring } = deps;
  const timers = deps.timers ?? systemTimers;
  const { metrics } = deps;
  const readRepair = new ReadRepair({
    transport: pool,
    logger,
    timeoutMs: config.replicaTimeoutMs,
    ...(metrics ? { onRepair: () => metrics.readRepairs.inc() } : {}),
  });
  const operations = new KvOperations({
    transport: pool,
    ring,
    limits: { maxKeyBytes: config.maxKeyBytes, maxValueBytes: config.maxValueBytes },
    replicaTimeoutMs: config.replicaTimeoutMs,
    ringWaitMs: config.ringWaitMs,
    timers,
    readRepair,
    contexts: deps.contexts,
    ...(metrics ? { metrics } : {}),
    ...(deps.handoff ? { handoff: deps.handoff } : {}),
  });
  const admission = new AdmissionControl(
    {
      maxPerCaller: config.maxInFlightPerCaller ?? coordinatorSettings.maxInFlightPerCaller.default,
      maxPerNode: config.maxInFlightPerNode ?? coordinatorSettings.maxInFlightPerNode.default,
    },
    (node) => pool.inFlight(node),
  );
  // Shed a call when one of its key's current replicas is at its bound (the ones it reads, and
  // mints and writes at first).
  const served = admittedByNode(operations, admission, (key) => ring.current().readReplicas(key));
  const statusDeps = {
    pool,
    shares: () => ring.current().current.shares(),
    replicationFactor: () => ring.current().replicationFactor,
    vnodes: () => ring.current().snapshot.vnodes,
    statusTimeoutMs: config.statusTimeoutMs,
    timers,
  };
  // Why W_quorum streams: with fewer, a default (QUORUM) request cannot succeed, so a load
  // balancer should send traffic to a coordinator that can reach more of the cluster.
  const readyAt = (): number => quorumSize(ring.current().replicationFactor);
  return {
    services: [
      { name: 'quorumkv.kv.v1.KeyValueService', definition: kv.KeyValueServiceService, implementation: keyValueService(served, logger) },
      { name: 'quorumkv.admin.v1.ClusterService', definition: admin.ClusterServiceService, implementation: clusterService(statusDeps, logger) },
    ],
    operations,
    admission,
    readRepair,
    readyAt,
    watchReadiness(setServing) {
      let last: boolean | undefined;
      const report = (): void => {
        const up = pool.upCount();
        const needed = readyAt();
        const hasRing = ring.current().current.size > 0;
        const serving = hasRing && up >= needed;
        if (serving === last) return;
        last = serving;
        setServing(serving);
        const epoch = ring.current().epoch;
        logger.info(
          { streamsUp: up, needed, epoch, serving },
          serving ? 'ready: enough storage streams up' : hasRing ? 'not ready: too few storage streams up' : 'not ready: no storage node in the ring yet',
        );
      };
      report();
      const offPool = pool.onUpCountChange(report);
      const offRing = ring.onRing(report);
      return () => {
        offPool();
        offRing();
      };
    },
  };
}
