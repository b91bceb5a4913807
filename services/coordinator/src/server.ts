import { admin, kv } from '@quorumkv/proto';
import { HashRing } from '@quorumkv/ring';
import type { KvMetrics, Logger, ServiceRegistration } from '@quorumkv/service-kit';
import type { ContextCodec } from '@quorumkv/vclock';
import { AdmissionControl, admittedByNode } from './admission.js';
import { coordinatorSettings, type CoordinatorConfig } from './config.js';
import { clusterService } from './cluster-status.js';
import { KvOperations, keyValueService } from './kv-handlers.js';
import { quorumSize } from './quorum.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaPool } from './replica-pool.js';
import { systemTimers, type Timers } from './timers.js';

/** The settings the server uses (a subset of {@link CoordinatorConfig}, so tests can pass less). */
export type CoordinatorServerConfig = Pick<
  CoordinatorConfig,
  'nodes' | 'replicationFactor' | 'vnodes' | 'replicaTimeoutMs' | 'maxKeyBytes' | 'maxValueBytes' | 'statusTimeoutMs'
> &
  Partial<Pick<CoordinatorConfig, 'maxInFlightPerCaller' | 'maxInFlightPerNode'>>;

/** What {@link createCoordinatorServer} needs. */
export interface CoordinatorServerDeps {
  readonly config: CoordinatorServerConfig;
  /** Streams to the storage nodes; the caller starts and closes it. */
  readonly pool: ReplicaPool;
  readonly logger: Logger;
  /** Signs and checks client contexts (built from `--context-keys-file`). */
  readonly contexts: ContextCodec;
  readonly timers?: Timers;
  /** Prometheus counters for quorum failures, read repairs and siblings. */
  readonly metrics?: KvMetrics;
}

/** A coordinator ready to be bound: its services, its operations and its readiness rule. */
export interface CoordinatorServer {
  /** KeyValueService and ClusterService, for service-kit `startGrpcHost`. */
  readonly services: readonly ServiceRegistration[];
  readonly operations: KvOperations;
  /** Bounds on work in flight; its caller bound is applied by `admissionGate` (main.ts installs it). */
  readonly admission: AdmissionControl;
  readonly readRepair: ReadRepair;
  readonly ring: HashRing;
  /** Streams that must be up before the coordinator reports SERVING: floor(N/2)+1. */
  readonly readyAt: number;
  /**
   * Reports readiness through `setServing` now and whenever a stream goes up or down. Returns a
   * function that stops watching.
   */
  watchReadiness(setServing: (serving: boolean) => void): () => void;
}

/**
 * Builds the coordinator's services over a pool of storage-node streams. Does not bind: `main.ts`
 * (or a test) binds it with `startGrpcHost`.
 */
export function createCoordinatorServer(deps: CoordinatorServerDeps): CoordinatorServer {
  const { config, pool, logger } = deps;
  const timers = deps.timers ?? systemTimers;
  const ring = new HashRing({ vnodes: config.vnodes });
  for (const node of config.nodes) ring.addNode(node.id);
  const { metrics } = deps;
  const readRepair = new ReadRepair({
    transport: pool,
    logger,
    timeoutMs: config.replicaTimeoutMs,
    ...(metrics ? { onRepair: () => metrics.readRepairs.inc() } : {}),
  });
  const operations = new KvOperations({
    transport: pool,
    placement: ring,
    limits: { maxKeyBytes: config.maxKeyBytes, maxValueBytes: config.maxValueBytes, replicationFactor: config.replicationFactor },
    replicaTimeoutMs: config.replicaTimeoutMs,
    timers,
    readRepair,
    contexts: deps.contexts,
    ...(metrics ? { metrics } : {}),
  });
  const admission = new AdmissionControl(
    {
      maxPerCaller: config.maxInFlightPerCaller ?? coordinatorSettings.maxInFlightPerCaller.default,
      maxPerNode: config.maxInFlightPerNode ?? coordinatorSettings.maxInFlightPerNode.default,
    },
    (node) => pool.inFlight(node),
  );
  const served = admittedByNode(operations, admission, (key) => ring.preferenceList(key, config.replicationFactor));
  const statusDeps = {
    pool,
    shares: () => ring.shares(),
    replicationFactor: config.replicationFactor,
    vnodes: config.vnodes,
    statusTimeoutMs: config.statusTimeoutMs,
    timers,
  };
  // Why W_quorum streams: with fewer, a default (QUORUM) request cannot succeed, so a load
  // balancer should send traffic to a coordinator that can reach more of the cluster.
  const readyAt = quorumSize(config.replicationFactor);
  return {
    services: [
      { name: 'quorumkv.kv.v1.KeyValueService', definition: kv.KeyValueServiceService, implementation: keyValueService(served, logger) },
      { name: 'quorumkv.admin.v1.ClusterService', definition: admin.ClusterServiceService, implementation: clusterService(statusDeps, logger) },
    ],
    operations,
    admission,
    readRepair,
    ring,
    readyAt,
    watchReadiness(setServing) {
      let last: boolean | undefined;
      const report = (up: number): void => {
        const serving = up >= readyAt;
        if (serving === last) return;
        last = serving;
        setServing(serving);
        logger.info({ streamsUp: up, needed: readyAt, serving }, serving ? 'ready: enough storage streams up' : 'not ready: too few storage streams up');
      };
      report(pool.upCount());
      return pool.onUpCountChange(report);
    },
  };
}
